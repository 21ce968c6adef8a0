package redlock_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/clock"
	"github.com/quorumlock/quorumlock/internal/testcluster"
	"github.com/quorumlock/quorumlock/redlock"
)

func TestClient_Lock(t *testing.T) {
	t.Run("sets the key on every node with the ttl", func(t *testing.T) {
		c := newCluster(t, 5)
		client := c.client(t, redlock.WithTTL(3*time.Second), redlock.WithKeyPrefix("lock:"))
		l, err := client.Lock(context.Background(), "orders:42")
		require.NoError(t, err)
		require.NoError(t, client.Close()) // let the stragglers answer
		assert.Equal(t, "lock:orders:42", l.Key())
		assert.Equal(t, "orders:42", l.Name())
		assert.Len(t, l.Token(), 22, "128 random bits, base64")
		assert.Equal(t, []int{0, 1, 2, 3, 4}, c.holders(l.Key(), l.Token()))
		for _, s := range c.servers {
			assert.Equal(t, 3*time.Second, s.TTL(l.Key()))
		}
		require.NoError(t, l.Unlock(context.Background()))
		require.NoError(t, client.Close())
		assert.Empty(t, c.keys(l.Key()))
	})

	t.Run("validity is ttl less drift less elapsed", func(t *testing.T) {
		c := newCluster(t, 5)
		fake := clock.NewFake(time.Unix(1000, 0))
		client := c.client(t, redlock.WithClock(fake), redlock.WithTTL(10*time.Second))
		l, err := client.TryLock(context.Background(), "v")
		require.NoError(t, err)
		// The fake clock did not move: validity is ttl - (ttl*0.01 + 2ms).
		assert.Equal(t, time.Unix(1000, 0).Add(10*time.Second-102*time.Millisecond), l.Until())
		require.NoError(t, l.Unlock(context.Background()))
	})

	t.Run("tokens differ between acquisitions", func(t *testing.T) {
		c := newCluster(t, 3)
		client := c.client(t)
		seen := map[string]bool{}
		for range 20 {
			l, err := client.TryLock(context.Background(), "tokens")
			require.NoError(t, err)
			assert.False(t, seen[l.Token()], "token reused")
			seen[l.Token()] = true
			require.NoError(t, l.Unlock(context.Background()))
		}
	})
}

