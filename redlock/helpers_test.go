package redlock_test

import (
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/internal/testcluster"
	"github.com/quorumlock/quorumlock/redlock"
)

// cluster is n in-process Redis servers, each behind a fault-injecting Conn.
type cluster struct {
	*testcluster.Cluster
	servers []*miniredis.Miniredis
	faults  []*testcluster.Conn
	nodes   []*redlock.Node
}

func newCluster(tb testing.TB, n int) *cluster {
	tb.Helper()
	return newClusterWith(tb, testcluster.Options{Servers: n})
}

// newClusterRealTime is newCluster with keys that expire in real time.
func newClusterRealTime(tb testing.TB, n int) *cluster {
	tb.Helper()
	return newClusterWith(tb, testcluster.Options{Servers: n, RealTimeTTL: true})
}

func newClusterWith(tb testing.TB, o testcluster.Options) *cluster {
	tb.Helper()
	tc := testcluster.New(tb, o)
	c := &cluster{Cluster: tc, nodes: tc.Nodes}
	for _, s := range tc.Servers {
		c.servers = append(c.servers, s.Redis())
		c.faults = append(c.faults, s.Conn())
	}
	return c
}

// client returns a client on the cluster whose background work is waited for
// when the test ends, before goleak looks. Its node timeout is 500ms unless
// opts say otherwise: tests about timeouts set their own, and the others
// must not fail because a loaded machine running the race detector took
// longer than the 50ms default for a round-trip.
func (c *cluster) client(tb testing.TB, opts ...redlock.ClientOption) *redlock.Client {
	tb.Helper()
	opts = append([]redlock.ClientOption{redlock.WithNodeTimeout(500 * time.Millisecond)}, opts...)
	cl, err := redlock.New(c.nodes, opts...)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = cl.Close() })
	return cl
}

// holders returns the indexes of servers on which key holds value.
func (c *cluster) holders(key, value string) []int { return c.Holders(key, value) }

// keys returns the indexes of servers on which key exists at all.
func (c *cluster) keys(key string) []int { return c.Keys(key) }

// fastForward moves every server's expiry clock forward by d.
func (c *cluster) fastForward(d time.Duration) { c.FastForward(d) }

// sem returns the semaphore of the n permits of name, or nil if those are
// refused.
func sem(c *redlock.Client, name string, n int) *redlock.Semaphore {
	s, _ := c.Semaphore(name, n)
	return s
}
