package redlock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/clock"
	"github.com/quorumlock/quorumlock/internal/testcluster"
	"github.com/quorumlock/quorumlock/redlock"
)

// holdSetup locks name on five in-process nodes driven by a fake clock.
func holdSetup(t *testing.T, opts ...redlock.ClientOption) (*cluster, *clock.Fake, *redlock.Lock) {
	t.Helper()
	c := newCluster(t, 5)
	fake := clock.NewFake(time.Unix(0, 0))
	opts = append([]redlock.ClientOption{redlock.WithClock(fake), redlock.WithTTL(3 * time.Second),
		redlock.WithRetryDelay(100*time.Millisecond, 100*time.Millisecond)}, opts...)
	client := c.client(t, opts...)
	l, err := client.TryLock(context.Background(), t.Name())
	require.NoError(t, err)
	require.NoError(t, client.Close())
	return c, fake, l
}

// waitTimers waits until the hold has armed n timers on the fake clock.
func waitTimers(t *testing.T, fake *clock.Fake, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, fake.BlockUntil(ctx, n))
}

// maxRenew is the longest a hold of a 3s lock waits before renewing: a third
// of the ttl plus a tenth of that.
const maxRenew = time.Second + 100*time.Millisecond

func TestLock_Hold(t *testing.T) {
	t.Run("renews about every third of the ttl", func(t *testing.T) {
		c, fake, l := holdSetup(t)
		held, stop := l.Hold(context.Background())
		defer stop()
		waitTimers(t, fake, 2) // the renewal and the lost deadline
		for range 5 {
			before := l.Until()
			fake.Advance(maxRenew)
			require.Eventually(t, func() bool { return l.Until().After(before) }, 10*time.Second, time.Millisecond)
			waitTimers(t, fake, 2)
			c.fastForward(maxRenew) // the nodes' clocks move too
		}
		assert.NoError(t, held.Err(), "5 renewals spanning 5.5s of a 3s ttl: still held")
		// The last renewal returned on a majority; the others follow.
		require.Eventually(t, func() bool {
			for _, s := range c.servers {
				if s.TTL(l.Key()) <= 1500*time.Millisecond {
					return false
				}
			}
			return true
		}, 10*time.Second, time.Millisecond, "the ttl was reset on every node")
		stop()
		assert.ErrorIs(t, context.Cause(held), context.Canceled, "stop cancels held")
		require.NoError(t, l.Unlock(context.Background()))
	})

	t.Run("a renewal that fails while validity remains is retried", func(t *testing.T) {
		c, fake, l := holdSetup(t)
		held, stop := l.Hold(context.Background())
		defer stop()
		waitTimers(t, fake, 2)
		for _, i := range []int{0, 2, 4} {
			c.faults[i].SetDown(true)
		}
		before := l.Until()
		fake.Advance(maxRenew) // renewal fails: 3 of 5 unreachable
		waitTimers(t, fake, 2) // the retry is armed
		assert.Equal(t, before, l.Until())
		assert.NoError(t, held.Err(), "unreachable nodes are not yet a loss")
		for _, f := range c.faults {
			f.SetDown(false)
		}
		fake.Advance(100 * time.Millisecond) // the retry delay
		require.Eventually(t, func() bool { return l.Until().After(before) }, 10*time.Second, time.Millisecond)
		assert.NoError(t, held.Err())
		stop()
		require.NoError(t, l.Unlock(context.Background()))
	})

	t.Run("no renewal before the margin: cancelled with ErrLost while a renewal hangs", func(t *testing.T) {
		c, fake, l := holdSetup(t, redlock.WithTTL(30*time.Second), redlock.WithNodeTimeout(20*time.Second))
		held, stop := l.Hold(context.Background())
		defer stop()
		waitTimers(t, fake, 2)
		var opens []func()
		for _, i := range []int{0, 1, 2} {
			opens = append(opens, c.faults[i].Block(testcluster.OpExtend))
		}
		defer func() {
			for _, open := range opens {
				open()
			}
		}()
		until := l.Until()
		fake.Advance(11 * time.Second) // a renewal starts and hangs on three nodes
		waitTimers(t, fake, 1)
		assert.NoError(t, held.Err())
		fake.Advance(until.Sub(fake.Now()) - 3*time.Second) // the margin is a tenth of the ttl
		select {
		case <-held.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("held not cancelled at the margin")
		}
		cause := context.Cause(held)
		require.ErrorIs(t, cause, redlock.ErrLost)
		assert.ErrorContains(t, cause, "not renewed within 3s of the end of its validity")
		assert.True(t, fake.Now().Before(until), "cancelled before validity ran out")
		require.ErrorIs(t, l.Extend(context.Background()), redlock.ErrLost, "lost for good")
	})

	t.Run("lost to another owner: cancelled at once", func(t *testing.T) {
		c, fake, l := holdSetup(t)
		held, stop := l.Hold(context.Background())
		defer stop()
		waitTimers(t, fake, 2)
		for _, i := range []int{0, 1, 2} {
			c.servers[i].Set(l.Key(), "another-owner")
		}
		fake.Advance(maxRenew)
		select {
		case <-held.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("held not cancelled")
		}
		require.ErrorIs(t, context.Cause(held), redlock.ErrLost)
		assert.ErrorContains(t, context.Cause(held), "no longer hold its token")
	})

	t.Run("parent cancellation ends the hold with its cause", func(t *testing.T) {
		_, fake, l := holdSetup(t)
		ctx, cancel := context.WithCancelCause(context.Background())
		held, stop := l.Hold(ctx)
		defer stop()
		waitTimers(t, fake, 2)
		cause := errors.New("shutting down")
		cancel(cause)
		<-held.Done()
		assert.ErrorIs(t, context.Cause(held), cause)
		stop()
		require.NoError(t, l.Unlock(context.Background()))
	})

	t.Run("Unlock stops the hold; holds after it are cancelled", func(t *testing.T) {
		_, fake, l := holdSetup(t)
		held, stop := l.Hold(context.Background())
		defer stop()
		waitTimers(t, fake, 2)
		require.NoError(t, l.Unlock(context.Background()))
		assert.ErrorIs(t, context.Cause(held), context.Canceled)
		assert.Equal(t, 0, fake.Waiters(), "the hold's timers are stopped")
		again, stop2 := l.Hold(context.Background())
		defer stop2()
		require.ErrorIs(t, context.Cause(again), redlock.ErrNotHeld)
	})

	t.Run("one hold at a time; a new one after stop", func(t *testing.T) {
		_, fake, l := holdSetup(t)
		_, stop := l.Hold(context.Background())
		waitTimers(t, fake, 2)
		second, stop2 := l.Hold(context.Background())
		require.ErrorIs(t, context.Cause(second), redlock.ErrInvalidArgument)
		stop2()
		stop()
		stop() // idempotent
		third, stop3 := l.Hold(context.Background())
		assert.NoError(t, third.Err())
		stop3()
		//lint:ignore SA1012 a nil context on purpose
		nilHeld, stop4 := l.Hold(nil)
		require.ErrorIs(t, context.Cause(nilHeld), redlock.ErrInvalidArgument)
		stop4()
		require.NoError(t, l.Unlock(context.Background()))
	})
}

