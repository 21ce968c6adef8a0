package redlock

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/quorumlock/quorumlock/quorum"
	"github.com/quorumlock/quorumlock/redlock/observe"
)

// Fencing is two phases on a quorum. Phase one is the acquisition, whose
// script also returns the node's fence counter for the name; the client
// draws f, the highest counter among the answers, plus one. Phase two raises
// the counter to f on the nodes, each only if the key still holds this
// lock's token and the counter is below f; the lock is granted with f only
// if a quorum did so within the validity. The package documentation gives
// the argument.

// drawFence sets the lock's fence from the counters phase one returned.
func (l *Lock) drawFence(r *quorum.Round) error {
	var high uint64
	for _, o := range r.Seen() {
		high = max(high, l.gate.counter(o.Target))
	}
	if high == math.MaxUint64 {
		return fmt.Errorf("the fence counter of %q is at its maximum", l.name)
	}
	l.fence = high + 1
	l.args[argFence] = strconv.FormatUint(l.fence, 10)
	return nil
}

// raiseOn is phase two on node i.
func (l *Lock) raiseOn(ctx context.Context, _ int, n *Node, args []any) error {
	reply, _, err := l.client.call(ctx, n, command{op: observe.OpFence, script: fenceScript, keys: l.keys, args: args})
	if err != nil {
		return err
	}
	switch v, isInt := reply.(int64); {
	case isInt && v == 1:
		return nil
	case isInt && v == 0:
		return n.nodeErr(fmt.Errorf("fence %d not raised: the token is gone or another holder reached it", l.fence))
	}
	return n.nodeErr(fmt.Errorf("unexpected reply %v to %s", reply, fenceScript.name))
}
