package redlock

import (
	"context"
	"errors"
	"time"

	"github.com/quorumlock/quorumlock/quorum"
	"github.com/quorumlock/quorumlock/redlock/observe"
)

// Every command to a node passes through one door, [Client.call]: it runs
// the command (a script, by its digest and then by its source, with the
// node's incarnation; or a read of INFO), wraps a failure as the node's
// [NodeError], and reports the command to the client's observers, once.
// Every command runs in a round, which bounds it by the node timeout
// whatever the caller's context does: a lock's rounds ([Lock.round]) also
// pass its gate, so that its commands reach each node one at a time, in
// order; the client's other rounds ([Client.everyNode]) read or leave, and
// need no order.

// A command is one operation on a node.
type command struct {
	op     observe.Op
	script *script // nil: read INFO (see [Node.probe])
	keys   []string
	args   []any // args[0] is left for the incarnation (see [Node.run])
	source bool  // send it by its source only (see [Node.evalSource])
}

// call sends cmd to n: see above. It returns the script's reply, how it
// was sent, and nil or a *NodeError.
func (c *Client) call(ctx context.Context, n *Node, cmd command) (reply any, how sending, err error) {
	start := c.nodeStart()
	switch {
	case cmd.script == nil:
		err = n.probe(ctx)
	case cmd.source:
		reply, err = n.evalSource(ctx, cmd.script, cmd.keys, cmd.args)
	default:
		reply, how, err = n.run(ctx, cmd.script, cmd.keys, cmd.args)
	}
	err = n.nodeErr(err)
	c.nodeDone(ctx, n, cmd.op, start, err)
	return reply, how, err
}

// everyNode runs fn on every node at once, in a round bounded by the node
// timeout whatever ctx does, for the client's commands that are no lock's:
// reading status, slots or INFO, leaving queues.
func (c *Client) everyNode(ctx context.Context, timeout time.Duration, fn func(ctx context.Context, i int, n *Node) error) (*quorum.Round, *opContext) {
	oc := newOpContext(ctx, timeout)
	return quorum.Go(oc, len(c.nodes), func(ctx context.Context, i int) error {
		return fn(ctx, i, c.nodes[i])
	}), oc
}

// alreadyNodeErr reports whether err is already n's NodeError.
func alreadyNodeErr(n *Node, err error) bool {
	var ne *NodeError
	return errors.As(err, &ne) && ne.Addr == n.name
}
