package redlock_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/clock"
	"github.com/quorumlock/quorumlock/internal/testcluster"
	"github.com/quorumlock/quorumlock/redlock"
)

// slowClock is a clock on which every round appears to take a second.
type slowClock struct{ clock.Clock }

func (slowClock) Since(time.Time) time.Duration { return time.Second }

func TestLock_Until(t *testing.T) {
	c := newCluster(t, 3)
	start := time.Unix(1000, 0)
	client := c.client(t, redlock.WithClock(slowClock{clock.NewFake(start)}), redlock.WithTTL(10*time.Second))
	l, err := client.TryLock(context.Background(), "until")
	require.NoError(t, err)
	// validity = 10s - 1s elapsed - 102ms drift, counted from the end of the
	// round (start + 1s): Until = start + ttl - drift.
	assert.Equal(t, start.Add(10*time.Second-102*time.Millisecond), l.Until())
	require.NoError(t, l.Unlock(context.Background()))
	assert.True(t, l.Until().IsZero(), "zero once unlocked")
}

func TestClient_Close_concurrent(t *testing.T) {
	c := newCluster(t, 5)
	client := c.client(t, redlock.WithRetryDelay(time.Millisecond, time.Millisecond))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 200; n++ {
				select {
				case <-stop:
					return
				default:
				}
				l, err := client.TryLock(context.Background(), "close-"+string(rune('a'+i)))
				if err == nil {
					_ = l.Unlock(context.Background())
				}
			}
		}()
	}
	for range 50 {
		assert.NoError(t, client.Close(), "Close while work starts neither panics nor races")
	}
	close(stop)
	wg.Wait()
	require.NoError(t, client.Close())
}

func TestLock_Extend_afterHoldDeclaredLost(t *testing.T) {
	c, fake, l := holdSetup(t, redlock.WithTTL(30*time.Second), redlock.WithNodeTimeout(20*time.Second))
	held, stop := l.Hold(context.Background())
	defer stop()
	waitTimers(t, fake, 2)
	var opens []func()
	for _, i := range []int{0, 1, 2} {
		opens = append(opens, c.faults[i].Block(testcluster.OpExtend))
	}
	openAll := func() {
		for _, open := range opens {
			open()
		}
	}
	defer openAll()
	extended := make(chan error, 1)
	go func() { extended <- l.Extend(context.Background()) }() // hangs on three nodes
	require.Eventually(t, func() bool { return c.faults[3].Calls(testcluster.OpExtend) > 0 }, 10*time.Second, time.Millisecond)
	fake.Advance(l.Until().Sub(fake.Now()) - 3*time.Second) // the hold's deadline
	<-held.Done()
	require.ErrorIs(t, context.Cause(held), redlock.ErrLost)
	openAll() // the user's Extend now gets its quorum, too late
	require.ErrorIs(t, <-extended, redlock.ErrLost, "a lost lock is not revived")
	assert.True(t, l.Until().IsZero())
}

func TestLock_Hold_startedLate(t *testing.T) {
	_, fake, l := holdSetup(t)
	fake.Advance(2 * time.Second) // of a 3s lock: the default 300ms margin leaves 668ms
	held, stop := l.Hold(context.Background())
	defer stop()
	waitTimers(t, fake, 2)
	before := l.Until()
	fake.Advance(400 * time.Millisecond) // renews halfway to its deadline, not at ttl/3
	require.Eventually(t, func() bool { return l.Until().After(before) }, 10*time.Second, time.Millisecond)
	assert.NoError(t, held.Err())
}

func TestClient_Do_oneLineErrors(t *testing.T) {
	c := newCluster(t, 5)
	fake := clock.NewFake(time.Unix(0, 0))
	client := c.client(t, redlock.WithClock(fake), redlock.WithTTL(3*time.Second))
	boom := errors.New("work failed")
	err := client.Do(context.Background(), "do-lines", func(ctx context.Context) error {
		waitTimers(t, fake, 2)
		require.NoError(t, client.Close())
		for _, s := range c.servers {
			s.Set("do-lines", "another-owner")
		}
		fake.Advance(maxRenew)
		<-ctx.Done()
		return boom
	})
	require.ErrorIs(t, err, boom)
	require.ErrorIs(t, err, redlock.ErrLost)
	require.ErrorIs(t, err, redlock.ErrNotHeld)
	assert.NotContains(t, err.Error(), "\n")
	assert.True(t, strings.HasPrefix(err.Error(), "work failed; redlock: lock lost"), err.Error())
}

func TestWithWait(t *testing.T) {
	c := newCluster(t, 3)
	client := c.client(t, redlock.WithRetryDelay(time.Millisecond, 2*time.Millisecond))
	a, err := client.TryLock(context.Background(), "wait")
	require.NoError(t, err)

	called := false
	err = client.Do(context.Background(), "wait", func(context.Context) error { called = true; return nil },
		redlock.WithWait(20*time.Millisecond))
	require.ErrorIs(t, err, redlock.ErrNotObtained)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.False(t, called)
	require.NoError(t, a.Unlock(context.Background()))

	// A wait long enough to acquire in on a busy machine, and work longer.
	err = client.Do(context.Background(), "wait", func(ctx context.Context) error {
		time.Sleep(2100 * time.Millisecond) // past the wait
		return ctx.Err()
	}, redlock.WithWait(2*time.Second))
	require.NoError(t, err, "the wait bounds the acquisition, not the work")

	_, err = client.Lock(context.Background(), "wait", redlock.WithWait(0))
	require.ErrorIs(t, err, redlock.ErrInvalidArgument)
}
