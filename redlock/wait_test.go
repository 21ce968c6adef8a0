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

// queued returns how many waiters the lock key's queue holds on server s.
func queued(s *testcluster.Server, key string) int {
	members, err := s.Redis().ZMembers(redlock.Reserved + "q:" + key)
	if err != nil {
		return 0
	}
	return len(members)
}

func TestClient_Lock_firstComeFirstServed(t *testing.T) {
	tc := testcluster.New(t, testcluster.Options{RealTimeTTL: true})
	newClient := func() *redlock.Client {
		c, err := redlock.New(tc.Nodes, redlock.WithNodeTimeout(2*time.Second))
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	ctx := context.Background()
	hc := newClient()
	holder, err := hc.TryLock(ctx, "fifo")
	require.NoError(t, err)
	require.NoError(t, hc.Close()) // the holder's key is on every node

	const waiters = 4
	order := make(chan int, waiters)
	release := make(chan struct{})
	for w := range waiters {
		c := newClient() // each waiter a client of its own, as on other hosts
		go func() {
			lctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			l, err := c.Lock(lctx, "fifo")
			if err != nil {
				order <- -1
				return
			}
			order <- w
			<-release
			_ = l.Unlock(context.WithoutCancel(ctx))
		}()
		// The next waiter comes once this one is queued on every node.
		require.Eventually(t, func() bool {
			for _, s := range tc.Servers {
				if queued(s, "fifo") < w+1 {
					return false
				}
			}
			return true
		}, 20*time.Second, 5*time.Millisecond, "waiting for waiter %d to queue on every node: %v", w, func() (n []int) {
			for _, s := range tc.Servers {
				n = append(n, queued(s, "fifo"))
			}
			return n
		}())
	}

	require.NoError(t, holder.Unlock(ctx))
	var got []int
	for range waiters {
		select {
		case w := <-order:
			got = append(got, w)
			release <- struct{}{}
		case <-time.After(2 * time.Minute):
			t.Fatalf("waited 2m for the next grant; order so far %v", got)
		}
	}
	assert.Equal(t, []int{0, 1, 2, 3}, got, "waiters are served in the order they queued, across clients")
	require.Eventually(t, func() bool {
		for _, s := range tc.Servers {
			if queued(s, "fifo") > 0 {
				return false
			}
		}
		return true
	}, time.Minute, 5*time.Millisecond, "waiting for every waiter to leave the queues")
}

func TestClient_TryLock_respectsQueue(t *testing.T) {
	c := newCluster(t, 3)
	client := c.client(t)
	ctx := context.Background()
	// Another client's waiter, queued on every node and alive for a while.
	for _, s := range c.Servers {
		alive := time.Now().Add(time.Hour).UnixMilli()
		_, err := s.Redis().ZAdd(redlock.Reserved+"q:queue", 1, "other")
		require.NoError(t, err)
		s.Redis().HSet(redlock.Reserved+"w:queue", "other", fmt.Sprint(alive))
	}
	_, err := client.TryLock(ctx, "queue")
	require.ErrorIs(t, err, redlock.ErrNotObtained, "a free lock with a live waiter queued is the waiter's")
	assert.ErrorContains(t, err, "earlier waiters are queued")

	// The waiter stops showing it is alive: it is dropped, and the lock is
	// free for anyone.
	for _, s := range c.Servers {
		s.Redis().HSet(redlock.Reserved+"w:queue", "other", fmt.Sprint(time.Now().Add(-time.Second).UnixMilli()))
	}
	l, err := client.TryLock(ctx, "queue")
	require.NoError(t, err)
	require.NoError(t, l.Unlock(ctx))
	require.NoError(t, client.Close())
	for i, s := range c.Servers {
		assert.Zero(t, queued(s, "queue"), "node %d: the dead waiter was dropped", i)
	}
}

// A key with no expiry, which only another hand than the library's sets,
// is held by another owner, not free and queued for.
func TestClient_TryLock_keyWithoutExpiry(t *testing.T) {
	c := newCluster(t, 5)
	client := c.client(t)
	for _, s := range c.servers[:3] {
		require.NoError(t, s.Set("forever", "another owner's token"))
	}
	_, err := client.TryLock(context.Background(), "forever")
	require.ErrorIs(t, err, redlock.ErrNotObtained)
	assert.ErrorContains(t, err, "held by another owner")
	assert.NotContains(t, err.Error(), "earlier waiters are queued")
}

// offered reports whether one waiter offers to take a hand-off of key on
// every server.
func offered(c *cluster, key string) bool {
	for _, s := range c.Servers {
		if n, _ := s.Redis().HKeys(redlock.Reserved + "t:" + key); len(n) != 1 {
			return false
		}
	}
	return true
}

// A release hands the lock to the first waiter on the nodes themselves:
// the waiter holds it, with the token of the attempt that queued it,
// without trying again.
func TestClient_Lock_handOff(t *testing.T) {
	c := newCluster(t, 3)
	ctx := context.Background()
	holding := c.client(t)
	holder, err := holding.TryLock(ctx, "handoff")
	require.NoError(t, err)
	require.NoError(t, holding.Close()) // the holder's key is on every node

	// The waiter's clock stands still, so it tries only when woken.
	fake := clock.NewFake(time.Now())
	var attempts atomic.Int32
	waiting := c.client(t, redlock.WithClock(fake), redlock.WithMetrics(observe.Metrics{
		Attempt: func(context.Context, string, observe.AttemptOutcome) { attempts.Add(1) },
	}))
	got := make(chan *redlock.Lock, 1)
	go func() {
		l, err := waiting.Lock(ctx, "handoff")
		assert.NoError(t, err)
		got <- l
	}()
	// Its first attempt finds the lock busy; its second queues it, with an
	// offer on every node, and is counted once it has returned.
	require.Eventually(t, func() bool { return offered(c, "handoff") && attempts.Load() == 2 }, 20*time.Second, 5*time.Millisecond,
		"waiting for the waiter's offer on every node, and its two attempts")
	before := attempts.Load()

	require.NoError(t, holder.Unlock(ctx))
	var l *redlock.Lock
	select {
	case l = <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("waited 20s for the hand-off")
	}
	require.NotNil(t, l)
	assert.Equal(t, before, attempts.Load(), "attempts: the waiter made none after the release")
	// Unlock returns at a quorum; the release's last node may answer later.
	require.NoError(t, holding.Close())
	assert.Equal(t, []int{0, 1, 2}, c.holders("handoff", l.Token()), "nodes holding the waiter's token")
	assert.True(t, l.Until().After(fake.Now()), "the handed lock is valid")
	require.NoError(t, l.Unlock(ctx))
	require.NoError(t, waiting.Close()) // the release's last node may answer after Unlock returns
	assert.Empty(t, c.keys("handoff"), "nodes with the key after the unlock")
	for i, s := range c.Servers {
		assert.Zero(t, queued(s, "handoff"), "node %d: waiters queued after the unlock", i)
	}
}

// A node's hand-off counts only if the node has been up for longer than the
// quarantine when it makes it: a waiter handed the lock by a restarted
// majority does not hold it, and gives the keys back when it stops waiting.
func TestClient_Lock_handOffQuarantined(t *testing.T) {
	servers := clock.NewFake(time.Now()) // the servers' uptime stands still
	c := newClusterWith(t, testcluster.Options{Servers: 3, Clock: servers})
	ctx := context.Background()
	holding := c.client(t)
	holder, err := holding.TryLock(ctx, "quarantined")
	require.NoError(t, err)
	require.NoError(t, holding.Close()) // every node has answered before the restarts
	for _, s := range c.Servers[:2] {
		require.NoError(t, s.Restart()) // with its data: the holder's key survives; up for 0s
	}

	var attempts, probes atomic.Int32
	waiting := c.client(t, redlock.WithMetrics(observe.Metrics{
		Attempt: func(context.Context, string, observe.AttemptOutcome) { attempts.Add(1) },
		NodeLatency: func(_ context.Context, _ string, op observe.Op, _ time.Duration) {
			if op == observe.OpInfo {
				probes.Add(1)
			}
		},
	}))
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		l, err := waiting.Lock(wctx, "quarantined")
		if err == nil {
			_ = l.Unlock(ctx)
		}
		done <- err
	}()
	// The waiter's scripts meet NOSCRIPT on the restarted nodes, which it
	// then probes; and it offers to take a hand-off on every node.
	if !assert.Eventually(t, func() bool {
		return probes.Load() >= 2 && offered(c, "quarantined")
	}, time.Minute, 5*time.Millisecond, "waiting for the waiter's probes and its offer on every node") {
		t.Fatalf("after a minute: %d probes, %d attempts, offers on every node: %v", probes.Load(), attempts.Load(), offered(c, "quarantined"))
	}
	before := attempts.Load()
	require.NoError(t, holder.Unlock(ctx))
	// Two hand-offs of three come from nodes up for 0s: the waiter tries
	// again, and the restarted nodes' grants do not count either.
	require.Eventually(t, func() bool { return attempts.Load() > before || len(done) > 0 }, 20*time.Second, 5*time.Millisecond,
		"waiting for the waiter to try again after the hand-offs")
	select {
	case err := <-done:
		t.Fatalf("the waiter's Lock returned (err %v) with two of three nodes in quarantine", err)
	default:
	}
	cancel()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("waited 20s for Lock to return after its context ended")
	}
	require.ErrorIs(t, err, redlock.ErrNotObtained)
	assert.ErrorContains(t, err, "quarantine")
	require.NoError(t, holding.Close())
	require.NoError(t, waiting.Close()) // its leave is background work
	assert.Empty(t, c.keys("quarantined"), "nodes with the key after the waiter gave up")
}

