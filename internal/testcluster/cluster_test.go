package testcluster_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/quorumlock/quorumlock/internal/testcluster"
	"github.com/quorumlock/quorumlock/redlock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// urlNodes returns a node made by ParseURL for each server of c, with
// suffix after the address, closed when the test ends.
func urlNodes(t *testing.T, c *testcluster.Cluster, suffix string) []*redlock.Node {
	t.Helper()
	var nodes []*redlock.Node
	for _, s := range c.Servers {
		n, err := redlock.ParseURL(s.URL() + suffix)
		require.NoError(t, err)
		t.Cleanup(func() { _ = n.Close() })
		nodes = append(nodes, n)
	}
	return nodes
}

// A client on the servers' URLs, as another process has, sees the INFO
// the fault layer gives: vetted, out of quarantine, and restarts counted.
func TestServer_infoOnTheWire(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{Servers: 3})
	client, err := redlock.New(urlNodes(t, c, ""))
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	ctx := context.Background()

	findings, err := client.Vet(ctx)
	require.NoError(t, err)
	assert.Empty(t, findings)
	lock, err := client.TryLock(ctx, "x")
	require.NoError(t, err, "an hour-old server is out of quarantine")
	require.NoError(t, lock.Unlock(ctx))

	c.Servers[0].SetInfo("maxmemory_policy", "allkeys-lru")
	require.NoError(t, c.Servers[1].Restart())
	findings, err = client.Vet(ctx)
	require.NoError(t, err)
	require.Len(t, findings, 1)
	assert.Equal(t, redlock.RiskEviction, findings[0].Risk)
	_, err = client.TryLock(ctx, "x")
	require.ErrorIs(t, err, redlock.ErrNotObtained, "node 1 refused, node 2 in quarantine")
}

// SELECT of database 16 fails as on a default Redis, which the library
// reports as an invalid argument.
func TestServer_selectOutOfRange(t *testing.T) {
	c := testcluster.New(t, testcluster.Options{Servers: 3})
	client, err := redlock.New(urlNodes(t, c, "/16"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	_, err = client.TryLock(context.Background(), "x")
	require.ErrorIs(t, err, redlock.ErrInvalidArgument)

	ok, err := redlock.New(urlNodes(t, c, "/15"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = ok.Close() })
	lock, err := ok.TryLock(context.Background(), "x")
	require.NoError(t, err)
	require.NoError(t, lock.Unlock(context.Background()))
}
