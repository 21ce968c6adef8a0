package redlock

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A node's restarts are told by its scripts. The scripts that set keys are
// this node's own (see [salted]) and reach the server's cache only through
// the node's NOSCRIPT fallback; the cache empties when the server restarts.
// So after any restart the node's next such script meets NOSCRIPT, the
// node becomes suspect, and a grant from it counts only once an INFO read
// after the grant shows the server up for longer than the quarantine.

// watch is what a node knows of its server.
type watch struct {
	mu       sync.Mutex
	gen      uint64 // NOSCRIPT answers to scripts that set keys, so far
	suspect  bool   // no probe since the last such answer (or ever)
	upAt     time.Time
	info     serverInfo
	probed   bool  // info holds a probe's result
	probeErr error // the last probe's failure, if it failed
	denied   bool  // the server refuses INFO (ACL) or does not report uptime
	probing  chan struct{}
	probedAt time.Time // when the last probe ended, on the real clock
}

// serverInfo is what INFO says that the algorithm reads.
type serverInfo struct {
	runID     string
	uptime    time.Duration
	role      string // master, slave
	cluster   bool
	policy    string // maxmemory-policy
	aof       bool
	version   string
	hasUptime bool
}

// noScript records that the server did not have s cached.
func (n *Node) noScript(s *script) {
	if s != n.salty.acquire && s != n.salty.extend && s != n.salty.heal {
		return
	}
	n.watch.mu.Lock()
	n.watch.gen++
	n.watch.suspect = true
	n.watch.mu.Unlock()
}

// probe reads INFO, once at a time per node, and records what it says. It
// returns the probe's failure.
func (n *Node) probe(ctx context.Context) error {
	w := &n.watch
	w.mu.Lock()
	if ch := w.probing; ch != nil { // another probe runs: wait for it
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.probeErr
	}
	ch := make(chan struct{})
	w.probing = ch
	gen := w.gen
	w.mu.Unlock()

	text, err := n.conn.Info(ctx)
	at := time.Now()
	var info serverInfo
	if err == nil {
		info = parseInfo(text)
		if !info.hasUptime {
			err = errNoUptime
		}
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	defer probeSeq.Add(1)
	w.probing = nil
	close(ch)
	w.probeErr = err
	w.probedAt = at
	switch {
	case err == nil:
		w.info, w.probed, w.denied = info, true, false
		w.upAt = at.Add(-info.uptime) // uptime is whole seconds, so this is the latest start
		if w.gen == gen {
			w.suspect = false
		}
	case errors.Is(err, errNoUptime) || redisClass(err) == classAuth:
		w.denied = true
		if w.gen == gen {
			w.suspect = false // do not ask again until the next restart
		}
	}
	return err
}

// probeSeq counts the probes of every node, so that verdicts drawn from
// them know when they may be stale.
var probeSeq atomic.Uint64

// errNoUptime: INFO did not report uptime_in_seconds (not a Redis server,
// or one that hides it).
var errNoUptime = errors.New("INFO reports no uptime_in_seconds")

// A nodeState is a copy of what a node knows, for one decision.
type nodeState struct {
	probedAt time.Time
	probing  bool
	suspect  bool
	upAt     time.Time
	info     serverInfo
	probed   bool
	denied   bool
	err      error
}

func (n *Node) state() nodeState {
	w := &n.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	return nodeState{probedAt: w.probedAt, probing: w.probing != nil, suspect: w.suspect, upAt: w.upAt,
		info: w.info, probed: w.probed, denied: w.denied, err: w.probeErr}
}

// parseInfo reads the fields of INFO text that the algorithm uses.
func parseInfo(text string) serverInfo {
	var si serverInfo
	for line := range strings.Lines(text) {
		k, v, ok := strings.Cut(strings.TrimRight(line, "\r\n"), ":")
		if !ok {
			continue
		}
		switch k {
		case "run_id":
			si.runID = v
		case "uptime_in_seconds":
			if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
				si.uptime, si.hasUptime = time.Duration(s)*time.Second, true
			}
		case "role":
			si.role = v
		case "cluster_enabled":
			si.cluster = v == "1"
		case "redis_mode":
			si.cluster = si.cluster || v == "cluster"
		case "maxmemory_policy":
			si.policy = v
		case "aof_enabled":
			si.aof = v == "1"
		case "redis_version":
			si.version = v
		}
	}
	return si
}

// errQuarantined: the node restarted too recently for its grant to count.
type quarantineError struct {
	up, need time.Duration
}

func (e *quarantineError) Error() string {
	return fmt.Sprintf("up for %v since a restart, within the %v quarantine: its grant does not count", max(e.up, 0).Round(time.Second), e.need)
}
