package redlock

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/quorumlock/quorumlock/quorum"
	"github.com/quorumlock/quorumlock/redlock/observe"
)

// A gate lets the commands of a lock reach each node one at a time, in the
// order their rounds began: a command is sent to a node only once the lock's
// previous command there has been answered or has timed out. Then a release
// can never overtake the SET it undoes, nor an extension the release that
// follows it, on any node, and this holds for the undo of a failed attempt
// as for Extend and Unlock, whose rounds all pass through [Lock.send].
//
// Every round takes a ticket, numbered in the order rounds begin, and a
// round's command on node i waits until node i has served the tickets
// before it. Every round sends one command to every node, so every ticket
// is served on every node.
type gate struct {
	mu     sync.Mutex
	cond   sync.Cond // L is set when someone first waits
	issued uint32    // tickets taken so far
	nodes  []gateNode
	buf    [7]gateNode // backs nodes for up to 7 nodes
}

type gateNode struct {
	served  uint32        // tickets whose command on the node is done
	mayHold bool          // the acquiring SET may have set the key: it did not say "held elsewhere"
	counter uint64        // with fencing, the node's fence counter in its answer
	pttl    time.Duration // if the node did not grant: the holder's time left there
	absent  bool          // the last extension found the key gone
}

func (g *gate) init(n int) {
	g.nodes = g.buf[:0]
	if n > len(g.buf) {
		g.nodes = make([]gateNode, 0, n)
	}
	g.nodes = g.nodes[:n]
}

// ticket takes the next round's ticket.
func (g *gate) ticket() uint32 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.issued++
	return g.issued - 1
}

// enter waits until node i has served every ticket before t; it reports
// whether it had to wait.
func (g *gate) enter(i int, t uint32) (waited bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.nodes[i].served != t {
		if g.cond.L == nil {
			g.cond.L = &g.mu
		}
		g.cond.Wait()
		waited = true
	}
	return waited
}

// leave marks the ticket node i was serving as served.
func (g *gate) leave(i int) {
	g.mu.Lock()
	g.nodes[i].served++
	if g.cond.L != nil {
		g.cond.Broadcast()
	}
	g.mu.Unlock()
}

// setAnswer records node i's answer to the acquiring command.
func (g *gate) setAnswer(i int, mayHold bool, counter uint64, pttl time.Duration) {
	g.mu.Lock()
	g.nodes[i].mayHold, g.nodes[i].counter, g.nodes[i].pttl = mayHold, counter, pttl
	g.mu.Unlock()
}

func (g *gate) pttl(i int) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.nodes[i].pttl
}

func (g *gate) setAbsent(i int, v bool) {
	g.mu.Lock()
	g.nodes[i].absent = v
	g.mu.Unlock()
}

func (g *gate) absent(i int) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.nodes[i].absent
}

func (g *gate) counter(i int) uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.nodes[i].counter
}

func (g *gate) mayHold(i int) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.nodes[i].mayHold
}

// send runs op on node i, with ticket t and the node's args, through the
// lock's gate. A command that had to wait for an earlier one gets a node
// timeout of its own from then on, so that the wait does not use up its
// time.
func (l *Lock) send(ctx context.Context, i int, t uint32, op nodeOp, args []any) error {
	if l.gate.enter(i, t) {
		own := newOpContext(ctx, l.cfg.nodeTimeout)
		defer own.cancel()
		ctx = own
	}
	defer l.gate.leave(i)
	return op(ctx, i, l.client.nodes[i], args)
}

// A nodeOp is one command of a lock on node i, with the node's own copy of
// the command's arguments (see [Node.run]).
type nodeOp func(ctx context.Context, i int, n *Node, args []any) error

