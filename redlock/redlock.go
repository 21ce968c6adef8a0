package redlock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/quorumlock/quorumlock/clock"
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
}

// MaxNodes is the most nodes a client may have.
const MaxNodes = 64

// New returns a Client for nodes, one per independent Redis master, with
// opts as its defaults. A lock is granted when a majority of nodes,
// len(nodes)/2+1, agree. Zero nodes, a nil node, two nodes with the same
// address, or a bad option is an error wrapping [ErrInvalidArgument].
//
// The nodes are not owned by the client: close them after the client.
func New(nodes []*Node, opts ...Option) (*Client, error) {
	if len(nodes) == 0 {
		return nil, invalid("no nodes")
	}
	if len(nodes) > MaxNodes {
		return nil, invalid("%d nodes, at most %d are supported", len(nodes), MaxNodes)
	}
	seen := make(map[string]int, len(nodes))
	for i, n := range nodes {
		if n == nil {
			return nil, invalid("node %d is nil", i)
		}
		if j, dup := seen[n.addr]; dup {
			return nil, invalid("nodes %d and %d have the same address %s", j, i, n.addr)
		}
		seen[n.addr] = i
	}
	cfg, err := defaultConfig().apply(opts)
	if err != nil {
		return nil, err
	}
	return &Client{
		nodes:  append([]*Node(nil), nodes...),
		quorum: quorum.Majority(len(nodes)),
		cfg:    cfg,
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

// Lock acquires the lock named name, retrying after a random delay (see
// [WithRetryDelay] and [WithRetryLimit]) until it is granted or ctx ends.
// opts override the client's options for this lock.
//
// On success the lock is held until [Lock.Until]. If ctx ends, the wait set
// by [WithWait] passes, or the retries are spent first, Lock returns an error wrapping [ErrNotObtained], the last
// attempt's per-node causes and, if ctx ended, its cause. An empty or
// oversized name, a nil ctx or a bad option is an error wrapping
// [ErrInvalidArgument]. Keys set by a failed attempt are released, including
// those on nodes that answer after Lock has returned.
func (c *Client) Lock(ctx context.Context, name string, opts ...Option) (*Lock, error) {
	return c.obtain(ctx, name, opts, true)
}

// TryLock makes exactly one attempt to acquire the lock named name. It
// returns like [Client.Lock], with no retry.
func (c *Client) TryLock(ctx context.Context, name string, opts ...Option) (*Lock, error) {
	return c.obtain(ctx, name, opts, false)
}

// obtain is Lock, or TryLock if retry is false: one attempt, and no wait
// set by WithWait.
func (c *Client) obtain(ctx context.Context, name string, opts []Option, retry bool) (*Lock, error) {
	cfg, key, err := c.prepare(ctx, name, opts)
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotObtained, context.Cause(ctx))
	}
	if retry && cfg.waitSet {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.wait)
		defer cancel()
	}
	var timer clock.Timer
	for attempt := 0; ; attempt++ {
		l, err := c.acquire(ctx, &cfg, name, key)
		if err == nil {
			if timer != nil {
				timer.Stop()
			}
			return l, nil
		}
		if ctx.Err() != nil {
			return nil, withCause(ctx, err)
		}
		if !retry {
			return nil, err
		}
		if cfg.limited && attempt >= cfg.retryLimit {
			return nil, fmt.Errorf("%w (after %d attempts)", err, attempt+1)
		}
		delay := cfg.retryDelay()
		if timer == nil {
			timer = cfg.clock.NewTimer(delay)
		} else {
			timer.Reset(delay)
		}
		select {
		case <-timer.C():
		case <-ctx.Done():
			timer.Stop()
			return nil, withCause(ctx, err)
		}
	}
}

// withCause adds ctx's cause to err unless err already matches it.
func withCause(ctx context.Context, err error) error {
	cause := context.Cause(ctx)
	if errors.Is(err, cause) {
		return err
	}
	return fmt.Errorf("%w: %w", err, cause)
}