func TestClient_Lock_faults(t *testing.T) {
	t.Run("two of five nodes down: acquired, extended, released", func(t *testing.T) {
		c := newCluster(t, 5)
		c.faults[1].SetDown(true)
		c.faults[3].SetDown(true)
		client := c.client(t)
		l, err := client.TryLock(context.Background(), "minority-down")
		require.NoError(t, err)
		require.NoError(t, client.Close())
		assert.Equal(t, []int{0, 2, 4}, c.holders(l.Key(), l.Token()))
		require.NoError(t, l.Extend(context.Background()))
		require.NoError(t, l.Unlock(context.Background()))
		require.NoError(t, client.Close())
		assert.Empty(t, c.keys(l.Key()))
	})

	t.Run("three of five nodes down: not obtained, nothing left behind", func(t *testing.T) {
		c := newCluster(t, 5)
		for _, i := range []int{0, 2, 4} {
			c.faults[i].SetDown(true)
		}
		client := c.client(t)
		_, err := client.TryLock(context.Background(), "majority-down")
		require.ErrorIs(t, err, redlock.ErrNotObtained)
		require.ErrorIs(t, err, testcluster.ErrDown)
		var ne *redlock.NodeError
		require.ErrorAs(t, err, &ne)
		assert.Contains(t, []string{c.nodes[0].Addr(), c.nodes[2].Addr(), c.nodes[4].Addr()}, ne.Addr)
		require.NoError(t, client.Close())
		assert.Equal(t, 1, c.faults[1].Ran(testcluster.OpAcquire), "the live nodes were asked")
		assert.Empty(t, c.keys("majority-down"), "the live nodes' keys were released")
	})

	t.Run("a slow node does not delay Lock, and Unlock waits for its SET", func(t *testing.T) {
		c := newCluster(t, 5)
		open := c.faults[4].Block(testcluster.OpAcquire)
		defer open()
		client := c.client(t, redlock.WithTTL(30*time.Second), redlock.WithNodeTimeout(5*time.Second))
		l, err := client.TryLock(context.Background(), "slow")
		require.NoError(t, err)
		assert.Equal(t, 0, c.faults[4].Ran(testcluster.OpAcquire), "Lock returned before the slow node ran SET")
		assert.GreaterOrEqual(t, len(c.holders(l.Key(), l.Token())), 3, "a majority holds it")
		assert.NotContains(t, c.holders(l.Key(), l.Token()), 4)

		unlocked := make(chan error, 1)
		go func() { unlocked <- l.Unlock(context.Background()) }()
		require.NoError(t, <-unlocked, "Unlock returns on a majority")
		open() // the SET lands now, after Unlock returned
		require.NoError(t, client.Close())
		assert.Equal(t, 1, c.faults[4].Ran(testcluster.OpAcquire))
		assert.Empty(t, c.keys(l.Key()), "the late SET was released too")
	})

	t.Run("a failed attempt releases a SET that lands after it returned", func(t *testing.T) {
		c := newCluster(t, 5)
		for _, i := range []int{0, 1, 2} {
			c.servers[i].Set("late", "another-owner")
		}
		open := c.faults[4].Block(testcluster.OpAcquire)
		defer open()
		client := c.client(t, redlock.WithTTL(30*time.Second), redlock.WithNodeTimeout(5*time.Second))
		_, err := client.TryLock(context.Background(), "late")
		require.ErrorIs(t, err, redlock.ErrNotObtained, "three owned elsewhere: impossible without the slow node")
		assert.Equal(t, 0, c.faults[4].Ran(testcluster.OpAcquire), "returned before the slow node ran SET")
		open()
		require.NoError(t, client.Close())
		assert.Equal(t, 1, c.faults[4].Ran(testcluster.OpAcquire))
		assert.Empty(t, c.keys("late")[3:], "keys on nodes 3 and 4 released")
		assert.Equal(t, []int{0, 1, 2}, c.holders("late", "another-owner"), "the other owner's keys kept")
	})

	t.Run("a node that times out counts as failed", func(t *testing.T) {
		c := newCluster(t, 3)
		open := c.faults[0].Block(testcluster.OpAcquire)
		defer open()
		c.faults[1].SetDown(true)
		// Long enough for the healthy node's first contact (EVALSHA, EVAL
		// and INFO) under the race detector on a busy machine.
		client := c.client(t, redlock.WithNodeTimeout(500*time.Millisecond))
		_, err := client.TryLock(context.Background(), "timeout")
		require.ErrorIs(t, err, redlock.ErrNotObtained)
		assert.ErrorContains(t, err, "timeout")
		require.NoError(t, client.Close())
		assert.Empty(t, c.keys("timeout"))
	})
}

func TestLock_ownership(t *testing.T) {
	t.Run("another owner's key is neither deleted nor extended", func(t *testing.T) {
		c := newCluster(t, 5)
		fake := clock.NewFake(time.Unix(0, 0))
		client := c.client(t, redlock.WithTTL(time.Second), redlock.WithClock(fake), redlock.WithQuarantine(5*time.Second))
		a, err := client.TryLock(context.Background(), "owned")
		require.NoError(t, err)
		require.NoError(t, client.Close())

		c.fastForward(time.Second) // a's keys expire on the nodes
		b, err := client.TryLock(context.Background(), "owned", redlock.WithTTL(5*time.Second))
		require.NoError(t, err, "expiry makes the lock available again")
		require.NoError(t, client.Close())

		err = a.Extend(context.Background())
		require.ErrorIs(t, err, redlock.ErrLost)
		err = a.Unlock(context.Background())
		require.ErrorIs(t, err, redlock.ErrNotHeld)
		require.NoError(t, client.Close())
		assert.Equal(t, []int{0, 1, 2, 3, 4}, c.holders("owned", b.Token()))
		for _, s := range c.servers {
			assert.Equal(t, 5*time.Second, s.TTL("owned"), "b's expiry untouched")
		}
		require.NoError(t, b.Unlock(context.Background()))
	})

	t.Run("held elsewhere is told apart from unreachable", func(t *testing.T) {
		c := newCluster(t, 3)
		client := c.client(t)
		a, err := client.TryLock(context.Background(), "busy")
		require.NoError(t, err)
		require.NoError(t, client.Close())
		open := c.faults[1].Block(testcluster.OpAcquire) // node 1 cannot answer before TryLock returns,
		defer open()
		c.faults[2].SetDown(true) // so the verdict rests on nodes 0 and 2
		_, err = client.TryLock(context.Background(), "busy")
		require.ErrorIs(t, err, redlock.ErrNotObtained)
		assert.ErrorContains(t, err, "held by another owner")
		assert.ErrorIs(t, err, testcluster.ErrDown)
		open()
		c.faults[2].SetDown(false)
		require.NoError(t, a.Unlock(context.Background()))
	})
}