func TestClient_Do(t *testing.T) {
	t.Run("runs fn under the lock and releases it", func(t *testing.T) {
		c := newCluster(t, 5)
		client := c.client(t)
		var during []int
		err := client.Do(context.Background(), "do", func(ctx context.Context) error {
			require.NoError(t, client.Close())
			during = c.keys("do")
			return ctx.Err()
		})
		require.NoError(t, err)
		require.NoError(t, client.Close())
		assert.Equal(t, []int{0, 1, 2, 3, 4}, during)
		assert.Empty(t, c.keys("do"))
	})

	t.Run("returns fn's error and releases", func(t *testing.T) {
		c := newCluster(t, 3)
		client := c.client(t)
		boom := errors.New("boom")
		err := client.Do(context.Background(), "do-err", func(context.Context) error { return boom })
		require.ErrorIs(t, err, boom)
		require.NoError(t, client.Close())
		assert.Empty(t, c.keys("do-err"))
	})

	t.Run("releases on panic and re-panics", func(t *testing.T) {
		c := newCluster(t, 3)
		client := c.client(t)
		assert.PanicsWithValue(t, "boom", func() {
			_ = client.Do(context.Background(), "do-panic", func(context.Context) error { panic("boom") })
		})
		require.NoError(t, client.Close())
		assert.Empty(t, c.keys("do-panic"))
	})

	t.Run("reports a lost lock even when fn succeeded", func(t *testing.T) {
		c := newCluster(t, 5)
		fake := clock.NewFake(time.Unix(0, 0))
		client := c.client(t, redlock.WithClock(fake), redlock.WithTTL(3*time.Second))
		err := client.Do(context.Background(), "do-lost", func(ctx context.Context) error {
			waitTimers(t, fake, 2)
			require.NoError(t, client.Close())
			for _, s := range c.servers {
				s.Set("do-lost", "another-owner")
			}
			fake.Advance(maxRenew)
			<-ctx.Done() // the work notices and stops
			return nil
		})
		require.ErrorIs(t, err, redlock.ErrLost)
		require.ErrorIs(t, err, redlock.ErrNotHeld, "Unlock found another owner")
		require.NoError(t, client.Close())
		assert.Equal(t, []int{0, 1, 2, 3, 4}, c.holders("do-lost", "another-owner"), "not deleted")
	})

	t.Run("not obtained: fn not called", func(t *testing.T) {
		c := newCluster(t, 3)
		client := c.client(t)
		l, err := client.TryLock(context.Background(), "do-busy")
		require.NoError(t, err)
		called := false
		err = client.Do(context.Background(), "do-busy", func(context.Context) error { called = true; return nil },
			redlock.WithRetryLimit(0))
		require.ErrorIs(t, err, redlock.ErrNotObtained)
		assert.False(t, called)
		require.ErrorIs(t, client.Do(context.Background(), "x", nil), redlock.ErrInvalidArgument)
		require.NoError(t, l.Unlock(context.Background()))
	})
}