// prepare validates a call's arguments and returns its config and key.
func (c *Client) prepare(ctx context.Context, name string, opts []Option) (config, string, error) {
	if ctx == nil {
		return config{}, "", invalid("nil context")
	}
	if name == "" {
		return config{}, "", invalid("lock name is empty")
	}
	cfg := c.cfg
	if len(opts) > 0 {
		var err error
		if cfg, err = cfg.apply(opts); err != nil {
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
	return cfg, key, nil
}

// acquire makes one attempt: SET key token NX PX ttl on every node at once,
// held if a quorum said OK within the validity.
func (c *Client) acquire(ctx context.Context, cfg *config, name, key string) (*Lock, error) {
	l := &Lock{client: c, cfg: *cfg, name: name, key: key}
	if _, err := io.ReadFull(cfg.rand, l.raw[:]); err != nil {
		return nil, fmt.Errorf("redlock: reading a random token: %w", err)
	}
	l.token = encodeToken(&l.raw)
	l.keyArg, l.tokenArg = l.key, l.token
	args := []any{l.keyArg, l.tokenArg, "NX", "PX", cfg.ttl.Milliseconds()}

	start := cfg.clock.Now()
	r, op := c.start(ctx, cfg.nodeTimeout, func(ctx context.Context, i int) error {
		return c.nodes[i].acquire(ctx, args)
	})
	ok, err := r.Wait(ctx, c.quorum)
	elapsed := cfg.clock.Since(start)
	validity := clock.Validity(cfg.ttl, elapsed, cfg.driftFactor)
	if ok >= c.quorum && validity > 0 {
		l.until = start.Add(elapsed + validity) // the end of the round plus the validity
		l.track(r, op)
		return l, nil
	}

	// Not held: release everywhere our SET may have landed, including on
	// nodes that answer later, each only after its SET has returned.
	c.finish(r, op, func(o quorum.Outcome) {
		if errors.Is(o.Err, errHeldElsewhere) {
			return // SET NX did nothing there
		}
		c.bg.goDo(func() { _ = l.releaseOn(o.Target) })
	})
	if ok >= c.quorum {
		return nil, fmt.Errorf("%w: %q: %d of %d nodes granted it but the acquisition took %v, leaving no validity of the %v ttl: %w",
			ErrNotObtained, name, ok, len(c.nodes), elapsed, cfg.ttl, errOrNone(err))
	}
	return nil, fmt.Errorf("%w: %q: %d of %d nodes granted it, %d needed: %w",
		ErrNotObtained, name, ok, len(c.nodes), c.quorum, errOrNone(err))
}

func errOrNone(err error) error {
	if err == nil {
		return errors.New("no node failed")
	}
	return err
}

// start calls fn for every node at once. Each call is bounded by timeout
// whether or not ctx ends, so that what was sent is always answered or
// timed out before [Client.finish] looks at it.
func (c *Client) start(ctx context.Context, timeout time.Duration, fn func(ctx context.Context, node int) error) (*quorum.Round, *opContext) {
	op := newOpContext(ctx, timeout)
	return quorum.Go(op, len(c.nodes), fn), op
}

// finish lets r's remaining calls complete in the background, calls each (if
// not nil) with every outcome, those Wait saw and the late ones, and ends the
// round's context.
func (c *Client) finish(r *quorum.Round, op *opContext, each func(quorum.Outcome)) {
	if r.Pending() == 0 && each == nil {
		op.cancel()
		return
	}
	c.bg.add()
	go c.drain(r, op, each)
}

// drain is finish's background half.
func (c *Client) drain(r *quorum.Round, op *opContext, each func(quorum.Outcome)) {
	defer c.bg.done()
	for o := range r.Outcomes() {
		if each != nil {
			each(o)
		}
	}
	op.cancel()
}

// acquire is SET key token NX PX ttl on one node.
func (n *Node) acquire(ctx context.Context, args []any) error {
	reply, err := n.do(ctx, "SET", args)
	switch {
	case err != nil:
		return n.nodeErr(err)
	case reply == nil:
		return n.nodeErr(errHeldElsewhere)
	}
	if s, ok := reply.(string); !ok || s != "OK" {
		return n.nodeErr(fmt.Errorf("unexpected reply %v to SET", reply))
	}
	return nil
}

// compare runs an owner-checking script on one node: nil if it acted,
// errNotOwner if the node does not hold the token.
func (n *Node) compare(ctx context.Context, s *script, args []any) error {
	reply, err := n.eval(ctx, s, args)
	if err != nil {
		return n.nodeErr(err)
	}
	switch v, _ := reply.(int64); v {
	case 1:
		return nil
	case 0:
		return n.nodeErr(errNotOwner)
	}
	return n.nodeErr(fmt.Errorf("unexpected reply %v to script", reply))
}
