package redlock

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quorumlock/quorumlock/clock"
	"github.com/quorumlock/quorumlock/quorum"
)

// A Lock is one acquisition of a named lock, returned by [Client.Lock] or
// [Client.TryLock]. It is held until [Lock.Until] unless extended, and it
// belongs to whoever holds the *Lock: its token is the owner's proof.
//
// A Lock is safe for concurrent use: [Lock.Extend] and [Lock.Unlock] are
// serialised, and the accessors may be called at any time, for instance
// while a hold renews the lock in the background. A Lock is not reused:
// once unlocked or lost, acquire a new one.
type Lock struct {
	client *Client
	cfg    config
	name   string
	key    string
	token  string
	raw    [16]byte // the token's 128 random bits

	keyArg, tokenArg any // boxed once, shared by every command's arguments

	op sync.Mutex // serialises Extend and Unlock

	// answered has bit i set once node i has answered the acquiring SET. A
	// release or extension is sent to a node only after that, so that a late
	// SET cannot land after an Unlock; waiters sleep on setCond, which is
	// set up only if some node had not answered when the lock was granted.
	answered atomic.Uint64
	setMu    sync.Mutex
	setCond  sync.Cond

	mu       sync.Mutex // guards the fields below
	until    time.Time
	lost     error // non-nil once lost; wraps ErrLost
	unlocked bool
	hold     *holder // the running hold, if any
}

var tokenEncoding = base64.RawURLEncoding

func encodeToken(raw *[16]byte) string { return tokenEncoding.EncodeToString(raw[:]) }

// Name returns the lock's name, as given to Lock or TryLock.
func (l *Lock) Name() string { return l.name }

// Key returns the Redis key of the lock: the key prefix followed by the name.
func (l *Lock) Key() string { return l.key }

// Token returns the random value that identifies this acquisition on the
// nodes. It is the owner's proof: do not log it.
func (l *Lock) Token() string { return l.token }

// Until returns the time until which the lock is known to be held, on the
// client's clock (with Go's monotonic reading for the real clock): the end
// of the last successful acquisition or extension plus its validity, that
// is its start plus the ttl less the drift allowance. It does not query the
// nodes. Once the lock is lost or unlocked, Until returns the zero time.
func (l *Lock) Until() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.until
}

// TTL returns the ttl the lock was acquired with, which Extend renews.
func (l *Lock) TTL() time.Duration { return l.cfg.ttl }

// Extend resets the lock's expiry on every node to its ttl, provided the
// node still holds the lock's token. The lock is extended if a quorum did so
// within the new validity; [Lock.Until] then moves forward.
//
// The lock is lost, and Extend returns an error wrapping [ErrLost] and the
// per-node causes, when its validity has lapsed (checked before asking the
// nodes: another owner may have taken it meanwhile), when so many nodes
// answered that they no longer hold its token that a quorum cannot, or when
// the extension took longer than the validity it would give. A lost lock
// stays lost: later calls return the same error. Call [Lock.Unlock] all the
// same, to remove what is left of it on the nodes.
//
// When too few nodes confirmed only because others could not be reached,
// the outcome is unknown: Extend returns an error that does not wrap ErrLost
// (it wraps the [NodeError]s), and the lock remains held until its previous
// [Lock.Until]; calling Extend again before then may succeed. Likewise, if
// ctx ends before a quorum has answered, Extend returns ctx's cause. Extend
// after Unlock wraps [ErrNotHeld].
func (l *Lock) Extend(ctx context.Context) error {
	if ctx == nil {
		return invalid("nil context")
	}
	l.op.Lock()
	defer l.op.Unlock()
	if err := l.usable(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redlock: extend %q: %w", l.name, context.Cause(ctx))
	}
	cfg, c := &l.cfg, l.client
	start := cfg.clock.Now()
	if until := l.Until(); !start.Before(until) {
		return l.markLost(fmt.Errorf("%w: %q: validity lapsed %v ago", ErrLost, l.name, start.Sub(until)))
	}

	args := []any{extendScript.hash, 1, l.keyArg, l.tokenArg, cfg.ttl.Milliseconds()}
	r, op := c.start(ctx, cfg.nodeTimeout, l.onNode(extendScript, args))
	ok, err := r.Wait(ctx, c.quorum)
	defer c.finish(r, op, nil) // after r is read below
	elapsed := cfg.clock.Since(start)
	validity := clock.Validity(cfg.ttl, elapsed, cfg.driftFactor)
	switch {
	case ok >= c.quorum && validity > 0:
		return l.extended(start.Add(elapsed + validity))
	case ok >= c.quorum:
		return l.markLost(fmt.Errorf("%w: %q: extending took %v, leaving no validity of the %v ttl: %w",
			ErrLost, l.name, elapsed, cfg.ttl, errOrNone(err)))
	}
	if gone := notOwners(r.Seen()); gone > len(c.nodes)-c.quorum {
		return l.markLost(fmt.Errorf("%w: %q: %d of %d nodes no longer hold its token (expired or taken): %w",
			ErrLost, l.name, gone, len(c.nodes), err))
	}
	if r.Failed() <= len(c.nodes)-c.quorum { // ctx ended before a decision
		return fmt.Errorf("redlock: extend %q interrupted: %w", l.name, err)
	}
	return fmt.Errorf("redlock: extend %q: %d of %d nodes failed, so %d cannot confirm; the lock stays held until its validity ends in %v: %w",
		l.name, r.Failed(), len(c.nodes), c.quorum, l.Until().Sub(cfg.clock.Now()), err)
}

