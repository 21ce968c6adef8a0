//go:build integration

package integration

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/redlock"
)

func TestLock_healthy(t *testing.T) {
	needCluster(t)
	ctx := context.Background()
	name := lockName(t)
	const ttl = 5 * time.Second
	client := newClient(t, nil, redlock.WithTTL(ttl))

	l, err := client.Lock(ctx, name)
	require.NoError(t, err)
	assert.Equal(t, name, l.Key())
	assert.Equal(t, name, l.Name())
	assert.True(t, time.Until(l.Until()) > ttl-time.Second, "validity %v of a %v ttl", time.Until(l.Until()), ttl)
	require.NoError(t, client.Close()) // let the last nodes answer
	assert.Equal(t, allNodes(), holders(t, name, l.Token()), "the key holds the token on every node")

	t.Run("another client cannot take it", func(t *testing.T) {
		other := newClient(t, nil, redlock.WithTTL(ttl))
		_, err := other.TryLock(ctx, name)
		require.ErrorIs(t, err, redlock.ErrNotObtained)
		require.NoError(t, other.Close())
		assert.Equal(t, allNodes(), holders(t, name, l.Token()), "the holder's key is intact")
	})

	time.Sleep(300 * time.Millisecond) // so that the extension shows in PTTL
	before := l.Until()
	require.NoError(t, l.Extend(ctx))
	assert.True(t, l.Until().After(before), "Until moved forward")
	require.NoError(t, client.Close())
	for _, i := range allNodes() {
		pttl := pttlOn(t, i, name)
		assert.True(t, pttl > ttl-200*time.Millisecond && pttl <= ttl, "node %d: PTTL %v after Extend", i, pttl)
	}

	require.NoError(t, l.Unlock(ctx))
	require.NoError(t, client.Close())
	assert.Empty(t, present(t, name), "the key is gone from every node")
	require.ErrorIs(t, l.Extend(ctx), redlock.ErrNotHeld, "Extend after Unlock")
	require.ErrorIs(t, l.Unlock(ctx), redlock.ErrNotHeld, "a second Unlock")
}

func TestLock_expiry(t *testing.T) {
	needCluster(t)
	ctx := context.Background()

	t.Run("an unextended lock expires and another client takes it", func(t *testing.T) {
		name := lockName(t)
		const ttl = 800 * time.Millisecond
		first := newClient(t, nil, redlock.WithTTL(ttl))
		second := newClient(t, nil, redlock.WithTTL(10*time.Second))

		l1, err := first.TryLock(ctx, name)
		require.NoError(t, err)
		_, err = second.TryLock(ctx, name)
		require.ErrorIs(t, err, redlock.ErrNotObtained, "taken while the first holds it")

		time.Sleep(time.Until(l1.Until()) + 200*time.Millisecond) // well past the ttl on every node
		l2, err := second.TryLock(ctx, name)
		require.NoError(t, err, "the expired lock can be taken")
		require.NoError(t, second.Close())
		require.Equal(t, allNodes(), holders(t, name, l2.Token()))

		err = l1.Extend(ctx)
		require.ErrorIs(t, err, redlock.ErrLost, "Extend after expiry")
		require.ErrorIs(t, l1.Extend(ctx), redlock.ErrLost, "a lost lock stays lost")
		require.ErrorIs(t, l1.Unlock(ctx), redlock.ErrNotHeld, "Unlock after expiry")
		require.NoError(t, first.Close())

		assert.Equal(t, allNodes(), holders(t, name, l2.Token()), "the new owner's key is intact")
		for _, i := range allNodes() {
			pttl := pttlOn(t, i, name)
			assert.True(t, pttl > 8*time.Second && pttl <= 10*time.Second, "node %d: the new owner's PTTL %v", i, pttl)
		}
		require.NoError(t, l2.Unlock(ctx))
	})

	t.Run("an owner whose key was taken cannot extend or unlock", func(t *testing.T) {
		// The holder's validity has not lapsed, so only the nodes can tell
		// it that its token is gone: a majority now hold another owner's.
		name := lockName(t)
		client := newClient(t, nil, redlock.WithTTL(10*time.Second))
		l, err := client.TryLock(ctx, name)
		require.NoError(t, err)
		require.NoError(t, client.Close())
		const foreign = "another-owner's-token"
		taken := []int{0, 2, 4}
		for _, i := range taken {
			_, err := doNode(ctx, i, "SET", name, foreign, "PX", 10000)
			require.NoError(t, err)
		}

		require.ErrorIs(t, l.Extend(ctx), redlock.ErrLost)
		require.NoError(t, client.Close())
		assert.Equal(t, taken, holders(t, name, foreign), "the other owner's keys are intact")
		for _, i := range taken {
			assert.True(t, pttlOn(t, i, name) > 9*time.Second, "node %d: Extend did not touch the other owner's ttl", i)
		}

		require.ErrorIs(t, l.Unlock(ctx), redlock.ErrNotHeld)
		require.NoError(t, client.Close())
		assert.Equal(t, taken, holders(t, name, foreign), "Unlock kept the other owner's keys")
		assert.Equal(t, taken, present(t, name), "and deleted its own where it still held them")
	})
}

