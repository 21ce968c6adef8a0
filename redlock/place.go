package redlock

import (
	"slices"
	"sync"
	"time"
)

// A waiter's place in the queues is when it began waiting, by the nodes'
// clocks: the same number on every node, so that every node orders the
// waiters alike, and one that a client whose own clock is off gains
// nothing by. Every answer that finds a lock busy, and every reading of a
// semaphore's slots, carries the server's time; the client keeps, for each
// node, the last time it told and when, on the client's clock (monotonic,
// for [clock.Real]), so that it can tell the node's time now, and takes
// the median over the nodes, which a minority whose clocks are off does
// not move. Until a quorum of nodes has told its time, it reads its own
// clock: a client whose clock is off then gains or loses that much, once,
// on its first waits. The estimate is as good as the answers' round trips,
// and as the nodes' clocks keep time between answers.
type nodeClocks struct {
	mu     sync.Mutex
	need   int         // answers needed: a quorum
	at     []int64     // node i's time, in ms since 1970, when it last told it
	when   []time.Time // when that was, on the client's clock
	known  []bool
	nKnown int
}

func newNodeClocks(n, quorum int) *nodeClocks {
	return &nodeClocks{need: quorum, at: make([]int64, n), when: make([]time.Time, n), known: make([]bool, n)}
}

// seen records that node i's clock read at ms (since 1970) when the
// client's read now.
func (c *nodeClocks) seen(i int, at int64, now time.Time) {
	if at <= 0 {
		return
	}
	c.mu.Lock()
	if !c.known[i] {
		c.known[i] = true
		c.nKnown++
	}
	c.at[i], c.when[i] = at, now
	c.mu.Unlock()
}

// place returns the time now stands for on the nodes' clocks, in ms since
// 1970: now itself until a quorum of nodes has told its time.
func (c *nodeClocks) place(now time.Time) int64 {
	c.mu.Lock()
	if c.nKnown < c.need {
		c.mu.Unlock()
		return now.UnixMilli()
	}
	times := make([]int64, 0, c.nKnown)
	for i, ok := range c.known {
		if ok {
			times = append(times, c.at[i]+now.Sub(c.when[i]).Milliseconds())
		}
	}
	c.mu.Unlock()
	slices.Sort(times)
	return times[len(times)/2]
}
