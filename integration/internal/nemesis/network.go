package nemesis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/rs/zerolog"
)

// A Network puts an in-process toxiproxy between clients and each node, so
// that one node's link can be slowed, cut or reset while the others stay
// healthy. Faults apply to new and existing connections. The methods taking
// a node index are safe for concurrent use on different nodes.
type Network struct {
	proxies []*toxiproxy.Proxy
}

// NewNetwork starts one proxy per upstream address (host:port), each on an
// ephemeral loopback port (see Addr). Close stops them.
func NewNetwork(upstreams []string) (*Network, error) {
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	n := &Network{}
	for i, up := range upstreams {
		p := toxiproxy.NewProxy(server, fmt.Sprintf("node%d", i), "127.0.0.1:0", up)
		if err := p.Start(); err != nil {
			n.Close()
			return nil, fmt.Errorf("starting the proxy of node %d (%s): %w", i, up, err)
		}
		n.proxies = append(n.proxies, p)
	}
	return n, nil
}

// Addr returns the loopback address (host:port) of node i's proxy.
func (n *Network) Addr(i int) string { return n.proxies[i].Listen }

// Close stops every proxy and closes every connection through them.
func (n *Network) Close() {
	for _, p := range n.proxies {
		p.Stop()
	}
}

// Toxic adds a toxic to node i's link in one direction: "upstream" (client
// to node) or "downstream" (node to client). typ and attributes (a JSON
// object) are toxiproxy's; name must be unique on the link until Heal.
func (n *Network) Toxic(i int, name, typ, stream, attributes string) error {
	body := fmt.Sprintf(`{"name":%q,"type":%q,"stream":%q,"toxicity":1,"attributes":%s}`,
		name, typ, stream, attributes)
	if _, err := n.proxies[i].Toxics.AddToxicJson(strings.NewReader(body)); err != nil {
		return fmt.Errorf("adding a %s toxic to node %d: %w", typ, i, err)
	}
	return nil
}

// The faults below name their toxics after a tag, so that faults with
// different tags can overlap on one link and be removed one by one (Remove);
// the empty tag is fine for one fault at a time.

// Slow delays every reply from node i by latency, give or take jitter.
func (n *Network) Slow(i int, latency, jitter time.Duration, tag string) error {
	return n.Toxic(i, "latency"+tag, "latency", "downstream",
		fmt.Sprintf(`{"latency":%d,"jitter":%d}`, latency.Milliseconds(), jitter.Milliseconds()))
}

// Cut blackholes node i: data in either direction is dropped and
// connections stay open, as in a network partition; new connections are
// accepted and stall the same way.
func (n *Network) Cut(i int, tag string) error {
	return errors.Join(
		n.Toxic(i, "cut-up"+tag, "timeout", "upstream", `{"timeout":0}`),
		n.Toxic(i, "cut-down"+tag, "timeout", "downstream", `{"timeout":0}`))
}

// Reset makes node i close every connection as soon as the client sends
// something; nothing reaches the node.
func (n *Network) Reset(i int, tag string) error {
	return n.Toxic(i, "reset"+tag, resetType, "upstream", `{}`)
}

// resetType names resetToxic among toxiproxy's toxics.
const resetType = "quorumlock_reset"

// resetToxic closes the connection at the first data from the client, as
// toxiproxy's reset_peer with timeout 0 does (with a FIN, not an RST), and
// then goes on reading what the client had sent until the connection has
// closed. reset_peer (v2.12.0) stops reading, so the stage before it, left
// holding more of the client's data, blocks for good: a goroutine leaked
// per connection.
type resetToxic struct{}

func (resetToxic) Pipe(stub *toxics.ToxicStub) {
	select {
	case <-stub.Interrupt:
		return
	case c := <-stub.Input:
		stub.Close() // the link closes the connection
		if c == nil {
			return
		}
	}
	for c := range stub.Input { // closed by the stage before, once the connection is
		if c == nil {
			return
		}
	}
}

func init() { toxics.Register(resetType, new(resetToxic)) }

// Remove removes the toxics that Slow, Cut and Reset added to node i's
// link with tag, and leaves the others.
func (n *Network) Remove(i int, tag string) {
	for _, name := range []string{"latency", "cut-up", "cut-down", "reset"} {
		_ = n.proxies[i].Toxics.RemoveToxic(context.Background(), name+tag) // absent: nothing to do
	}
}

// Heal removes every toxic from node i. Removing a blackhole closes the
// connections it stalled.
func (n *Network) Heal(i int) {
	n.proxies[i].Toxics.ResetToxics(context.Background())
}
