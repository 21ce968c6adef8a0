package redlock

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A waiter's place is the nodes' time now, as the median of what each told
// and the client's clock since: a client whose clock is an hour behind
// places its waiters at the nodes' time, one node whose clock is off does
// not move it, and until a quorum has told its time the client reads its
// own.
func TestNodeClocks_place(t *testing.T) {
	c := newNodeClocks(5, 3)
	now := time.UnixMilli(1_000_000)
	hour := time.Hour.Milliseconds()
	c.seen(4, now.UnixMilli()+50*hour, now)
	c.seen(0, now.UnixMilli()+hour, now)
	assert.EqualValues(t, 1_000_000, c.place(now), "with fewer than a quorum of answers, the client's own time")
	for i, off := range []int64{hour, hour + 3, hour - 2, hour + 1} {
		c.seen(i, now.UnixMilli()+off, now)
	}
	assert.EqualValues(t, 1_000_000+hour+1, c.place(now), "the median")
	c.seen(0, 0, now) // an answer without a time changes nothing
	later := now.Add(10 * time.Second)
	assert.EqualValues(t, 1_000_000+hour+1+10_000, c.place(later), "the nodes' time moves on with the client's clock")
}
