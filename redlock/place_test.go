package redlock

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A waiter's place is the client's time moved by the median of the nodes'
// offsets: a client whose clock is an hour behind places its waiters at
// the nodes' time, and one node whose clock is off does not move it.
func TestNodeClocks_place(t *testing.T) {
	c := newNodeClocks(5)
	now := time.UnixMilli(1_000_000)
	assert.EqualValues(t, 1_000_000, c.place(now), "with no answer yet, the client's own time")
	hour := time.Hour.Milliseconds()
	for i, off := range []int64{hour, hour + 3, hour - 2, hour + 1, 50 * hour} {
		c.seen(i, now.UnixMilli()+off, now)
	}
	assert.EqualValues(t, 1_000_000+hour+1, c.place(now), "the median offset")
	c.seen(0, 0, now) // an answer without a time changes nothing
	assert.EqualValues(t, 1_000_000+hour+1, c.place(now))
}
