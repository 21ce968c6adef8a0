package redlock_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/clock"
	"github.com/quorumlock/quorumlock/internal/testcluster"
	"github.com/quorumlock/quorumlock/redlock"
	"github.com/quorumlock/quorumlock/redlock/observe"
)

// ownNodes returns nodes of their own on tc's servers, as another process
// would have, closed when the test ends.
func ownNodes(t *testing.T, tc *testcluster.Cluster) []*redlock.Node {
	t.Helper()
	var nodes []*redlock.Node
	for _, s := range tc.Servers {
		n, err := redlock.ParseURL(s.URL())
		require.NoError(t, err)
		t.Cleanup(func() { _ = n.Close() })
		nodes = append(nodes, n)
	}
	return nodes
}

// skewed is the real clock shifted by d: a client whose wall clock is off.
type skewed struct{ d time.Duration }

func (s skewed) Now() time.Time                       { return time.Now().Add(s.d) }
func (s skewed) Since(t time.Time) time.Duration      { return time.Since(t.Add(-s.d)) }
func (s skewed) NewTimer(d time.Duration) clock.Timer { return clock.Real().NewTimer(d) }

// waitQueued waits until key's queue holds n waiters on every server.
func waitQueued(t *testing.T, tc *testcluster.Cluster, key string, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, s := range tc.Servers {
			if queued(s, key) != n {
				return false
			}
		}
		return true
	}, time.Minute, 5*time.Millisecond, "%d waiters queued for %s on every server", n, key)
}

// A client whose clock is an hour behind gains nothing over waiters that
// came before it: places are read by the nodes' clocks.
func TestClient_Lock_clockBehindGainsNothing(t *testing.T) {
	tc := testcluster.New(t, testcluster.Options{RealTimeTTL: true})
	newClient := func(opts ...redlock.ClientOption) *redlock.Client {
		c, err := redlock.New(ownNodes(t, tc), append([]redlock.ClientOption{redlock.WithNodeTimeout(2 * time.Second)}, opts...)...)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	ctx := context.Background()
	hc := newClient()
	holder, err := hc.TryLock(ctx, "place")
	require.NoError(t, err)
	require.NoError(t, hc.Close())

	first := make(chan string, 2)
	wait := func(c *redlock.Client, who string) {
		lctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		l, err := c.Lock(lctx, "place")
		if err != nil {
			first <- who + ": " + err.Error()
			return
		}
		first <- who
		_ = l.Unlock(context.WithoutCancel(ctx))
	}
	go wait(newClient(), "honest")
	waitQueued(t, tc, holder.Key(), 1)
	go wait(newClient(redlock.WithClock(skewed{-time.Hour})), "behind")
	waitQueued(t, tc, holder.Key(), 2)
	require.NoError(t, holder.Unlock(ctx))
	assert.Equal(t, "honest", <-first, "the first served")
	assert.Equal(t, "behind", <-first, "the second served")
}

// A waiter whose process died is not handed the lock: its subscriptions
// ended with its connections, so the release leaves the lock free, and the
// next waiter takes it once the dead one's life in the queue ends, not a
// whole ttl later.
func TestClient_Lock_deadWaiterNotHandedOver(t *testing.T) {
	tc := testcluster.New(t, testcluster.Options{RealTimeTTL: true})
	ctx := context.Background()
	const ttl = time.Minute
	newClient := func(nodes []*redlock.Node, opts ...redlock.ClientOption) *redlock.Client {
		c, err := redlock.New(nodes, append([]redlock.ClientOption{redlock.WithNodeTimeout(2 * time.Second), redlock.WithTTL(ttl)}, opts...)...)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	hc := newClient(ownNodes(t, tc))
	holder, err := hc.TryLock(ctx, "dead")
	require.NoError(t, err)
	require.NoError(t, hc.Close())

	// The waiter that dies: queued with an offer on every node, then its
	// connections are closed and it makes no further attempt.
	deadNodes := ownNodes(t, tc)
	var deadAttempts atomic.Int64
	dead := newClient(deadNodes, redlock.WithMetrics(observe.Metrics{
		Attempt: func(context.Context, string, observe.AttemptOutcome) { deadAttempts.Add(1) },
	}))
	dctx, cancelDead := context.WithCancel(ctx)
	deadDone := make(chan struct{})
	go func() {
		defer close(deadDone)
		_, _ = dead.Lock(dctx, "dead")
	}()
	waitQueued(t, tc, holder.Key(), 1)
	require.Eventually(t, func() bool { return deadAttempts.Load() >= 2 }, time.Minute, 5*time.Millisecond,
		"the dying waiter's second attempt, with its offer")
	for _, n := range deadNodes {
		require.NoError(t, n.Close())
	}

	got := make(chan time.Time, 1)
	go func() {
		lctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		l, err := newClient(ownNodes(t, tc)).Lock(lctx, "dead")
		if err != nil {
			close(got)
			return
		}
		got <- time.Now()
		_ = l.Unlock(context.WithoutCancel(ctx))
	}()
	waitQueued(t, tc, holder.Key(), 2)
	released := time.Now()
	require.NoError(t, holder.Unlock(ctx))
	at, ok := <-got
	require.True(t, ok, "the live waiter's Lock failed")
	took := at.Sub(released)
	t.Logf("the live waiter got the lock %v after the release", took.Round(time.Millisecond))
	assert.Less(t, took, ttl/2, "the live waiter waited for the dead one's ttl (%v)", ttl)
	cancelDead()
	<-deadDone
}

// A waiter whose grants do not count (its client refuses the nodes) does
// not keep the free lock from the waiters behind it: its failed attempt
// takes it out of the queue, and it joins again at the back.
func TestClient_Lock_refusedWaiterGivesWay(t *testing.T) {
	tc := testcluster.New(t, testcluster.Options{RealTimeTTL: true})
	for _, s := range tc.Servers {
		s.SetInfo("aof_enabled", "0") // refused for fenced locks, a warning for the others
	}
	ctx := context.Background()
	newClient := func(opts ...redlock.ClientOption) *redlock.Client {
		c, err := redlock.New(ownNodes(t, tc), append([]redlock.ClientOption{redlock.WithNodeTimeout(2 * time.Second)}, opts...)...)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	hc := newClient()
	holder, err := hc.TryLock(ctx, "refused")
	require.NoError(t, err)
	require.NoError(t, hc.Close())

	done := make(chan string, 2)
	go func() {
		_, err := newClient(redlock.WithFencing()).Lock(ctx, "refused", redlock.WithWait(5*time.Second))
		done <- "refused waiter: " + fmt.Sprint(err != nil)
	}()
	waitQueued(t, tc, holder.Key(), 1)
	go func() {
		l, err := newClient().Lock(ctx, "refused", redlock.WithWait(time.Minute))
		if err == nil {
			err = l.Unlock(ctx)
		}
		done <- "next waiter: " + fmt.Sprint(err)
	}()
	waitQueued(t, tc, holder.Key(), 2)
	require.NoError(t, holder.Unlock(ctx))
	assert.Equal(t, "next waiter: <nil>", <-done, "the waiter behind the refused one got the lock first")
	assert.Equal(t, "refused waiter: true", <-done)
}
