package redlocktest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quorumlock/quorumlock/clock"
	"github.com/quorumlock/quorumlock/redlock"
	"github.com/quorumlock/quorumlock/redlock/observe"
)

// checkWake: of two clients on one node, one holds a lock and the other
// waits for it in Lock; the holder's Unlock hands the lock to the waiter,
// which learns it through its subscription and holds it without another
// attempt. The waiter's clock is a fake that never advances, so its retry
// timer never fires: only a message can end its wait, however busy the
// machine.
func checkWake(t *testing.T, e *env) {
	s := e.start(t, options{})
	sub := s.subscriber(t)
	var messages atomic.Int64
	node, err := redlock.NewNode(s.proxy.addr(), counted{keepOpen{s.conn}, sub, &messages})
	if err != nil {
		t.Fatalf("NewNode: %v", err)
	}
	newClient := func(opts ...redlock.ClientOption) *redlock.Client {
		opts = append(append(opts, LibraryOptions...), redlock.WithNodeTimeout(nodeTimeout))
		c, err := redlock.New([]*redlock.Node{node}, opts...)
		if err != nil {
			t.Fatalf("redlock.New: %v", err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	holder := newClient()
	fake := clock.NewFake(time.Now())
	var attempts atomic.Int64
	waiter := newClient(redlock.WithClock(fake), redlock.WithMetrics(observe.Metrics{
		Attempt: func(context.Context, string, observe.AttemptOutcome) { attempts.Add(1) },
	}))

	const name = "conformance-wake"
	held, err := holder.TryLock(ctx(t), name, redlock.WithTTL(time.Minute))
	if err != nil {
		t.Fatalf("TryLock: %v", err)
	}
	type result struct {
		err, unlockErr error
	}
	out := make(chan result, 1)
	waitCtx, stop := context.WithCancel(context.Background())
	defer func() { stop(); <-out }() // the waiter's Lock and Unlock return before the check does
	unlockCtx := ctx(t)
	go func() {
		l, err := waiter.Lock(waitCtx, name)
		var unlockErr error
		if err == nil {
			unlockErr = l.Unlock(unlockCtx)
		}
		out <- result{err, unlockErr}
	}()
	// The waiter waits on its timer once it is subscribed and queued.
	if err := fake.BlockUntil(ctx(t), 1); err != nil {
		t.Fatalf("the waiter did not wait for its turn within %v: %v", callBound, err)
	}
	before := attempts.Load()
	if err := held.Unlock(ctx(t)); err != nil {
		t.Fatalf("the holder's Unlock: %v", err)
	}
	unlocked := time.Now()
	select {
	case r := <-out:
		out <- r // for the deferred wait
		if r.err != nil {
			t.Fatalf("the waiter's Lock: %v", r.err)
		}
		if r.unlockErr != nil {
			t.Errorf("the waiter's Unlock: %v", r.unlockErr)
		}
		if n := attempts.Load() - before; n != 0 {
			t.Errorf("the waiter made %d attempts after the holder's Unlock, with %d messages delivered to its subscriptions; the release should have handed it the lock", n, messages.Load())
		}
		t.Logf("the waiter got the lock %v after the holder's Unlock, told by %d messages", time.Since(unlocked).Round(time.Millisecond), messages.Load())
	case <-time.After(callBound):
		t.Errorf("the waiter was not woken within %v of the holder's Unlock, with %d messages delivered to its subscriptions (its retry timer never fires)", callBound, messages.Load())
	}
}

// counted is a Conn whose Close is left to its owner and whose
// subscriptions count the messages they are given.
type counted struct {
	keepOpen
	sub redlock.Subscriber
	n   *atomic.Int64
}

// Subscribe subscribes through the Conn, counting the messages.
func (c counted) Subscribe(ctx context.Context, channels []string, deliver func(channel, message string)) (func(), error) {
	return c.sub.Subscribe(ctx, channels, func(channel, message string) {
		c.n.Add(1)
		deliver(channel, message)
	})
}