// A waiter that gives up while an attempt of its is on its way is not
// queued again by that attempt, nor offers to take the lock, so the
// holder's release hands the lock to no one who has gone.
func TestClient_Lock_handOffNotToGone(t *testing.T) {
	c := newCluster(t, 3)
	ctx := context.Background()
	holding := c.client(t)
	holder, err := holding.TryLock(ctx, "gone")
	require.NoError(t, err)
	base := make([]int, len(c.Servers))
	for i, s := range c.Servers {
		base[i] = s.Conn().Ran(testcluster.OpAcquire)
		s.Conn().Delay(testcluster.OpAcquire, 300*time.Millisecond)
	}
	// The first attempt, answered after 300ms, finds the lock busy; the
	// waiter's second is still on its way when the context ends.
	wctx, cancel := context.WithTimeout(ctx, 450*time.Millisecond)
	_, err = c.client(t).Lock(wctx, "gone")
	cancel()
	require.ErrorIs(t, err, redlock.ErrNotObtained)
	require.Eventually(t, func() bool {
		for i, s := range c.Servers {
			if s.Conn().Ran(testcluster.OpAcquire) < base[i]+2 {
				return false
			}
		}
		return true
	}, 20*time.Second, 5*time.Millisecond, "waiting for the waiter's two attempts to run on every node")
	for i, s := range c.Servers {
		s.Conn().Delay(testcluster.OpAcquire, 0)
		offers, _ := s.Redis().HKeys(redlock.Reserved + "t:gone")
		assert.Empty(t, offers, "node %d: offers after the waiter gave up", i)
		assert.Zero(t, queued(s, "gone"), "node %d: waiters queued after the waiter gave up", i)
	}
	require.NoError(t, holder.Unlock(ctx))
	require.NoError(t, holding.Close()) // the release's last node may answer after Unlock returns
	assert.Empty(t, c.keys("gone"), "nodes with the key after the holder's release")
}