// TestLock_contention has many clients increment a counter under one lock
// with a read, a sleep and a write: a lost update or two overlapping holds
// would show.
func TestLock_contention(t *testing.T) {
	needCluster(t)
	const (
		workers  = 20
		rounds   = 50
		budget   = 4 * time.Minute // for the whole test
		lockWait = time.Minute     // for one acquisition
		ttl      = 2 * time.Second // far longer than a hold; a key a failed release left expires soon
		// Generous against a loaded machine: a timed-out release leaves a
		// key that holds the others up until it expires.
		nodeTimeout = 250 * time.Millisecond
	)
	name := lockName(t)
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()

	type window struct {
		start, end time.Time
		worker     int
	}
	var (
		// Guarded by the lock alone. It is read and written with separate
		// atomic operations: a read-sleep-write that the race detector
		// accepts (Redis gives it no happens-before edges) and that still
		// loses updates if two holders overlap.
		counter atomic.Int64
		mu      sync.Mutex
		windows []window
		errs    []error // failures to acquire, and holds that outlived their validity
		unlocks []error // Unlock errors: a timeout on a loaded machine, for instance
	)
	report := func(list *[]error, err error) {
		mu.Lock()
		defer mu.Unlock()
		*list = append(*list, err)
	}

	clients := make([]*redlock.Client, workers)
	for w := range clients {
		// Each worker is an independent client with its own connections.
		clients[w] = newClient(t, nil, redlock.WithTTL(ttl), redlock.WithNodeTimeout(nodeTimeout),
			redlock.WithRetryDelay(time.Millisecond, 5*time.Millisecond))
	}
	began := time.Now()
	var wg sync.WaitGroup
	for w, client := range clients {
		wg.Go(func() {
			for r := range rounds {
				lctx, lcancel := context.WithTimeout(ctx, lockWait)
				l, err := client.Lock(lctx, name)
				lcancel()
				if err != nil {
					report(&errs, fmt.Errorf("worker %d, round %d: %w", w, r, err))
					return
				}
				start := time.Now()
				v := counter.Load()
				time.Sleep(200 * time.Microsecond)
				counter.Store(v + 1)
				end := time.Now()
				if !end.Before(l.Until()) {
					report(&errs, fmt.Errorf("worker %d, round %d: the hold outlived its validity by %v", w, r, end.Sub(l.Until())))
				}
				mu.Lock()
				windows = append(windows, window{start, end, w})
				mu.Unlock()
				if err := l.Unlock(context.Background()); err != nil {
					report(&unlocks, fmt.Errorf("worker %d, round %d: %w", w, r, err))
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(began)
	t.Logf("%d workers x %d acquisitions took %v (%v per acquisition)", workers, rounds, took, took/(workers*rounds))

	// Unlock errors are not what this test is about: each hold ended
	// within its validity (checked above), so they cannot break exclusion,
	// and a key a failed release left behind expires by its ttl.
	for _, err := range unlocks {
		t.Logf("unlock failed: %v", err)
	}
	t.Logf("%d of %d unlocks failed", len(unlocks), workers*rounds)
	assert.Empty(t, errs)
	assert.Equal(t, int64(len(windows)), counter.Load(), "every increment survived")
	assert.Len(t, windows, workers*rounds, "every acquisition succeeded")
	slices.SortFunc(windows, func(a, b window) int { return a.start.Compare(b.start) })
	overlaps := 0
	for i := 1; i < len(windows); i++ {
		if prev, cur := windows[i-1], windows[i]; cur.start.Before(prev.end) {
			overlaps++
			t.Errorf("worker %d held from %v while worker %d held until %v",
				cur.worker, cur.start.Sub(began), prev.worker, prev.end.Sub(began))
		}
	}
	assert.Zero(t, overlaps, "overlapping hold windows")
	for _, c := range clients {
		require.NoError(t, c.Close())
	}
	assert.True(t, waitFor(ttl+time.Second, func() bool { return len(present(t, name)) == 0 }),
		"nothing left behind: the key is on nodes %v", present(t, name))
}
