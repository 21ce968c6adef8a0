//go:build integration

package integration

import (
	"context"
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

	began := time.Now()
	l, err := client.Lock(ctx, name)
	require.NoError(t, err)
	assert.Equal(t, name, l.Key())
	assert.Equal(t, name, l.Name())
	// Validity counts from the start of the attempt, which is no earlier
	// than began, less the drift: never more than the ttl from began.
	assert.False(t, l.Until().After(began.Add(ttl)), "Until is %v after Lock was called, more than the ttl %v",
		l.Until().Sub(began), ttl)
	require.NoError(t, client.Close()) // let the last nodes answer
	assert.Equal(t, allNodes(), holders(t, name, l.Token()), "the key holds the token on every node")

	t.Run("another client cannot take it", func(t *testing.T) {
		other := newClient(t, nil, redlock.WithTTL(ttl))
		_, err := other.TryLock(ctx, name)
		require.ErrorIs(t, err, redlock.ErrNotObtained)
		require.NoError(t, other.Close())
		assert.Equal(t, allNodes(), holders(t, name, l.Token()), "the holder's key is intact")
	})

	before, untilBefore := expiries(t, name), l.Until()
	time.Sleep(20 * time.Millisecond) // so that a new expiry differs from the SET's on every node
	require.NoError(t, l.Extend(ctx))
	assert.True(t, l.Until().After(untilBefore), "Until moved forward")
	require.NoError(t, client.Close())
	after := expiries(t, name)
	for _, i := range allNodes() {
		assert.Greater(t, after[i], before[i], "node %d: Extend moved the key's expiry (Unix ms)", i)
		pttl := pttlOn(t, i, name)
		assert.True(t, pttl > 0 && pttl <= ttl, "node %d: PTTL %v after Extend, ttl %v", i, pttl, ttl)
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
		needCluster(t)
		name := lockName(t)
		const ttl = 3 * time.Second
		first := newClient(t, nil, redlock.WithTTL(ttl))
		second := newClient(t, nil, redlock.WithTTL(10*time.Second))

		l1, err := first.TryLock(ctx, name)
		require.NoError(t, err)
		_, err = second.TryLock(ctx, name)
		require.ErrorIs(t, err, redlock.ErrNotObtained, "taken while the first holds it")

		// Nothing deletes the keys: they go when the ttl runs out.
		eventually(t, ttl+time.Minute, "the unextended keys to expire on every node", func() bool {
			return len(present(t, name)) == 0
		})
		l2, err := second.TryLock(ctx, name)
		require.NoError(t, err, "the expired lock can be taken")
		require.NoError(t, second.Close())
		require.Equal(t, allNodes(), holders(t, name, l2.Token()))
		owned := expiries(t, name)

		err = l1.Extend(ctx)
		require.ErrorIs(t, err, redlock.ErrLost, "Extend after expiry")
		require.ErrorIs(t, l1.Extend(ctx), redlock.ErrLost, "a lost lock stays lost")
		require.ErrorIs(t, l1.Unlock(ctx), redlock.ErrNotHeld, "Unlock after expiry")
		require.NoError(t, first.Close())

		assert.Equal(t, allNodes(), holders(t, name, l2.Token()), "the new owner's key is intact")
		assert.Equal(t, owned, expiries(t, name), "the new owner's expiries (Unix ms) are untouched")
		require.NoError(t, l2.Unlock(ctx))
	})

	t.Run("an owner whose key was taken cannot extend or unlock", func(t *testing.T) {
		needCluster(t)
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
			_, err := inspect(i, "SET", name, foreign, "PX", 60000)
			require.NoError(t, err)
		}
		theirs := expiries(t, name, taken...)

		require.ErrorIs(t, l.Extend(ctx), redlock.ErrLost)
		require.NoError(t, client.Close())
		assert.Equal(t, taken, holders(t, name, foreign), "the other owner's keys are intact")
		assert.Equal(t, theirs, expiries(t, name, taken...), "Extend left the other owner's expiries (Unix ms) alone")

		require.ErrorIs(t, l.Unlock(ctx), redlock.ErrNotHeld)
		require.NoError(t, client.Close())
		assert.Equal(t, taken, holders(t, name, foreign), "Unlock kept the other owner's keys")
		assert.Equal(t, taken, present(t, name), "and deleted its own where it still held them")
	})
}
