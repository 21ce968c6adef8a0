//go:build integration

package integration

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// heartbeatEvery is how often the heartbeat reports while the suite runs.
const heartbeatEvery = 20 * time.Second

// slowTest is how long a test may take before its end is reported too.
const slowTest = 10 * time.Second

// A running names the test in progress for the heartbeat.
type running struct {
	name     string
	started  time.Time
	counters func() string // how far it got; nil if it keeps no count
}

var (
	progressMu sync.Mutex
	current    running // zero between tests
	suiteStart = time.Now()
	progressW  io.Writer // where track reports slow tests; nil before TestMain
)

// track names t to the heartbeat until t ends; counters, if not nil, says
// how far t got (for instance "120 of 200 acquisitions"). A test calls it
// again to add counters; the previous entry comes back when t ends, so a
// subtest's end shows its parent again.
func track(t *testing.T, counters func() string) {
	t.Helper()
	progressMu.Lock()
	prev := current
	current = running{name: t.Name(), started: time.Now(), counters: counters}
	if prev.name == t.Name() { // more detail on the same test
		current.started = prev.started
	}
	progressMu.Unlock()
	t.Cleanup(func() {
		progressMu.Lock()
		defer progressMu.Unlock()
		took := time.Since(current.started)
		if prev.name != t.Name() && took >= slowTest && progressW != nil {
			fmt.Fprintf(progressW, "integration: %s ended after %v\n", t.Name(), took.Round(time.Millisecond))
		}
		current = prev
	})
}

// heartbeat writes a line to w every period until stop is called: how long
// the suite has run, and which test runs for how long, with its counters.
func heartbeat(w io.Writer, period time.Duration) (stop func()) {
	progressMu.Lock()
	suiteStart, progressW = time.Now(), w
	progressMu.Unlock()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				fmt.Fprintln(w, progressLine())
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		progressMu.Lock()
		progressW = nil
		progressMu.Unlock()
	}
}

// progressLine says where the suite is.
func progressLine() string {
	progressMu.Lock()
	cur := current
	elapsed := time.Since(suiteStart).Round(time.Second)
	progressMu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "integration: %v in: ", elapsed)
	if cur.name == "" {
		b.WriteString("between tracked tests")
		return b.String()
	}
	fmt.Fprintf(&b, "%s running for %v", cur.name, time.Since(cur.started).Round(time.Second))
	if cur.counters != nil {
		b.WriteString(": " + cur.counters())
	}
	return b.String()
}