func TestLock_Extend(t *testing.T) {
	t.Run("moves Until and resets the ttl on the nodes", func(t *testing.T) {
		c := newCluster(t, 5)
		fake := clock.NewFake(time.Unix(0, 0))
		client := c.client(t, redlock.WithTTL(2*time.Second), redlock.WithClock(fake))
		l, err := client.TryLock(context.Background(), "ext")
		require.NoError(t, err)
		require.NoError(t, client.Close())
		first := l.Until()
		fake.Advance(time.Second)
		c.fastForward(time.Second)
		require.NoError(t, l.Extend(context.Background()))
		require.NoError(t, client.Close())
		assert.Equal(t, first.Add(time.Second), l.Until())
		for _, s := range c.servers {
			assert.Equal(t, 2*time.Second, s.TTL("ext"))
		}
		require.NoError(t, l.Unlock(context.Background()))
	})

	t.Run("after local expiry: lost, without asking the nodes", func(t *testing.T) {
		c := newCluster(t, 5)
		fake := clock.NewFake(time.Unix(0, 0))
		client := c.client(t, redlock.WithTTL(time.Second), redlock.WithClock(fake))
		l, err := client.TryLock(context.Background(), "expired")
		require.NoError(t, err)
		fake.Advance(time.Second)
		err = l.Extend(context.Background())
		require.ErrorIs(t, err, redlock.ErrLost)
		assert.ErrorContains(t, err, "validity lapsed")
		assert.True(t, l.Until().IsZero())
		require.ErrorIs(t, l.Extend(context.Background()), redlock.ErrLost, "lost stays lost")
		// The keys were still there (the nodes' clocks did not move), so the
		// lock was in fact held until released.
		require.NoError(t, l.Unlock(context.Background()))
	})

	t.Run("after expiry on the nodes: lost", func(t *testing.T) {
		c := newCluster(t, 5)
		client := c.client(t, redlock.WithTTL(time.Second), redlock.WithClock(clock.NewFake(time.Unix(0, 0))))
		l, err := client.TryLock(context.Background(), "gone")
		require.NoError(t, err)
		require.NoError(t, client.Close())
		c.fastForward(time.Second)
		err = l.Extend(context.Background())
		require.ErrorIs(t, err, redlock.ErrLost)
		assert.ErrorContains(t, err, "nodes no longer hold its token")
		assert.Empty(t, c.keys("gone"), "an expired key is not brought back")
		require.ErrorIs(t, l.Unlock(context.Background()), redlock.ErrNotHeld)
	})

	t.Run("a minority of nodes failing still extends", func(t *testing.T) {
		c := newCluster(t, 5)
		client := c.client(t)
		l, err := client.TryLock(context.Background(), "ext-minority")
		require.NoError(t, err)
		c.faults[0].SetDown(true)
		c.faults[1].SetDown(true)
		require.NoError(t, l.Extend(context.Background()))
		require.NoError(t, l.Unlock(context.Background()))
	})

	t.Run("a majority unreachable: not lost yet, retry succeeds", func(t *testing.T) {
		c := newCluster(t, 5)
		client := c.client(t)
		l, err := client.TryLock(context.Background(), "ext-unreachable")
		require.NoError(t, err)
		for _, i := range []int{0, 2, 4} {
			c.faults[i].SetDown(true)
		}
		err = l.Extend(context.Background())
		require.Error(t, err)
		assert.NotErrorIs(t, err, redlock.ErrLost, "unreachable is not proof of loss")
		assert.ErrorIs(t, err, testcluster.ErrDown)
		assert.ErrorContains(t, err, "3 of 5 nodes failed")
		for _, f := range c.faults {
			f.SetDown(false)
		}
		require.NoError(t, l.Extend(context.Background()), "the keys were still there")
		require.NoError(t, l.Unlock(context.Background()))
	})

	t.Run("a majority answering not-owner: lost", func(t *testing.T) {
		c := newCluster(t, 5)
		client := c.client(t)
		l, err := client.TryLock(context.Background(), "ext-taken")
		require.NoError(t, err)
		require.NoError(t, client.Close())
		for _, i := range []int{0, 1, 2} {
			c.servers[i].Set("ext-taken", "another-owner")
		}
		err = l.Extend(context.Background())
		require.ErrorIs(t, err, redlock.ErrLost)
		assert.ErrorContains(t, err, "3 of 5 nodes no longer hold its token")
		assert.Equal(t, []int{0, 1, 2}, c.holders("ext-taken", "another-owner"))
		require.ErrorIs(t, l.Unlock(context.Background()), redlock.ErrNotHeld)
	})

	t.Run("interrupted by ctx: not lost", func(t *testing.T) {
		c := newCluster(t, 3)
		client := c.client(t)
		l, err := client.TryLock(context.Background(), "ext-ctx")
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err = l.Extend(ctx)
		require.ErrorIs(t, err, context.Canceled)
		assert.NotErrorIs(t, err, redlock.ErrLost)
		require.NoError(t, l.Extend(context.Background()))
		require.NoError(t, l.Unlock(context.Background()))
		require.ErrorIs(t, l.Extend(context.Background()), redlock.ErrNotHeld, "extend after unlock")
	})
}

