package redlock

import (
	"strings"
	"sync"

	"github.com/quorumlock/quorumlock/quorum"
)

// A Client takes locks on a fixed set of independent Redis masters. It is
// safe for concurrent use; each call to [Client.Lock] or [Client.TryLock]
// returns a new [*Lock] with its own token.
//
// Work a client leaves running in the background (releasing a failed
// attempt's keys on nodes that answered late, finishing a release on a slow
// node) is bounded by the node timeout; [Client.Close] waits for it.
type Client struct {
	nodes  []*Node
	quorum int
	cfg    config
	bg     background // background rounds and undo releases

	vetMu    sync.Mutex
	vetted   []nodeVerdict // per node, with and without fencing
	restarts []restartSeen // per node
	logged   sync.Map      // findings and quarantines already logged
	busy     sync.Map      // key -> when an attempt last found it busy

	goneArg any         // how long, in ms, a waiter that left a queue is marked gone there
	clocks  *nodeClocks // the nodes' clocks, as their answers showed them
}

// New returns a Client for nodes, one per independent Redis master, with
// opts as its defaults. A lock is granted when a majority of nodes,
// len(nodes)/2+1, agree. Zero nodes, a nil node, two nodes with the same
// name, or a bad option is an error wrapping [ErrInvalidArgument].
//
// The nodes are not owned by the client: close them after the client.
func New(nodes []*Node, opts ...ClientOption) (*Client, error) {
	if len(nodes) == 0 {
		return nil, invalid("no nodes")
	}
	seen := make(map[string]int, len(nodes))
	for i, n := range nodes {
		if n == nil {
			return nil, invalid("node %d is nil", i)
		}
		if j, dup := seen[n.name]; dup {
			return nil, invalid("nodes %d and %d have the same name %s", j, i, n.name)
		}
		seen[n.name] = i
	}
	all := make([]Option, len(opts))
	for i, o := range opts {
		if o == nil {
			return nil, invalid("option %d is nil", i)
		}
		all[i] = o.clientOption()
	}
	cfg, err := defaultConfig().apply(all, inNew)
	if err != nil {
		return nil, err
	}
	return &Client{
		nodes:    append([]*Node(nil), nodes...),
		quorum:   quorum.Majority(len(nodes)),
		cfg:      cfg,
		vetted:   make([]nodeVerdict, 2*len(nodes)),
		restarts: make([]restartSeen, len(nodes)),
		goneArg:  goneFor(cfg.nodeTimeout).Milliseconds(),
		clocks:   newNodeClocks(len(nodes), quorum.Majority(len(nodes))),
	}, nil
}

// Nodes returns the client's nodes, in the order given to [New].
func (c *Client) Nodes() []*Node { return append([]*Node(nil), c.nodes...) }

// Quorum returns how many nodes must agree for a lock to be held.
func (c *Client) Quorum() int { return c.quorum }

// Close waits until none of the client's background work is running:
// releases of failed attempts on nodes that answered late, and calls still
// running on slow nodes when Lock, Extend or Unlock returned, each bounded by
// the node timeout. Work that starts while Close waits (a hold renewing, a
// concurrent Lock) is waited for too. Close does not close the nodes, does
// not stop holds, and leaves the client usable; it always returns nil.
func (c *Client) Close() error {
	c.bg.wait()
	return nil
}

// prepare validates a call's arguments, given to the call where, and
// returns its config and key.
func (c *Client) prepare(ctxIsNil bool, name string, opts []Option, where scope) (config, string, error) {
	if ctxIsNil {
		return config{}, "", invalid("nil context")
	}
	if name == "" {
		return config{}, "", invalid("lock name is empty")
	}
	cfg := c.cfg
	if len(opts) > 0 {
		var err error
		if cfg, err = cfg.apply(opts, where); err != nil {
			return config{}, "", err
		}
	}
	key := name
	if cfg.prefix != "" {
		key = cfg.prefix + name
	}
	if len(key) > MaxKeyLen {
		return config{}, "", invalid("lock key is %d bytes, the limit is %d", len(key), MaxKeyLen)
	}
	if strings.Contains(key, Reserved) {
		return config{}, "", invalid("lock key %q contains %q, reserved for quorumlock's own keys", key, Reserved)
	}
	return cfg, key, nil
}
