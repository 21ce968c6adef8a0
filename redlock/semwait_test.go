package redlock_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/clock"
	"github.com/quorumlock/quorumlock/internal/testcluster"
	"github.com/quorumlock/quorumlock/redlock"
)

// queuedEverywhere reports whether the queue of every one of slots of the
// semaphore key holds want waiters on every server.
func queuedEverywhere(servers []*testcluster.Server, key string, slots, want int) bool {
	for _, s := range servers {
		for slot := range slots {
			if queued(s, slotKey(key, slot)) != want {
				return false
			}
		}
	}
	return true
}

// A waiter is given a released permit at once: the client's fake clock
// never moves, so no timer can have woken it.
func TestClient_Semaphore_wokenByRelease(t *testing.T) {
	c := newCluster(t, 5)
	fake := clock.NewFake(time.Now())
	client := c.client(t, redlock.WithClock(fake))
	ctx := context.Background()
	var held []*redlock.Permit
	for range 2 {
		p, err := sem(client, "wake", 2).TryAcquire(ctx)
		require.NoError(t, err)
		held = append(held, p)
	}
	type result struct {
		p   *redlock.Permit
		err error
	}
	got := make(chan result, 1)
	go func() {
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		p, err := sem(client, "wake", 2).Acquire(wctx)
		got <- result{p, err}
	}()
	require.Eventually(t, func() bool {
		for _, s := range c.Servers {
			for slot := range 2 {
				if queued(s, slotKey("wake", slot)) != 1 {
					return false
				}
			}
		}
		return true
	}, 20*time.Second, 5*time.Millisecond, "waiting for the waiter to queue for both slots on every node")

	require.NoError(t, held[1].Unlock(ctx))
	var r result
	select {
	case r = <-got:
	case <-time.After(time.Minute):
		t.Fatal("the waiter was not given the released permit within a minute")
	}
	require.NoError(t, r.err)
	assert.Equal(t, held[1].Slot(), r.p.Slot(), "the released slot")
	require.NoError(t, client.Close()) // the waiter left the other slot's queue in the background
	for i, s := range c.Servers {
		other := 1 - r.p.Slot()
		assert.Zero(t, queued(s, slotKey("wake", other)), "node %d, slot %d: the waiter left the queue", i, other)
		assert.Equal(t, 1, queued(s, slotKey("wake", r.p.Slot())), "node %d: the holder stays first in its slot's queue until it releases", i)
	}
	for _, p := range []*redlock.Permit{held[0], r.p} {
		require.NoError(t, p.Unlock(ctx))
	}
	require.NoError(t, client.Close())
	for i, s := range c.Servers {
		assert.Zero(t, queued(s, slotKey("wake", r.p.Slot())), "node %d: the release took the holder out of the queue", i)
	}
}

// A Semaphore call whose wait ends says so and leaves nothing behind.
func TestClient_Semaphore_waitEnds(t *testing.T) {
	c := newCluster(t, 3)
	client := c.client(t)
	ctx := context.Background()
	p, err := sem(client, "busy", 1).TryAcquire(ctx)
	require.NoError(t, err)
	_, err = sem(client, "busy", 1).Acquire(ctx, redlock.WithWait(300*time.Millisecond))
	require.ErrorIs(t, err, redlock.ErrNotObtained)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorContains(t, err, `semaphore "busy"`)

	_, err = sem(client, "busy", 1).Acquire(ctx, redlock.WithRetryLimit(1))
	require.ErrorIs(t, err, redlock.ErrNotObtained)
	assert.ErrorContains(t, err, "after 2 attempts")

	require.NoError(t, client.Close())
	for i, s := range c.Servers {
		assert.Zero(t, queued(s, slotKey("busy", 0)), "node %d: the waiters left the queue", i)
	}
	assert.Equal(t, []int{0, 1, 2}, c.holders(p.Key(), p.Token()), "the holder's keys are untouched")
	require.NoError(t, p.Unlock(ctx))
}

