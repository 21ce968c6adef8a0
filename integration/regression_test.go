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

// Node 4 is 30ms slow, node 2 is cut off. Lock returns on nodes 0, 1, 3;
// Unlock must still release node 4 once its SET has answered. The node
// timeout leaves node 4 ample time to answer on a busy machine.
func TestNetwork_unlockReleasesLateNode(t *testing.T) {
	nw := newNetwork(t)
	ctx := context.Background()
	name := lockName(t)
	client := newClient(t, nw.urls, redlock.WithTTL(10*time.Second), redlock.WithNodeTimeout(2*time.Second))
	nw.toxic(4, "slow-requests", "latency", "upstream", `{"latency":30}`)
	nw.cut(2)
	l, err := client.TryLock(ctx, name)
	require.NoError(t, err)
	t.Logf("after lock: %v", present(t, name, 0, 1, 3, 4))
	start := time.Now()
	t.Logf("extend: %v", l.Extend(ctx))
	t.Logf("unlock: %v", l.Unlock(ctx))
	t.Logf("after unlock %v: %v", time.Since(start), present(t, name, 0, 1, 3, 4))
	require.NoError(t, client.Close())
	t.Logf("after close %v", time.Since(start))
	assert.Empty(t, present(t, name, 0, 1, 3, 4), "released on every reachable node; node 4 PTTL %v", pttlOn(t, 4, name))
}

// Three nodes unreachable while the lock is valid: the outcome of Unlock is
// unknown, as Extend reports in that case, not ErrNotHeld.
func TestNetwork_unlockUnreachableIsUnknown(t *testing.T) {
	nw := newNetwork(t)
	ctx := context.Background()
	name := lockName(t)
	client := newClient(t, nw.urls, redlock.WithTTL(10*time.Second), redlock.WithNodeTimeout(500*time.Millisecond))
	l, err := client.Lock(ctx, name)
	require.NoError(t, err)
	require.NoError(t, client.Close())
	nw.cut(2, 3, 4)
	require.True(t, time.Now().Before(l.Until()), "the lock is valid")
	err = l.Extend(ctx)
	require.Error(t, err)
	assert.NotErrorIs(t, err, redlock.ErrLost, "Extend: outcome unknown")
	t.Logf("extend: %v", err)
	err = l.Unlock(ctx)
	t.Logf("unlock: %v", err)
	require.Error(t, err)
	assert.NotErrorIs(t, err, redlock.ErrNotHeld, "Unlock: outcome unknown, yet: %v", err)
}

// A node restarts (durably) while the lock is held; Unlock must release it
// there too.
func TestFaults_unlockAfterRestart(t *testing.T) {
	f := dockerFaults(t)
	ctx := context.Background()
	name := lockName(t)
	client := newClient(t, nil, redlock.WithTTL(30*time.Second))
	l, err := client.Lock(ctx, name)
	require.NoError(t, err)
	require.NoError(t, client.Close())
	f.kill(0)
	f.start(0)
	require.NoError(t, l.Unlock(ctx))
	require.NoError(t, client.Close())
	assert.Empty(t, present(t, name), "released on every node; node 0 PTTL %v", pttlOn(t, 0, name))
}
