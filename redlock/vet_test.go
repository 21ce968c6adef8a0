package redlock_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/internal/testcluster"
	"github.com/quorumlock/quorumlock/redlock"
)

// findingsOf returns the risks found, by node index (-1 for the set).
func findingsOf(t *testing.T, c *redlock.Client, fs []redlock.Finding) map[int][]redlock.Risk {
	t.Helper()
	out := map[int][]redlock.Risk{}
	for _, f := range fs {
		i := -1
		for j, n := range c.Nodes() {
			if n.Addr() == f.Node {
				i = j
			}
		}
		out[i] = append(out[i], f.Risk)
		assert.NotContains(t, f.String(), "\n")
	}
	return out
}

func TestClient_Vet(t *testing.T) {
	t.Run("in-process nodes configured badly", func(t *testing.T) {
		tc := testcluster.New(t, testcluster.Options{Servers: 4})
		tc.Servers[0].SetInfo("maxmemory_policy", "volatile-lru")
		tc.Servers[1].SetInfo("role", "slave")
		tc.Servers[2].SetInfo("cluster_enabled", "1")
		tc.Servers[3].SetInfo("aof_enabled", "0")
		c, err := redlock.New(tc.Nodes, redlock.WithNodeTimeout(500*time.Millisecond))
		require.NoError(t, err)
		fs, err := c.Vet(context.Background())
		require.NoError(t, err)
		got := findingsOf(t, c, fs)
		assert.Equal(t, map[int][]redlock.Risk{
			0:  {redlock.RiskEviction},
			1:  {redlock.RiskReplica},
			2:  {redlock.RiskClusterMode},
			3:  {redlock.RiskNoPersistence},
			-1: {redlock.RiskEvenNodes},
		}, got)
		for _, f := range fs {
			want := f.Risk != redlock.RiskNoPersistence && f.Risk != redlock.RiskEvenNodes
			assert.Equal(t, want, f.Refused, "%s", f)
		}
		_, err = c.TryLock(context.Background(), "vetted")
		require.ErrorIs(t, err, redlock.ErrNotObtained, "three refused nodes of four leave no quorum")
		assert.ErrorContains(t, err, "refused (")
		require.NoError(t, c.Close()) // the failed attempt's undo

		accepting, err := redlock.New(tc.Nodes, redlock.WithNodeTimeout(500*time.Millisecond),
			redlock.WithAcceptRisks(redlock.RiskEviction, redlock.RiskReplica))
		require.NoError(t, err)
		l, err := accepting.TryLock(context.Background(), "vetted")
		require.NoError(t, err, "accepted risks count")
		require.NoError(t, l.Unlock(context.Background()))
		require.NoError(t, accepting.Close())
	})

	t.Run("a bad risk to accept", func(t *testing.T) {
		tc := testcluster.New(t, testcluster.Options{Servers: 3})
		_, err := redlock.New(tc.Nodes, redlock.WithAcceptRisks(redlock.Risk(99)))
		require.ErrorIs(t, err, redlock.ErrInvalidArgument)
	})
}

// TestClient_Vet_realServers vets redis-server processes configured in each
// way Redlock's assumptions can break.
func TestClient_Vet_realServers(t *testing.T) {
	sound := startRedis(t)
	_, port, _ := net.SplitHostPort(sound)
	primary := startRedis(t)
	_, primaryPort, _ := net.SplitHostPort(primary)
	addrs := []string{
		sound,
		"localhost:" + port, // the same server, spelled otherwise
		startRedis(t, "--maxmemory-policy", "volatile-lru"),
		startRedis(t, "--replicaof", "127.0.0.1", primaryPort),
		startRedis(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes-"+port+".conf"),
		startRedis(t, "--appendonly", "no"),
	}
	var nodes []*redlock.Node
	for _, a := range addrs {
		n, err := redlock.ParseURL("redis://" + a)
		require.NoError(t, err)
		t.Cleanup(func() { _ = n.Close() })
		nodes = append(nodes, n)
	}
	c, err := redlock.New(nodes, redlock.WithNodeTimeout(2*time.Second), redlock.WithQuarantine(0))
	require.NoError(t, err)
	defer c.Close()
	fs, err := c.Vet(context.Background())
	require.NoError(t, err)
	got := findingsOf(t, c, fs)
	want := map[int][]redlock.Risk{
		1:  {redlock.RiskDuplicate},
		2:  {redlock.RiskEviction},
		3:  {redlock.RiskReplica},
		4:  {redlock.RiskClusterMode},
		5:  {redlock.RiskNoPersistence},
		-1: {redlock.RiskEvenNodes},
	}
	assert.Equal(t, want, got)
	for _, f := range fs {
		if f.Risk == redlock.RiskNoPersistence {
			assert.True(t, f.Refused, "no persistence and no quarantine: refused")
		}
		assert.False(t, strings.Contains(f.Detail, "\n"))
	}
}

func TestClient_revetsNodesInUse(t *testing.T) {
	defer redlock.SetRevet(time.Millisecond)()
	tc := testcluster.New(t, testcluster.Options{Servers: 3})
	c, err := redlock.New(tc.Nodes, redlock.WithNodeTimeout(500*time.Millisecond))
	require.NoError(t, err)
	ctx := context.Background()
	l, err := c.TryLock(ctx, "revet")
	require.NoError(t, err)
	require.NoError(t, l.Unlock(ctx))
	for _, s := range tc.Servers {
		s.SetInfo("maxmemory_policy", "allkeys-lru") // CONFIG SET at run time
	}
	require.Eventually(t, func() bool {
		l, err := c.TryLock(ctx, "revet")
		if err == nil {
			_ = l.Unlock(ctx)
			return false
		}
		return strings.Contains(err.Error(), "refused (eviction")
	}, time.Minute, 10*time.Millisecond, "waiting for the nodes in use to be vetted again and refused")
	require.NoError(t, c.Close())
}