func TestLock_Unlock(t *testing.T) {
	t.Run("expired lock reports not held", func(t *testing.T) {
		c := newCluster(t, 5)
		client := c.client(t, redlock.WithTTL(time.Second))
		l, err := client.TryLock(context.Background(), "unl")
		require.NoError(t, err)
		require.NoError(t, client.Close())
		c.fastForward(time.Second)
		err = l.Unlock(context.Background())
		require.ErrorIs(t, err, redlock.ErrNotHeld)
		var ne *redlock.NodeError
		require.ErrorAs(t, err, &ne)
	})

	t.Run("twice reports not held", func(t *testing.T) {
		c := newCluster(t, 3)
		client := c.client(t)
		l, err := client.TryLock(context.Background(), "twice")
		require.NoError(t, err)
		require.NoError(t, l.Unlock(context.Background()))
		require.ErrorIs(t, l.Unlock(context.Background()), redlock.ErrNotHeld)
	})

	t.Run("held by a bare quorum still unlocks", func(t *testing.T) {
		c := newCluster(t, 5)
		client := c.client(t)
		l, err := client.TryLock(context.Background(), "bare")
		require.NoError(t, err)
		require.NoError(t, client.Close())
		c.servers[0].Del("bare")
		c.servers[1].Del("bare")
		require.NoError(t, l.Unlock(context.Background()))
		require.NoError(t, client.Close())
		assert.Empty(t, c.keys("bare"))
	})
}

