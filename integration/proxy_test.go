//go:build integration

package integration

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

// A network puts an in-process toxiproxy between a test's client and each
// node, so that one node's link can be slowed, cut or reset while the
// others stay healthy. Faults apply to new and existing connections.
type network struct {
	t       *testing.T
	proxies []*toxiproxy.Proxy
	urls    []string // the nodes' URLs with the proxies' addresses
}

// newNetwork starts one proxy per node on an ephemeral loopback port; they
// are stopped, and every connection through them closed, when the test
// ends.
func newNetwork(t *testing.T) *network {
	t.Helper()
	needCluster(t)
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	n := &network{t: t}
	for i, raw := range nodeURLs {
		u, err := url.Parse(raw)
		require.NoError(t, err)
		p := toxiproxy.NewProxy(server, fmt.Sprintf("node%d", i), "127.0.0.1:0", u.Host)
		require.NoError(t, p.Start())
		t.Cleanup(p.Stop)
		u.Host = p.Listen // the address it listens on, once started
		n.proxies = append(n.proxies, p)
		n.urls = append(n.urls, u.String())
	}
	return n
}

// toxic adds a toxic to node i's link in one direction: "upstream" (client
// to node) or "downstream" (node to client).
func (n *network) toxic(i int, name, typ, stream, attributes string) {
	n.t.Helper()
	body := fmt.Sprintf(`{"name":%q,"type":%q,"stream":%q,"toxicity":1,"attributes":%s}`,
		name, typ, stream, attributes)
	_, err := n.proxies[i].Toxics.AddToxicJson(strings.NewReader(body))
	require.NoError(n.t, err, "adding %s toxic to node %d", typ, i)
}

// slow delays every reply from the nodes by latency milliseconds.
func (n *network) slow(latencyMS int, nodes ...int) {
	n.t.Helper()
	for _, i := range nodes {
		n.toxic(i, "latency", "latency", "downstream", fmt.Sprintf(`{"latency":%d}`, latencyMS))
	}
}

// cut blackholes the nodes: data in either direction is dropped and
// connections stay open, as in a network partition; new connections are
// accepted and stall the same way.
func (n *network) cut(nodes ...int) {
	n.t.Helper()
	for _, i := range nodes {
		n.toxic(i, "cut-up", "timeout", "upstream", `{"timeout":0}`)
		n.toxic(i, "cut-down", "timeout", "downstream", `{"timeout":0}`)
	}
}

// reset makes the nodes reset every connection as soon as the client sends
// something; nothing reaches the node.
func (n *network) reset(nodes ...int) {
	n.t.Helper()
	for _, i := range nodes {
		n.toxic(i, "reset", "reset_peer", "upstream", `{"timeout":0}`)
	}
}

// heal removes every toxic from the nodes. Removing a blackhole closes the
// connections it stalled.
func (n *network) heal(nodes ...int) {
	n.t.Helper()
	for _, i := range nodes {
		n.proxies[i].Toxics.ResetToxics(context.Background())
	}
}
