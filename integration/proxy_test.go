//go:build integration

package integration

import (
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/integration/internal/nemesis"
)

// A network puts an in-process toxiproxy between a test's client and each
// node (see nemesis.Network), so that one node's link can be slowed, cut or
// reset while the others stay healthy. Faults apply to new and existing
// connections; a failure to apply one fails the test.
type network struct {
	t    *testing.T
	net  *nemesis.Network
	urls []string // the nodes' URLs with the proxies' addresses
}

// newNetwork starts one proxy per node on an ephemeral loopback port; they
// are stopped, and every connection through them closed, when the test
// ends.
func newNetwork(t *testing.T) *network {
	t.Helper()
	needCluster(t)
	var (
		hosts []string
		urls  []*url.URL
	)
	for _, raw := range nodeURLs {
		u, err := url.Parse(raw)
		require.NoError(t, err)
		hosts, urls = append(hosts, u.Host), append(urls, u)
	}
	nn, err := nemesis.NewNetwork(hosts)
	require.NoError(t, err)
	t.Cleanup(nn.Close)
	n := &network{t: t, net: nn}
	for i, u := range urls {
		u.Host = nn.Addr(i)
		n.urls = append(n.urls, u.String())
	}
	return n
}

// toxic adds a toxic to node i's link in one direction: "upstream" (client
// to node) or "downstream" (node to client).
func (n *network) toxic(i int, name, typ, stream, attributes string) {
	n.t.Helper()
	require.NoError(n.t, n.net.Toxic(i, name, typ, stream, attributes))
}

// slow delays every reply from the nodes by latency milliseconds.
func (n *network) slow(latencyMS int, nodes ...int) {
	n.t.Helper()
	for _, i := range nodes {
		require.NoError(n.t, n.net.Slow(i, time.Duration(latencyMS)*time.Millisecond, 0, ""))
	}
}

// cut blackholes the nodes: data in either direction is dropped and
// connections stay open, as in a network partition; new connections are
// accepted and stall the same way.
func (n *network) cut(nodes ...int) {
	n.t.Helper()
	for _, i := range nodes {
		require.NoError(n.t, n.net.Cut(i, ""))
	}
}

// reset makes the nodes reset every connection as soon as the client sends
// something; nothing reaches the node.
func (n *network) reset(nodes ...int) {
	n.t.Helper()
	for _, i := range nodes {
		require.NoError(n.t, n.net.Reset(i, ""))
	}
}

// heal removes every toxic from the nodes. Removing a blackhole closes the
// connections it stalled.
func (n *network) heal(nodes ...int) {
	n.t.Helper()
	for _, i := range nodes {
		n.net.Heal(i)
	}
}
