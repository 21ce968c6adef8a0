package redlock

import (
	"context"
	"sync"
	"time"
)

// An opContext bounds the node calls of one round by a deadline, and by
// nothing the caller does: what was sent is always answered or timed out, so
// that its outcome can be undone. It carries the caller's values.
//
// It is context.WithTimeout(context.WithoutCancel(parent), d) at one
// allocation instead of five: Done's channel and timer are made only if
// someone asks for Done, which on the fast path nobody does, since commands
// are bounded by a read deadline computed from Deadline.
type opContext struct {
	parent   context.Context // for Value only
	deadline time.Time
	args     [40]any // backs the round's per-node arguments when they fit (see perNode)

	mu    sync.Mutex
	done  chan struct{}
	timer *time.Timer
	err   error
}

func newOpContext(parent context.Context, timeout time.Duration) *opContext {
	return &opContext{parent: parent, deadline: time.Now().Add(timeout)}
}

func (c *opContext) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *opContext) Value(key any) any { return c.parent.Value(key) }

func (c *opContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done)
		} else if d := time.Until(c.deadline); d <= 0 {
			c.endLocked(context.DeadlineExceeded)
		} else {
			c.timer = time.AfterFunc(d, func() { c.end(context.DeadlineExceeded) })
		}
	}
	return c.done
}

func (c *opContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil && !time.Now().Before(c.deadline) {
		c.endLocked(context.DeadlineExceeded)
	}
	return c.err
}

// cancel ends the context early and frees its timer.
func (c *opContext) cancel() { c.end(context.Canceled) }

func (c *opContext) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.endLocked(err)
}

func (c *opContext) endLocked(err error) {
	if c.err != nil {
		return
	}
	c.err = err
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.done != nil {
		close(c.done)
	}
}

func (c *opContext) String() string { return "redlock.opContext" }
