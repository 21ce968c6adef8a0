//go:build integration

package integration

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quorumlock/quorumlock/redlock"
)

// TestLock_contention has many clients increment a counter under one lock
// with a read, a sleep and a write: a lost update or two overlapping holds
// would show. It stops at its count of acquisitions or at the end of its
// time budget, whichever comes first; falling short of the count fails it,
// saying how far it got.
//
// The clients use the library's retry delay: contenders retrying within a
// few milliseconds split the nodes' votes among themselves and load a small
// machine so much that few attempts win.
func TestLock_contention(t *testing.T) {
	needCluster(t)
	const (
		workers = 10
		rounds  = 20
		total   = workers * rounds
		// For every acquisition together: about 5s on an idle 2-core
		// machine, 30s with four CPU hogs beside it.
		budget = 5 * time.Minute
		// Far beyond a hold, so that no stall short of ten seconds makes a
		// hold outlive its validity and the exclusion check meaningless.
		ttl = 10 * time.Second
	)
	name := lockName(t)
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()

	var (
		// Guarded by the lock alone. It is read and written with separate
		// atomic operations: a read-sleep-write that the race detector
		// accepts (Redis gives it no happens-before edges) and that still
		// loses updates if two holders overlap.
		counter  atomic.Int64
		acquired atomic.Int64
		quit     atomic.Int64 // workers that stopped short of their rounds
		rec      holds
	)
	track(t, func() string {
		return fmt.Sprintf("%d of %d acquisitions, %d of %d workers stopped early",
			acquired.Load(), total, quit.Load(), workers)
	})

	clients := make([]*redlock.Client, workers)
	for w := range clients {
		// Each worker is an independent client with its own connections.
		clients[w] = newClient(t, nil, redlock.WithTTL(ttl))
	}
	began := time.Now()
	var wg sync.WaitGroup
	for w, client := range clients {
		wg.Go(func() {
			for r := range rounds {
				l, err := client.Lock(ctx, name)
				if err != nil {
					quit.Add(1)
					if ctx.Err() == nil { // not the budget: say why
						rec.fail(fmt.Errorf("worker %d, round %d: %w", w, r, err))
					}
					return
				}
				acquired.Add(1)
				start := time.Now()
				v := counter.Load()
				time.Sleep(200 * time.Microsecond)
				counter.Store(v + 1)
				end := time.Now()
				rec.add(hold{worker: w, start: start.Sub(began), end: end.Sub(began), late: end.Sub(l.Until())})
				if err := l.Unlock(context.Background()); err != nil {
					rec.unlockFailed(fmt.Errorf("worker %d, round %d: %w", w, r, err))
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(began)
	got := int(acquired.Load())
	t.Logf("%d workers: %d of %d acquisitions in %v", workers, got, total, took.Round(time.Millisecond))

	if got < total {
		t.Errorf("%d of %d acquisitions in %v (budget %v, %d workers stopped early); failures: %s",
			got, total, took.Round(time.Millisecond), budget, quit.Load(), rec.failures())
	} else if len(rec.errs) > 0 {
		t.Errorf("every acquisition succeeded, yet: %s", rec.failures())
	}
	// Unlock errors are not what this test is about: each hold ended
	// within its validity (checked below), so they cannot break exclusion,
	// and a key a failed release left behind expires by its ttl.
	t.Logf("%d of %d unlocks failed%s", len(rec.unlockErrs), got, firstErrors(rec.unlockErrs))

	if late := rec.late(); late > 0 {
		t.Errorf("%d holds outlived their validity (by up to %v): the machine stalled for longer than the ttl %v, "+
			"so the checks below cannot judge exclusion", late, rec.maxLate(), ttl)
	}
	if n := int64(len(rec.list)); counter.Load() != n {
		t.Errorf("the counter is %d after %d holds: %d updates were lost", counter.Load(), n, n-counter.Load())
	}
	if overlaps, first := rec.overlaps(); overlaps > 0 {
		t.Errorf("%d of %d holds began before an earlier one ended; the first: %s", overlaps, len(rec.list), first)
	}

	for _, c := range clients {
		if err := c.Close(); err != nil {
			t.Errorf("closing a client: %v", err)
		}
	}
	eventually(t, ttl+time.Minute, "the lock's key to leave every node", func() bool {
		return len(present(t, name)) == 0
	})
}

// A hold is one worker's time under the lock, from the start of the test.
type hold struct {
	worker     int
	start, end time.Duration
	late       time.Duration // end less the lock's Until: positive if the hold outlived its validity
}

// holds records the contention test's holds and failures; safe for
// concurrent use.
type holds struct {
	mu         sync.Mutex
	list       []hold
	errs       []error // failures to acquire other than the budget's end
	unlockErrs []error
}

func (h *holds) add(x hold) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.list = append(h.list, x)
}

func (h *holds) fail(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.errs = append(h.errs, err)
}

func (h *holds) unlockFailed(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.unlockErrs = append(h.unlockErrs, err)
}

// failures describes the failures to acquire briefly.
func (h *holds) failures() string {
	if len(h.errs) == 0 {
		return "none but the budget's end"
	}
	return fmt.Sprintf("%d%s", len(h.errs), firstErrors(h.errs))
}

// late counts the holds that outlived their validity.
func (h *holds) late() int {
	n := 0
	for _, x := range h.list {
		if x.late >= 0 {
			n++
		}
	}
	return n
}

func (h *holds) maxLate() time.Duration {
	var m time.Duration
	for _, x := range h.list {
		m = max(m, x.late)
	}
	return m
}

// overlaps counts the holds that began before every earlier hold had
// ended, and describes the first.
func (h *holds) overlaps() (n int, first string) {
	sorted := slices.Clone(h.list)
	slices.SortFunc(sorted, func(a, b hold) int { return cmp.Compare(a.start, b.start) })
	var last hold // the hold that ends last among those begun so far
	for i, x := range sorted {
		if i > 0 && x.start < last.end {
			if n++; n == 1 {
				first = fmt.Sprintf("worker %d held from %v, worker %d until %v",
					x.worker, x.start, last.worker, last.end)
			}
		}
		if x.end > last.end {
			last = x
		}
	}
	return n, first
}

// firstErrors renders up to three errors after ": ", and how many more
// there were.
func firstErrors(errs []error) string {
	if len(errs) == 0 {
		return ""
	}
	const shown = 3
	msgs := make([]string, 0, shown)
	for _, err := range errs[:min(shown, len(errs))] {
		msgs = append(msgs, err.Error())
	}
	s := ": " + strings.Join(msgs, "; ")
	if more := len(errs) - shown; more > 0 {
		s += fmt.Sprintf("; and %d more", more)
	}
	return s
}
