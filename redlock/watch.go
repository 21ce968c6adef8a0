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

	"github.com/quorumlock/quorumlock/redlock/observe"
)

// A node's restarts are told by its server's incarnation (see node.lua):
// every script's reply tells the node when the incarnation differs from the
// one it last saw. A node that sees a new incarnation, having seen another
// before, knows that its server restarted or lost its data since, whatever
// the server's clock says, and a client's grants from it count only once
// the quarantine has passed from when the client noticed, on the client's
// clock (see [Client.quarantined]). A node that sees
// its server's first incarnation, as every node does on first contact,
// cannot tell when the server last restarted: it becomes suspect, and a
// grant from it counts only once an INFO read after the grant shows the
// server up for longer than the quarantine, by the server's own clock.

// watch is what a node knows of its server.
type watch struct {
	mu          sync.Mutex
	gen         uint64 // incarnations seen so far
	incarnation string // the last one seen; "" if none
	seen        any    // incarnation, boxed once, as the scripts' first argument
	source      any    // "!" and incarnation, boxed once, for a script sent by its source
	restarts    uint64 // new incarnations that followed another
	suspect     bool   // no probe since the last new incarnation (or ever)
	upAt        time.Time
	info        serverInfo
	probed      bool  // info holds a probe's result
	probeErr    error // the last probe's failure, if it failed
	denied      bool  // the server refuses INFO (ACL) or does not report uptime
	probing     chan struct{}
	probedAt    time.Time // when the last probe ended, on the real clock
	notifyErr   error     // why the last subscription failed, or nil
}

// maybeRestarted makes the node suspect, so that it is probed before its
// next grant counts: a connection the server closed may be a sign that it
// restarted.
func (n *Node) maybeRestarted() {
	n.watch.mu.Lock()
	n.watch.gen++
	n.watch.suspect = true
	n.watch.mu.Unlock()
}

// couldNotSubscribe records, for vetting, that a subscription was refused
// (see [RiskNoNotify]); other failures (a timeout, a broken connection)
// say nothing of the client's rights.
func (n *Node) couldNotSubscribe(err error) {
	if redisClass(err) != classAuth {
		return
	}
	n.watch.mu.Lock()
	n.watch.notifyErr = fmt.Errorf("SUBSCRIBE refused: %w", err)
	n.watch.mu.Unlock()
}

// probeRights tries whether the client may publish on the waiters'
// channels, by a script that publishes as a release does, and subscribe to
// them, if its Conn is a [Subscriber]; it records a refusal for vetting
// ([RiskNoNotify]), or that there was none. It returns a failure that is
// not a refusal.
func (c *Client) probeRights(ctx context.Context, n *Node) error {
	reply, _, err := c.call(ctx, n, command{op: observe.OpRights, script: rightsScript, args: []any{nil}})
	if err != nil {
		return err
	}
	var refusal error
	if text, _ := reply.(string); text != "" {
		refusal = fmt.Errorf("PUBLISH refused: %s", text)
	}
	if s, ok := n.conn.(Subscriber); ok && refusal == nil {
		unsub, err := s.Subscribe(ctx, []string{Reserved + "c:-"}, func(string, string) {})
		switch {
		case err == nil:
			unsub()
		case redisClass(err) == classAuth:
			refusal = fmt.Errorf("SUBSCRIBE refused: %w", err)
		default:
			return n.nodeErr(err)
		}
	}
	n.watch.mu.Lock()
	n.watch.notifyErr = refusal
	n.watch.mu.Unlock()
	return nil
}

// seenArg returns the incarnation last seen, as a script's first argument.
func (n *Node) seenArg() any {
	n.watch.mu.Lock()
	defer n.watch.mu.Unlock()
	return n.watch.seen
}

// sourceArg returns the first argument of a script sent by its source.
func (n *Node) sourceArg() any {
	n.watch.mu.Lock()
	defer n.watch.mu.Unlock()
	return n.watch.source
}

// sawIncarnation records the server's incarnation inc, as a reply or a
// hand-off told it, and reports whether it is new. A new one makes the node
// suspect, so that it is probed again; if it follows another, the server
// restarted or lost its data since that one, which the node counts.
func (n *Node) sawIncarnation(inc string) bool {
	w := &n.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	if inc == w.incarnation {
		return false
	}
	if w.incarnation != "" {
		w.restarts++
	}
	w.incarnation, w.seen, w.source = inc, inc, "!"+inc
	w.gen++
	w.suspect = true
	return true
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

	var text string
	var err error
	for range staleRetries { // pooled connections the server closed, as after a restart
		if text, err = n.conn.Info(ctx); !staleConn(err) {
			break
		}
	}
	at := time.Now()
	var info serverInfo
	if err == nil {
		info = parseInfo(text)
		if !info.hasUptime || info.runID == "" {
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
		if w.incarnation != "" && info.runID != "" && !strings.HasPrefix(w.incarnation, "-.") &&
			!strings.HasPrefix(w.incarnation, info.runID+".") && info.runID != w.info.runID {
			// The server's run id is not the one of the incarnation the
			// node last saw: it restarted since, whatever its scripts say.
			w.restarts++
		}
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

// errNoUptime: INFO did not report uptime_in_seconds or run_id (not a Redis server,
// or one that hides it).
var errNoUptime = errors.New("INFO reports no uptime_in_seconds or no run_id")

// A nodeState is a copy of what a node knows, for one decision.
type nodeState struct {
	incarnation string
	restarts    uint64
	probedAt    time.Time
	probing     bool
	suspect     bool
	upAt        time.Time
	info        serverInfo
	probed      bool
	denied      bool
	err         error
	notifyErr   error
}

func (n *Node) state() nodeState {
	w := &n.watch
	w.mu.Lock()
	defer w.mu.Unlock()
	return nodeState{incarnation: w.incarnation, restarts: w.restarts, probedAt: w.probedAt, probing: w.probing != nil, suspect: w.suspect, upAt: w.upAt,
		info: w.info, probed: w.probed, denied: w.denied, err: w.probeErr, notifyErr: w.notifyErr}
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

// A quarantineError: the node restarted too recently for its grant to
// count.
type quarantineError struct {
	up, need time.Duration
	seen     bool // the restart was seen as a new incarnation, not told by uptime
}

func (e *quarantineError) Error() string {
	how := "up for %v since a restart"
	if e.seen {
		how = "restarted, or lost its data, %v ago"
	}
	return fmt.Sprintf(how+", within the %v quarantine: its grant does not count", max(e.up, 0).Round(time.Second), e.need)
}

// Why a node's grant or hand-off does not count, besides its findings and
// the quarantine.
var (
	// errSuspect: the node saw a new incarnation of its server, or none
	// yet, and has not read INFO since.
	errSuspect = errors.New("not vetted since it may have restarted")
	// errRestarted: a hand-off came from a new incarnation of the server.
	errRestarted = errors.New("its server restarted, or lost its data, since it was last seen")
)