// round sends op to every node at once through the gate, with base as the
// arguments after the first. Each command is bounded by the node timeout
// whether or not ctx ends, so that what was sent is always answered or
// timed out before the next command of the lock follows it.
func (l *Lock) round(ctx context.Context, base []any, op nodeOp) (*quorum.Round, *opContext) {
	oc := newOpContext(ctx, l.cfg.nodeTimeout)
	t := l.gate.ticket()
	args := perNode(len(l.client.nodes), base, oc.args[:])
	return quorum.Go(oc, len(l.client.nodes), func(ctx context.Context, i int) error {
		return l.send(ctx, i, t, op, args.of(i))
	}), oc
}

// nodeArgs are the arguments of one command for each node, in one
// allocation: each node's begin with a slot for its incarnation (see
// [Node.run]), followed by the arguments all share.
type nodeArgs struct {
	vec   []any
	width int
}

// perNode returns the arguments base for each of n nodes, in buf if they
// fit (buf must not be used for anything else while they are).
func perNode(n int, base []any, buf []any) nodeArgs {
	a := nodeArgs{vec: buf, width: 1 + len(base)}
	if n*a.width <= len(buf) {
		a.vec = buf[:n*a.width]
	} else {
		a.vec = make([]any, n*a.width)
	}
	for i := range n {
		copy(a.vec[i*a.width+1:], base)
	}
	return a
}

// of returns node i's arguments.
func (a nodeArgs) of(i int) []any { return a.vec[i*a.width : (i+1)*a.width : (i+1)*a.width] }

// An outcome is what a round of Extend or Unlock decided.
type outcome int

const (
	confirmed   outcome = iota // a quorum holds the token
	gone                       // so many nodes said they do not that a quorum cannot
	interrupted                // ctx ended before a decision
	unknown                    // too many nodes could not be reached to know
)

// judge decides a round of owner-checking commands that returned ok
// successes. It also returns how many nodes said they do not hold the
// token.
func (l *Lock) judge(r *quorum.Round, ok int) (outcome, int) {
	n, q := len(l.client.nodes), l.client.quorum
	notOwners := 0
	for _, o := range r.Seen() {
		if errors.Is(o.Err, errNotOwner) || errors.Is(o.Err, errKeyGone) {
			notOwners++
		}
	}
	switch {
	case ok >= q:
		return confirmed, notOwners
	case notOwners > n-q:
		return gone, notOwners
	case r.Failed() <= n-q && r.Pending() > 0:
		return interrupted, notOwners
	}
	return unknown, notOwners
}

// finish lets r's remaining commands complete in the background and then
// ends the round's context.
func (c *Client) finish(r *quorum.Round, oc *opContext) {
	if r.Pending() == 0 {
		oc.cancel()
		return
	}
	c.bg.add()
	go func() {
		defer c.bg.done()
		for range r.Outcomes() {
		}
		oc.cancel()
	}()
}

// undo releases a failed attempt in the background on every node whose SET
// may have set the key, each once its SET has been answered. The release is
// sent by its source, so that it needs nothing cached on a node that may
// have just restarted, or be frozen with the SET queued before it. A
// waiter's release leaves it queued if stays, and does not tell it that the
// lock is free: it is the waiter's own attempt that failed, and it tries
// again as the failure says (see release.lua); otherwise the waiter leaves
// the queue, not marked gone, and the lock goes to the next.
func (l *Lock) undo(stays bool) {
	c := l.client
	base := l.args[:1]
	if l.waiter != nil {
		base = []any{l.token, l.waiter.idArg, staysQueued}
		if !stays {
			base[2] = leavesQueue
		}
	}
	r, oc := l.round(context.Background(), base, func(ctx context.Context, i int, n *Node, args []any) error {
		if !l.gate.mayHold(i) {
			return nil
		}
		_, _, err := c.call(ctx, n, command{op: observe.OpRelease, script: releaseScript, keys: l.keys, args: args, source: true})
		return err
	})
	c.bg.add()
	go func() {
		defer c.bg.done()
		for range r.Outcomes() {
		}
		oc.cancel()
	}()
}

// The last argument of the release of a waiter's failed attempt: the
// waiter stays queued, or leaves it without a mark that it has gone (see
// release.lua).
var (
	staysQueued any = ""
	leavesQueue any = "0"
)