// extended records a successful extension, unless the lock was declared
// lost meanwhile (by a hold whose deadline passed while Extend ran): a lost
// lock stays lost. Until never moves backwards.
func (l *Lock) extended(until time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost != nil {
		return l.lost
	}
	if until.After(l.until) {
		l.until = until
	}
	return nil
}

// notOwners counts the outcomes in which a node answered that it does not
// hold the token: a definite answer, unlike a timeout.
func notOwners(seen []quorum.Outcome) int {
	n := 0
	for _, o := range seen {
		if errors.Is(o.Err, errNotOwner) {
			n++
		}
	}
	return n
}

// Unlock releases the lock on every node that still holds its token; it
// never deletes another owner's key. It returns nil if a quorum of nodes
// still held the token, so that the lock was held until released.
//
// If so many nodes answered that they no longer held the token that a quorum
// cannot have, the lock had expired or been taken, the critical section may
// have run unprotected, and Unlock returns an error wrapping [ErrNotHeld]
// and the per-node causes. If too few answered only because others could
// not be reached, that is unknown, and the error wraps the [NodeError]s but
// not ErrNotHeld; the keys left on those nodes expire by their ttl. Unlock
// also stops any hold of the lock, and [Lock.Until] becomes the zero time. Since it
// usually runs after the work's context has ended, call it as
// lock.Unlock(context.WithoutCancel(ctx)). If ctx ends before a quorum has
// answered, Unlock returns ctx's cause; the release still goes on in the
// background, bounded by the node timeout. A second Unlock wraps
// [ErrNotHeld].
func (l *Lock) Unlock(ctx context.Context) error {
	if ctx == nil {
		return invalid("nil context")
	}
	l.mu.Lock()
	if l.unlocked {
		l.mu.Unlock()
		return fmt.Errorf("%w: %q is already unlocked", ErrNotHeld, l.name)
	}
	l.unlocked = true // from here on no new hold starts
	l.until = time.Time{}
	h := l.hold
	l.mu.Unlock()
	if h != nil {
		h.stop(context.Canceled)
	}
	l.op.Lock()
	defer l.op.Unlock()

	c := l.client
	r, op := c.start(ctx, l.cfg.nodeTimeout, l.onNode(releaseScript, l.releaseArgs()))
	ok, err := r.Wait(ctx, c.quorum)
	defer c.finish(r, op, nil) // after r is read below
	if ok >= c.quorum {
		return nil
	}
	if gone := notOwners(r.Seen()); gone > len(c.nodes)-c.quorum {
		return fmt.Errorf("%w: %q: %d of %d nodes no longer held its token (expired or taken): %w",
			ErrNotHeld, l.name, gone, len(c.nodes), err)
	}
	if r.Failed() <= len(c.nodes)-c.quorum { // ctx ended before a decision
		return fmt.Errorf("redlock: unlock %q interrupted, release goes on in the background: %w", l.name, err)
	}
	return fmt.Errorf("redlock: unlock %q: %d of %d nodes failed, so whether a quorum still held it is unknown; its keys there expire by their ttl: %w",
		l.name, r.Failed(), len(c.nodes), err)
}

// track records which nodes answered the acquiring round r, and follows
// the others in the background until they answer or time out.
func (l *Lock) track(r *quorum.Round, op *opContext) {
	var mask uint64
	for _, o := range r.Seen() {
		mask |= 1 << o.Target
	}
	l.answered.Store(mask)
	if r.Pending() == 0 {
		l.client.finish(r, op, nil)
		return
	}
	l.setCond.L = &l.setMu
	l.client.finish(r, op, func(o quorum.Outcome) {
		l.setMu.Lock()
		l.answered.Or(1 << o.Target)
		l.setCond.Broadcast()
		l.setMu.Unlock()
	})
}

// awaitSET waits until node i has answered the acquiring SET, which is
// bounded by the node timeout, and reports whether it had to wait.
func (l *Lock) awaitSET(i int) bool {
	bit := uint64(1) << i
	if l.answered.Load()&bit != 0 {
		return false
	}
	l.setMu.Lock()
	defer l.setMu.Unlock()
	for l.answered.Load()&bit == 0 {
		l.setCond.Wait()
	}
	return true
}

// onNode returns the per-node call of an Extend or Unlock round: script s
// with args, sent to node i once its acquiring SET has answered. A node that
// made it wait gets a node timeout of its own from then on, so that waiting
// for its SET does not use up the time for the script.
func (l *Lock) onNode(s *script, args []any) func(context.Context, int) error {
	return func(ctx context.Context, i int) error {
		if l.awaitSET(i) {
			own := newOpContext(ctx, l.cfg.nodeTimeout)
			defer own.cancel()
			ctx = own
		}
		return l.client.nodes[i].compare(ctx, s, args)
	}
}

func (l *Lock) releaseArgs() []any {
	return []any{releaseScript.hash, 1, l.keyArg, l.tokenArg}
}

// releaseOn releases the lock on one node, for undoing a failed attempt.
func (l *Lock) releaseOn(target int) error {
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.nodeTimeout)
	defer cancel()
	return l.client.nodes[target].compare(ctx, releaseScript, l.releaseArgs())
}

// usable returns why the lock can no longer be extended, or nil.
func (l *Lock) usable() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.unlocked {
		return fmt.Errorf("%w: %q is unlocked", ErrNotHeld, l.name)
	}
	return l.lost
}

// markLost records err, which wraps ErrLost, as the lock's fate.
func (l *Lock) markLost(err error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost == nil {
		l.lost = err
		l.until = time.Time{}
	}
	return l.lost
}
