package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/quorumlock/quorumlock/internal/compose"
	"github.com/quorumlock/quorumlock/redlock"
)

// The paused holder of -fault paused-holder is a process of its own, this
// program run with -holder, so that it can be stopped whole, its renewal
// included, as a GC pause or SIGSTOP stops a real holder. It talks to the
// run over its stdin and stdout: it takes the lock with Client.Lock and
// Lock.Hold and reports the grant; told to "pause", it checks that its hold
// is still live, says "pausing" and waits for a line, during which the run
// stops it with SIGSTOP (a signal a process sends itself does not stop the
// sending thread at once, so the run sends it); continued (SIGCONT) and
// told to "continue", it says "wrote" at once, acting on what it checked
// before the pause, as a holder between check and act does; told to
// "release", it unlocks and says how that went. The run does the
// holder's reads and writes of the counter and the fence on its behalf and
// records them; the holder's instants travel as CLOCK_MONOTONIC readings,
// which both processes share.

// holderConfig is what the paused holder's process is told by its flags.
type holderConfig struct {
	Name   string
	TTL    time.Duration
	Fenced bool
}

// A holderEvent is one line the paused holder writes on its stdout.
type holderEvent struct {
	Ev     string `json:"ev"`      // granted, lost, pausing, wrote, released or failed
	Mono   int64  `json:"mono_ns"` // when it happened, CLOCK_MONOTONIC
	Until  int64  `json:"until_mono_ns,omitempty"`
	Fence  uint64 `json:"fence,omitempty"`
	Result string `json:"result,omitempty"` // released: ok, not-held or unknown; failed: why
}

// monoNow reads CLOCK_MONOTONIC, in nanoseconds.
func monoNow() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// toMono turns an instant of this process into a CLOCK_MONOTONIC reading.
func toMono(t time.Time) int64 { return monoNow() + int64(time.Until(t)) }

// fromMono turns a CLOCK_MONOTONIC reading into an instant of this process.
func fromMono(m int64) time.Time { return time.Now().Add(time.Duration(m - monoNow())) }

// An eventWriter writes events as JSON lines; safe for concurrent use.
type eventWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (e *eventWriter) send(ev holderEvent) {
	if ev.Mono == 0 {
		ev.Mono = monoNow()
	}
	b, _ := json.Marshal(ev)
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.w.Write(append(b, '\n'))
}

// runHolder is the paused holder's process.
func runHolder(hc holderConfig, stdin io.Reader, stdout, stderr io.Writer) int {
	out := &eventWriter{w: stdout}
	fail := func(err error) int {
		out.send(holderEvent{Ev: "failed", Result: err.Error()})
		fmt.Fprintf(stderr, "chaos holder: %v\n", err)
		return exitFailed
	}
	urls, err := compose.URLs(os.Getenv)
	if err != nil {
		return fail(err)
	}
	var nodes []*redlock.Node
	defer func() {
		for _, n := range nodes {
			_ = n.Close()
		}
	}()
	for _, u := range urls {
		n, err := redlock.ParseURL(u)
		if err != nil {
			return fail(err)
		}
		nodes = append(nodes, n)
	}
	opts := []redlock.ClientOption{redlock.WithTTL(hc.TTL), redlock.WithKeyPrefix(keyPrefix)}
	if hc.Fenced {
		opts = append(opts, redlock.WithFencing())
	}
	client, err := redlock.New(nodes, opts...)
	if err != nil {
		return fail(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := client.Lock(ctx, hc.Name)
	if err != nil {
		return fail(err)
	}
	at := time.Now()
	held, stop := l.Hold(context.Background())
	defer stop()
	context.AfterFunc(held, func() {
		if errors.Is(context.Cause(held), redlock.ErrLost) {
			out.send(holderEvent{Ev: "lost"})
		}
	})
	out.send(holderEvent{Ev: "granted", Mono: toMono(at), Until: toMono(l.Until()), Fence: l.Fence()})
	in := bufio.NewScanner(stdin)
	if !in.Scan() || in.Text() != "pause" {
		return fail(errors.New("expected pause on stdin"))
	}
	if held.Err() != nil {
		return fail(fmt.Errorf("the hold ended before the pause: %w", context.Cause(held)))
	}
	out.send(holderEvent{Ev: "pausing"})
	if !in.Scan() || in.Text() != "continue" { // stopped and continued meanwhile
		return fail(errors.New("expected continue on stdin"))
	}
	out.send(holderEvent{Ev: "wrote"}) // acts without looking again
	if !in.Scan() || in.Text() != "release" {
		return fail(errors.New("expected release on stdin"))
	}
	stop()
	uctx, ucancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer ucancel()
	result := "ok"
	if err := l.Unlock(uctx); errors.Is(err, redlock.ErrNotHeld) {
		result = "not-held"
	} else if err != nil {
		result = "unknown"
	}
	out.send(holderEvent{Ev: "released", Result: result})
	return exitOK
}
