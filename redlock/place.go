package redlock

import (
	"slices"
	"sync"
	"time"
)

// A waiter's place in the queues is when it began waiting, by the nodes'
// clocks: the same number on every node, so that every node orders the
// waiters alike, and one that a client whose own clock is off gains
// nothing by. The client reads it from its clock plus its estimate of how
// far the nodes' clocks are from it, the median of the offsets the nodes'
// answers showed: every answer that finds a lock busy or a semaphore's
// slots read carries the server's time. An attempt that finds the lock busy
// comes before a waiter is made, so a waiter's place always has an
// estimate behind it; the median is not moved by a minority of nodes whose
// clocks are off. The estimate is as good as the answers' round trips:
// within a few milliseconds of the nodes' time.
type nodeClocks struct {
	mu      sync.Mutex
	offsets []int64 // node i's time less the client's, in ms, when it last answered
	known   []bool
}

func newNodeClocks(n int) *nodeClocks {
	return &nodeClocks{offsets: make([]int64, n), known: make([]bool, n)}
}

// seen records that node i's clock read at ms (since 1970) when the
// client's read now.
func (c *nodeClocks) seen(i int, at int64, now time.Time) {
	if at <= 0 {
		return
	}
	c.mu.Lock()
	c.offsets[i], c.known[i] = at-now.UnixMilli(), true
	c.mu.Unlock()
}

// place returns the time now stands for on the nodes' clocks, in ms since
// 1970: now itself if no node has told its time yet.
func (c *nodeClocks) place(now time.Time) int64 {
	c.mu.Lock()
	var offs []int64
	for i, ok := range c.known {
		if ok {
			offs = append(offs, c.offsets[i])
		}
	}
	c.mu.Unlock()
	if len(offs) == 0 {
		return now.UnixMilli()
	}
	slices.Sort(offs)
	return now.UnixMilli() + offs[len(offs)/2]
}
