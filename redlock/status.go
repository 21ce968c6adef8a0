package redlock

import (
	"context"
	"fmt"
	"time"

	"github.com/quorumlock/quorumlock/quorum"
)

// A Verdict sums up what a quorum of nodes says about a lock.
type Verdict int

const (
	// VerdictUnknown: fewer than a quorum of nodes answered.
	VerdictUnknown Verdict = iota
	// VerdictFree: a quorum of nodes has no key; the lock can be taken.
	VerdictFree
	// VerdictHeld: a quorum of nodes holds the same owner's token.
	VerdictHeld
	// VerdictSplit: no owner and no absence reaches a quorum, as after a
	// failed attempt or while keys expire; it resolves by ttl or release.
	VerdictSplit
)

// String returns "unknown", "free", "held" or "split".
func (v Verdict) String() string {
	switch v {
	case VerdictFree:
		return "free"
	case VerdictHeld:
		return "held"
	case VerdictSplit:
		return "split"
	}
	return "unknown"
}

// A Status is what the nodes said about one lock at one moment.
type Status struct {
	Name    string       // the lock's name
	Key     string       // its Redis key
	Quorum  int          // how many nodes must agree
	Nodes   []NodeStatus // one per node, in the client's order
	Verdict Verdict      // what a quorum says
	Owner   string       // the holder's fingerprint when Verdict is VerdictHeld
}

// A NodeStatus is what one node said about a lock.
type NodeStatus struct {
	Addr  string        // the node's address
	Err   error         // non-nil if the node could not be read; the fields below are then zero
	Held  bool          // whether the key exists
	Owner string        // the fingerprint of its value (see [Fingerprint]), if held
	TTL   time.Duration // its remaining time to live, if held; -1 if it has no expiry
}

// Status reads the lock named name on every node, without changing it, and
// waits for every node's answer or its node timeout. Nodes that cannot be
// read are reported in their NodeStatus, not as an error. An empty or
// oversized name, a nil ctx or a bad option is an error wrapping
// [ErrInvalidArgument]; a ctx that ends first returns its cause.
func (c *Client) Status(ctx context.Context, name string, opts ...Option) (*Status, error) {
	cfg, key, err := c.prepare(ctx == nil, name, opts, inStatus)
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("redlock: status of %q: %w", name, context.Cause(ctx))
	}
	st := &Status{Name: name, Key: key, Quorum: c.quorum, Nodes: make([]NodeStatus, len(c.nodes))}
	keys := []string{key}
	oc := newOpContext(ctx, cfg.nodeTimeout)
	r := quorum.Go(oc, len(c.nodes), func(ctx context.Context, i int) error {
		start := c.nodeStart()
		st.Nodes[i] = c.nodes[i].status(ctx, keys)
		c.nodeDone(ctx, c.nodes[i], OpStatus, start, st.Nodes[i].Err)
		return st.Nodes[i].Err
	})
	for range r.Outcomes() { // every node, each bounded by the node timeout
	}
	oc.cancel()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("redlock: status of %q: %w", name, context.Cause(ctx))
	}
	st.Verdict, st.Owner = verdict(st.Nodes, c.quorum)
	return st, nil
}

func (n *Node) status(ctx context.Context, keys []string) NodeStatus {
	ns := NodeStatus{Addr: n.name}
	reply, _, err := n.run(ctx, statusScript, keys, nil)
	values, _ := reply.([]any)
	if err == nil && len(values) != 2 {
		// Not %v: the reply may hold the owner's token.
		err = fmt.Errorf("unexpected reply to %s: %T of %d values, not 2", statusScript.name, reply, len(values))
	}
	if err != nil {
		ns.Err = n.nodeErr(err)
		return ns
	}
	ttl, _ := values[1].(int64)
	if value, ok := values[0].(string); ok {
		ns.Held, ns.Owner = true, Fingerprint(value)
		ns.TTL = time.Duration(ttl) * time.Millisecond
		if ttl < 0 {
			ns.TTL = -1
		}
	}
	return ns
}

func verdict(nodes []NodeStatus, need int) (Verdict, string) {
	answered, free := 0, 0
	owners := map[string]int{}
	for _, n := range nodes {
		switch {
		case n.Err != nil:
			continue
		case n.Held:
			owners[n.Owner]++
		default:
			free++
		}
		answered++
	}
	for owner, count := range owners {
		if count >= need {
			return VerdictHeld, owner
		}
	}
	switch {
	case free >= need:
		return VerdictFree, ""
	case answered < need:
		return VerdictUnknown, ""
	}
	return VerdictSplit, ""
}
