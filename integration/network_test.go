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

// TestNetwork_slowNode delays one node's replies by a second: the client
// returns on a majority, so it should not pay for them. The delay is far
// larger than anything a busy machine adds, so that a client that waited
// for the slow node could not hide among the noise.
func TestNetwork_slowNode(t *testing.T) {
	nw := newNetwork(t)
	const (
		latency = 1000 // milliseconds
		slow    = 4
		// The slow node's replies arrive, late, within the node timeout.
		nodeTimeout = 3 * time.Second
		// A client that waited for the slow node would take the full
		// latency; one that did not takes what the healthy nodes take.
		bound = latency * time.Millisecond / 2
	)
	base := lockName(t)
	client := newClient(t, nw.urls, redlock.WithTTL(10*time.Second), redlock.WithNodeTimeout(nodeTimeout))

	cycleNames(t, base+":healthy")
	healthy := measure(t, client, base+":healthy")
	t.Logf("healthy, through the proxies: %v", healthy)

	cycleNames(t, base+":slow")
	nw.slow(latency, slow)
	slowed := measure(t, client, base+":slow")
	t.Logf("node %d %dms slower: %v", slow, latency, slowed)
	for op, d := range slowed.ops() {
		assert.Less(t, d, bound, "%s with node %d %dms slower: median %v of %d, healthy %v",
			op, slow, latency, d, iterations, healthy.ops()[op])
	}
	require.NoError(t, client.Close())
}

// TestNetwork_partition cuts one node off while the lock is held, for longer
// than the ttl, then heals the link.
func TestNetwork_partition(t *testing.T) {
	nw := newNetwork(t)
	ctx := context.Background()
	const (
		ttl = 4 * time.Second
		// Waiting for the cut node would cost an extension the whole node
		// timeout: made long, so that one that does not wait stays far
		// below it on any machine.
		nodeTimeout = 1500 * time.Millisecond
		cut         = 1
	)
	name := lockName(t)
	client := newClient(t, nw.urls, redlock.WithTTL(ttl), redlock.WithNodeTimeout(nodeTimeout))
	l, err := client.Lock(ctx, name)
	require.NoError(t, err)
	require.NoError(t, client.Close())
	require.Equal(t, allNodes(), holders(t, name, l.Token()))
	locked := time.Now() // every node's SET ran before this

	nw.cut(cut)
	// Extend every third of the ttl until the cut node's key has surely
	// expired: the lock lives on the majority alone.
	n := 0
	for ; time.Since(locked) < ttl+500*time.Millisecond; n++ {
		time.Sleep(ttl / 3)
		start := time.Now()
		require.NoError(t, l.Extend(ctx), "extension %d during the partition", n)
		took := time.Since(start)
		assert.Less(t, took, nodeTimeout, "extension %d waited for the cut node", n)
	}
	t.Logf("%d extensions during the partition", n)
	require.NoError(t, client.Close())
	assert.Equal(t, except(cut), holders(t, name, l.Token()), "held on the majority; expired on the cut node")

	nw.heal(cut)
	require.NoError(t, l.Extend(ctx), "extension after healing")
	require.NoError(t, client.Close()) // Extend sets the key again where it was gone, in the background
	status, err := client.Status(ctx, name)
	require.NoError(t, err)
	assert.NoError(t, status.Nodes[cut].Err, "the healed node answers again")
	assert.True(t, status.Nodes[cut].Held, "the extension gave the healed node the key again")
	assert.Equal(t, l.Fingerprint(), status.Nodes[cut].Owner)
	assert.Equal(t, redlock.VerdictHeld, status.Verdict)
	assert.Equal(t, l.Fingerprint(), status.Owner)

	require.NoError(t, l.Unlock(ctx))
	require.NoError(t, client.Close())
	assert.Empty(t, present(t, name))
}

// TestNetwork_resets makes nodes reset every connection: a definite, fast
// failure, unlike a partition.
func TestNetwork_resets(t *testing.T) {
	needCluster(t)
	ctx := context.Background()
	// Long, so that returning without waiting for it shows on any machine.
	const nodeTimeout, ttl = 5 * time.Second, 10 * time.Second

	t.Run("two nodes resetting: acquired, extended, released", func(t *testing.T) {
		nw := newNetwork(t)
		name := lockName(t)
		bad := []int{0, 3}
		live := except(bad...)
		client := newClient(t, nw.urls, redlock.WithTTL(ttl), redlock.WithNodeTimeout(nodeTimeout))
		nw.reset(bad...)

		l, err := client.TryLock(ctx, name)
		require.NoError(t, err)
		require.NoError(t, client.Close())
		assert.Equal(t, live, holders(t, name, l.Token()), "held on the others; nothing reached the resetting nodes")
		require.NoError(t, l.Extend(ctx))
		require.NoError(t, l.Unlock(ctx))
		require.NoError(t, client.Close())
		assert.Empty(t, present(t, name))

		nw.heal(bad...)
		l, err = client.TryLock(ctx, name)
		require.NoError(t, err, "after healing")
		require.NoError(t, client.Close())
		assert.Equal(t, allNodes(), holders(t, name, l.Token()), "the healed nodes take part again")
		require.NoError(t, l.Unlock(ctx))
	})

	t.Run("three nodes resetting: not obtained at once, nothing left behind", func(t *testing.T) {
		nw := newNetwork(t)
		name := lockName(t)
		bad := []int{1, 2, 4}
		client := newClient(t, nw.urls, redlock.WithTTL(ttl), redlock.WithNodeTimeout(nodeTimeout))
		nw.reset(bad...)

		start := time.Now()
		_, err := client.TryLock(ctx, name)
		took := time.Since(start)
		t.Logf("TryLock failed in %v: %v", took, err)
		require.ErrorIs(t, err, redlock.ErrNotObtained)
		assert.Less(t, took, nodeTimeout, "resets are definite failures: no waiting for the node timeout")
		require.NoError(t, client.Close())
		assert.Empty(t, present(t, name), "released on the two nodes that granted it")
	})
}
