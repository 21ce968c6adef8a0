package redlock

import (
	"context"
	"fmt"
	"time"

	"github.com/quorumlock/quorumlock/redlock/observe"
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
	sts, err := c.readStatus(ctx, &cfg, name, []string{key})
	if err != nil {
		return nil, err
	}
	return sts[0], nil
}

// readStatus reads keys, a lock's or a semaphore's slots', on every node in
// one round and returns one Status for each, waiting for every node's
// answer or its node timeout; a ctx that ends first returns its cause.
func (c *Client) readStatus(ctx context.Context, cfg *config, name string, keys []string) ([]*Status, error) {
	sts := make([]*Status, len(keys))
	for k, key := range keys {
		sts[k] = &Status{Name: name, Key: key, Quorum: c.quorum, Nodes: make([]NodeStatus, len(c.nodes))}
	}
	r, oc := c.everyNode(ctx, cfg.nodeTimeout, func(ctx context.Context, i int, n *Node) error {
		per := c.status(ctx, n, keys)
		for k, ns := range per {
			sts[k].Nodes[i] = ns
		}
		return per[0].Err
	})
	for range r.Outcomes() { // every node, each bounded by the node timeout
	}
	oc.cancel()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("redlock: status of %q: %w", name, context.Cause(ctx))
	}
	for _, st := range sts {
		st.Verdict, st.Owner = verdict(st.Nodes, c.quorum)
	}
	return sts, nil
}

// status reads keys on n: one NodeStatus for each, all with the node's
// error if it could not be read.
func (c *Client) status(ctx context.Context, n *Node, keys []string) []NodeStatus {
	out := make([]NodeStatus, len(keys))
	reply, _, err := c.call(ctx, n, command{op: observe.OpStatus, script: statusScript, keys: keys, args: []any{nil}})
	values, _ := reply.([]any)
	if err == nil && len(values) != 2*len(keys) {
		err = fmt.Errorf("unexpected reply %v to %s", reply, statusScript.name)
	}
	for k := range out {
		ns := &out[k]
		ns.Addr = n.name
		if err != nil {
			ns.Err = n.nodeErr(err)
			continue
		}
		ttl, _ := values[2*k+1].(int64)
		if value, ok := values[2*k].(string); ok {
			ns.Held, ns.Owner = true, Fingerprint(value)
			ns.TTL = time.Duration(ttl) * time.Millisecond
			if ttl < 0 {
				ns.TTL = -1
			}
		}
	}
	return out
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