// Waiters for permits are served in the order they began waiting, across
// clients, whichever slot is released.
func TestClient_Semaphore_firstComeFirstServed(t *testing.T) {
	tc := testcluster.New(t, testcluster.Options{RealTimeTTL: true})
	newClient := func() *redlock.Client {
		c, err := redlock.New(tc.Nodes, redlock.WithNodeTimeout(2*time.Second))
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	ctx := context.Background()
	hc := newClient()
	var held []*redlock.Permit
	for range 2 {
		p, err := sem(hc, "fifo", 2).TryAcquire(ctx)
		require.NoError(t, err)
		held = append(held, p)
	}
	require.NoError(t, hc.Close()) // the holders' keys are on every node

	const waiters = 4
	type grant struct{ waiter, slot int }
	order := make(chan grant, waiters)
	release := make(chan struct{})
	for w := range waiters {
		c := newClient() // each waiter a client of its own, as on other hosts
		go func() {
			wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			p, err := sem(c, "fifo", 2).Acquire(wctx)
			if err != nil {
				order <- grant{-1, -1}
				return
			}
			order <- grant{w, p.Slot()}
			<-release
			_ = p.Unlock(context.WithoutCancel(ctx))
		}()
		// The next waiter comes once this one is queued for both slots on
		// every node, and in a later millisecond: places are in ms.
		require.Eventually(t, func() bool { return queuedEverywhere(tc.Servers, "fifo", 2, w+1) },
			20*time.Second, 5*time.Millisecond, "waiting for waiter %d to queue for both slots on every node", w)
		time.Sleep(2 * time.Millisecond)
	}

	// Free slot 1, then slot 0; then each waiter, when served, releases the
	// slot it got, so the slots are freed in turn.
	require.NoError(t, held[1].Unlock(ctx))
	var got []int
	for i := range waiters {
		if i == 1 {
			require.NoError(t, held[0].Unlock(ctx))
		}
		select {
		case g := <-order:
			got = append(got, g.waiter)
			if i >= 1 { // both slots are held: free one of them
				release <- struct{}{}
			}
		case <-time.After(2 * time.Minute):
			t.Fatalf("waited 2m for the next grant; order so far %v", got)
		}
	}
	release <- struct{}{} // the last one
	assert.Equal(t, []int{0, 1, 2, 3}, got, "waiters are served in the order they queued, across clients")
	require.Eventually(t, func() bool { return queuedEverywhere(tc.Servers, "fifo", 2, 0) },
		time.Minute, 5*time.Millisecond, "waiting for every waiter to leave the queues")
}

// A waiter facing a slot whose key has no expiry, which only another hand
// than the library's sets, waits for a release or its half-second refresh,
// not for the key's expiry of zero: after 100ms on its clock it has not
// read the slots again.
func TestClient_Semaphore_keyWithoutExpiry(t *testing.T) {
	c := newCluster(t, 5)
	fake := clock.NewFake(time.Now())
	client := c.client(t, redlock.WithClock(fake))
	for _, s := range c.servers {
		require.NoError(t, s.Set(slotKey("stuck", 0), "another owner's token"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := sem(client, "stuck", 1).Acquire(ctx)
		done <- err
	}()
	// The waiter has read the slots, queued and armed its timer.
	require.Eventually(t, func() bool { return queuedEverywhere(c.Servers, "stuck", 1, 1) },
		20*time.Second, 5*time.Millisecond, "waiting for the waiter to queue on every node")
	waitTimers(t, fake, 1)
	reads := c.faults[0].Calls(testcluster.OpOther) // slots.lua, to the fault layer
	fake.Advance(100 * time.Millisecond)
	waitTimers(t, fake, 1) // the timer, still armed, or armed again after another reading
	assert.Equal(t, reads, c.faults[0].Calls(testcluster.OpOther), "no reading of the slots within 100ms")
	cancel()
	err := <-done
	require.ErrorIs(t, err, redlock.ErrNotObtained)
	assert.ErrorContains(t, err, "none of its 1 slots is free")
}
