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

func TestFaults_killed(t *testing.T) {
	needCluster(t)
	ctx := context.Background()

	t.Run("two nodes killed: acquired, extended, released", func(t *testing.T) {
		f := dockerFaults(t)
		name := lockName(t)
		down := []int{1, 3}
		live := except(down...)
		f.kill(down...)

		client := newClient(t, nil, redlock.WithTTL(5*time.Second))
		l, err := client.TryLock(ctx, name)
		require.NoError(t, err)
		require.NoError(t, client.Close())
		assert.Equal(t, live, holders(t, name, l.Token(), live...), "held on the live nodes")

		before := expiries(t, name, live...)
		time.Sleep(20 * time.Millisecond) // so that a new expiry differs from the SET's
		require.NoError(t, l.Extend(ctx))
		require.NoError(t, client.Close())
		after := expiries(t, name, live...)
		for j, i := range live {
			assert.Greater(t, after[j], before[j], "node %d: Extend moved the key's expiry (Unix ms)", i)
		}

		require.NoError(t, l.Unlock(ctx))
		require.NoError(t, client.Close())
		assert.Empty(t, present(t, name, live...), "released on the live nodes")

		f.start(down...)
		assert.Empty(t, present(t, name), "and absent from the restarted ones")
	})

	t.Run("three nodes killed: not obtained, nothing left behind", func(t *testing.T) {
		f := dockerFaults(t)
		name := lockName(t)
		down := []int{0, 2, 4}
		live := except(down...)
		f.kill(down...)
		// A refused connection is a definite answer: with a quorum refused,
		// TryLock must not wait for the node timeout, made long here so that
		// waiting for it would show on any machine.
		const nodeTimeout = 5 * time.Second
		client := newClient(t, nil, redlock.WithTTL(20*time.Second), redlock.WithNodeTimeout(nodeTimeout))

		start := time.Now()
		_, err := client.TryLock(ctx, name)
		took := time.Since(start)
		t.Logf("TryLock failed in %v: %v", took, err)
		require.ErrorIs(t, err, redlock.ErrNotObtained)
		var ne *redlock.NodeError
		require.ErrorAs(t, err, &ne)
		assert.Contains(t, []string{hostOf(nodeURLs[0]), hostOf(nodeURLs[2]), hostOf(nodeURLs[4])}, ne.Addr,
			"the causes name a killed node")
		assert.Less(t, took, nodeTimeout, "TryLock gave up without waiting for the node timeout")

		// Lock retries until its context ends, then returns; 30s after its
		// end would mean it did not stop.
		const wait, stopBound = 500 * time.Millisecond, 30 * time.Second
		lctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		start = time.Now()
		_, err = client.Lock(lctx, name, redlock.WithRetryDelay(20*time.Millisecond, 50*time.Millisecond))
		took = time.Since(start)
		t.Logf("Lock with a %v context failed in %v", wait, took)
		require.ErrorIs(t, err, redlock.ErrNotObtained)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.GreaterOrEqual(t, took, wait, "Lock retried until its context ended")
		assert.Less(t, took, wait+stopBound, "and then returned")

		require.NoError(t, client.Close())
		assert.Empty(t, present(t, name, live...), "nothing left on the live nodes")
	})
}

// TestFaults_paused freezes one node: it accepts connections but answers
// nothing until it resumes, and then runs what was queued.
func TestFaults_paused(t *testing.T) {
	f := dockerFaults(t)
	const (
		ttl = 5 * time.Second
		// Waiting for the frozen node would cost each operation the whole
		// node timeout: made long, so that the median of an operation that
		// does not wait stays far below it on any machine.
		nodeTimeout = 2 * time.Second
		bound       = nodeTimeout / 2
		frozen      = 2
	)
	base := lockName(t)
	client := newClient(t, nil, redlock.WithTTL(ttl), redlock.WithNodeTimeout(nodeTimeout))

	cycleNames(t, base+":healthy")
	healthy := measure(t, client, base+":healthy")
	t.Logf("healthy: %v", healthy)

	names := cycleNames(t, base+":paused")
	f.pause(frozen)
	paused := measure(t, client, base+":paused")
	t.Logf("node %d paused: %v (node timeout %v)", frozen, paused, nodeTimeout)
	for op, d := range paused.ops() {
		assert.Less(t, d, bound, "%s with node %d frozen: median %v of %d, healthy %v; waiting for it would cost %v",
			op, frozen, d, iterations, healthy.ops()[op], nodeTimeout)
	}

	require.NoError(t, client.Close()) // the frozen node's calls time out
	for _, i := range except(frozen) {
		assert.Zero(t, existing(t, i, names...), "node %d: keys not released when Close returned", i)
	}

	f.unpause(frozen)
	resumed := time.Now()
	left := func() (nodes, keys int) {
		for _, i := range allNodes() {
			if n := existing(t, i, names...); n > 0 {
				nodes, keys = nodes+1, keys+n
			}
		}
		return nodes, keys
	}
	// The resumed node runs the commands queued while it was frozen, in no
	// particular order across connections: a SET may land after its
	// release, so the last keys go by their ttl.
	if eventually(t, ttl+time.Minute, "the keys to leave every node after the frozen one resumed", func() bool {
		_, keys := left()
		return keys == 0
	}) {
		t.Logf("every key was gone %v after the node resumed", time.Since(resumed).Round(time.Millisecond))
	} else {
		nodes, keys := left()
		t.Errorf("%d keys left on %d nodes", keys, nodes)
	}
}

// TestFaults_restart kills a node holding the lock and starts it again: with
// appendonly yes and appendfsync always the key survives, with its expiry.
func TestFaults_restart(t *testing.T) {
	f := dockerFaults(t)
	ctx := context.Background()
	const (
		ttl       = 2 * time.Minute // longer than any restart
		restarted = 0
	)
	name := lockName(t)
	// The nodes keep their keys (appendfsync always), which this test is
	// about: no quarantine, which would have to cover the 2-minute ttl.
	client := newClient(t, nil, redlock.WithTTL(ttl), redlock.WithQuarantine(0))
	l, err := client.Lock(ctx, name)
	require.NoError(t, err)
	require.NoError(t, client.Close())
	require.Equal(t, allNodes(), holders(t, name, l.Token()))
	before := expiries(t, name, restarted)[0]

	f.kill(restarted)
	f.start(restarted)
	v, ok := keyOn(t, restarted, name)
	require.True(t, ok, "the key survived the restart")
	assert.Equal(t, l.Token(), v, "with the holder's token")
	assert.Equal(t, before, expiries(t, name, restarted)[0], "and its absolute expiry (Unix ms)")

	require.NoError(t, l.Unlock(ctx))
	require.NoError(t, client.Close())
	// The client's pooled connections to the restarted node died with it:
	// the release is sent again on a fresh one.
	assert.Empty(t, present(t, name), "released on every node, the restarted one too")
}