func TestClient_Lock_retry(t *testing.T) {
	t.Run("waits for release", func(t *testing.T) {
		c := newCluster(t, 5)
		fake := clock.NewFake(time.Unix(0, 0))
		client := c.client(t, redlock.WithClock(fake), redlock.WithRetryDelay(10*time.Millisecond, 20*time.Millisecond))
		a, err := client.TryLock(context.Background(), "retry")
		require.NoError(t, err)
		got := make(chan error, 1)
		go func() {
			b, err := client.Lock(context.Background(), "retry")
			if err == nil {
				err = b.Unlock(context.Background())
			}
			got <- err
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, fake.BlockUntil(ctx, 1), "Lock waits on its timer")
		require.NoError(t, a.Unlock(context.Background()))
		// The release wakes the waiter: no time passes on the fake clock.
		select {
		case err := <-got:
			require.NoError(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("Lock was not woken by the release within 10s")
		}
	})

	t.Run("context cancellation stops the retry loop", func(t *testing.T) {
		c := newCluster(t, 5)
		fake := clock.NewFake(time.Unix(0, 0))
		client := c.client(t, redlock.WithClock(fake))
		a, err := client.TryLock(context.Background(), "cancel")
		require.NoError(t, err)
		ctx, cancel := context.WithCancelCause(context.Background())
		got := make(chan error, 1)
		go func() {
			_, err := client.Lock(ctx, "cancel")
			got <- err
		}()
		wait, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		require.NoError(t, fake.BlockUntil(wait, 1))
		require.NoError(t, client.Close()) // the failed attempt's stragglers
		before := c.faults[0].Ran(testcluster.OpAcquire)
		cause := errors.New("shutting down")
		cancel(cause) // the fake clock never fires the retry timer: only this ends Lock
		err = <-got
		require.ErrorIs(t, err, redlock.ErrNotObtained)
		require.ErrorIs(t, err, cause)
		assert.ErrorContains(t, err, "held by another owner", "the last attempt's causes are kept")
		assert.Equal(t, before, c.faults[0].Ran(testcluster.OpAcquire), "no attempt after cancellation")
		assert.Equal(t, 0, fake.Waiters(), "retry timer stopped")
		require.NoError(t, a.Unlock(context.Background()))
	})

	t.Run("retry limit", func(t *testing.T) {
		c := newCluster(t, 3)
		client := c.client(t, redlock.WithRetryDelay(time.Millisecond, time.Millisecond))
		a, err := client.TryLock(context.Background(), "limit")
		require.NoError(t, err)
		require.NoError(t, client.Close())
		before := c.faults[0].Ran(testcluster.OpAcquire)
		_, err = client.Lock(context.Background(), "limit", redlock.WithRetryLimit(2))
		require.ErrorIs(t, err, redlock.ErrNotObtained)
		assert.ErrorContains(t, err, "after 3 attempts")
		assert.Equal(t, before+3, c.faults[0].Ran(testcluster.OpAcquire))
		require.NoError(t, a.Unlock(context.Background()))
	})

	t.Run("deadline ends Lock with the deadline error", func(t *testing.T) {
		c := newCluster(t, 3)
		client := c.client(t, redlock.WithRetryDelay(time.Millisecond, 2*time.Millisecond))
		a, err := client.TryLock(context.Background(), "deadline")
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		_, err = client.Lock(ctx, "deadline")
		require.ErrorIs(t, err, redlock.ErrNotObtained)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.NoError(t, a.Unlock(context.Background()))
	})
}

// TestClient_Lock_contention has 20 goroutines take one lock 5 times each,
// counting holders inside the critical section: there must never be two.
func TestClient_Lock_contention(t *testing.T) {
	c := newCluster(t, 5)
	// A generous node timeout: this test is about mutual exclusion, and under
	// the race detector on a loaded machine 50ms round-trips do time out.
	client := c.client(t, redlock.WithRetryDelay(5*time.Millisecond, 20*time.Millisecond),
		redlock.WithNodeTimeout(2*time.Second), redlock.WithTTL(20*time.Second))
	const workers, each = 10, 5
	var holders, maxHolders, grants atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				l, err := client.Lock(ctx, "contended")
				cancel()
				if err != nil {
					errs <- err
					return
				}
				n := holders.Add(1)
				for {
					m := maxHolders.Load()
					if n <= m || maxHolders.CompareAndSwap(m, n) {
						break
					}
				}
				grants.Add(1)
				time.Sleep(100 * time.Microsecond) // widen the window for a second holder
				holders.Add(-1)
				if err := l.Unlock(context.Background()); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	assert.Equal(t, int32(workers*each), grants.Load(), "grants")
	assert.Equal(t, int32(1), maxHolders.Load(), "never two holders at once")
}
