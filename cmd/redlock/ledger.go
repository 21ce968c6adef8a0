package main

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// A ledger records what the demo's workers did, on one monotonic timeline
// (durations since the demo started), and checks it.
type ledger struct {
	mu         sync.Mutex
	holds      []hold
	grants     []int // per phase: grants whose Lock call began and ended in it
	gaveUp     []int // per phase: Lock calls that timed out, begun and ended in it
	changing   [2]int
	unconfirm  int // releases a quorum could not confirm
	overtime   int // holds that ended after their validity
	lastHolder int // the worker that took the last grant, -1 if none yet
}

// A hold is one worker's time with the lock: from Lock's return to just
// before Unlock, trimmed to the lock's validity.
type hold struct {
	worker     int
	start, end time.Duration
}

func newLedger(phases int) *ledger {
	return &ledger{grants: make([]int, phases), gaveUp: make([]int, phases), lastHolder: -1}
}

// granted records a hold by worker whose Lock call began in phase from and
// returned in phase to (see changing). validUntil is the end of the lock's validity;
// confirmed tells whether Unlock found a quorum still holding it.
func (l *ledger) granted(worker, from, to int, start, end, validUntil time.Duration, confirmed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if end > validUntil {
		l.overtime++
		end = validUntil
	}
	l.holds = append(l.holds, hold{worker: worker, start: start, end: end})
	if from == to && from != changing {
		l.grants[from]++
	} else {
		l.changing[0]++
	}
	if !confirmed {
		l.unconfirm++
	}
	l.lastHolder = worker
}

// timedOut records a Lock call that gave up.
func (l *ledger) timedOut(from, to int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if from == to && from != changing {
		l.gaveUp[from]++
	} else {
		l.changing[1]++
	}
}

// snapshot returns the counts of phase p and the grants in all.
func (l *ledger) snapshot(p int) (grants, gaveUp, total int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.grants[p], l.gaveUp[p], len(l.holds)
}

// perWorker says how many holds each of n workers had.
func (l *ledger) perWorker(n int) string {
	counts := make([]int, n)
	l.mu.Lock()
	for _, h := range l.holds {
		counts[h.worker]++
	}
	l.mu.Unlock()
	parts := make([]string, n)
	for i, c := range counts {
		parts[i] = fmt.Sprintf("worker-%d %d", i+1, c)
	}
	return strings.Join(parts, ", ")
}

// overlaps counts the holds that began before an earlier-starting hold had
// ended: every pair of holds is compared, in effect, after sorting by start.
func (l *ledger) overlaps() int {
	l.mu.Lock()
	holds := slices.Clone(l.holds)
	l.mu.Unlock()
	slices.SortFunc(holds, func(a, b hold) int { return cmp.Compare(a.start, b.start) })
	n := 0
	var latest time.Duration // the latest end so far
	for i, h := range holds {
		if i > 0 && h.start < latest {
			n++
		}
		latest = max(latest, h.end)
	}
	return n
}
