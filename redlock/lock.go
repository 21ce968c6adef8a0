package redlock

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/quorumlock/quorumlock/quorum"
	"github.com/quorumlock/quorumlock/redlock/observe"
)

// A Lock is one acquisition of a named lock, returned by [Client.Lock] or
// [Client.TryLock], or of a semaphore's slot, returned by
// [Semaphore.Acquire] or [Semaphore.TryAcquire] as a [Permit]. It is held
// until [Lock.Until] unless extended, and it
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

	// The commands' KEYS and ARGV (after the first, which is each node's
	// own: see [Node.run]), built once and shared by every node: keys is
	// {key}; args is {token, ttl in ms, fence ("" without fencing, "0"
	// until drawn), waiter id, waiter's place, waiter's life, the attempt's
	// number if the waiter takes a hand-off}, the fence written once drawn,
	// before any command reads it. The acquiring script takes
	// args[:argsAcquire], extending args[:2], raising and healing
	// args[:3], a release releaseArgs.
	keys   []string
	args   []any
	keyBuf [1]string
	argBuf [7]any

	// waiter is the Lock or Semaphore call that made this attempt, if it
	// queued.
	waiter *waiter

	acquired time.Time // when the acquiring round began
	sent     time.Time // the same, on the real clock, to compare with what nodes know
	fence    uint64    // the fencing token; 0 without fencing

	// releaseArgs is args[:1], or {token, waiter id, how long it is marked
	// gone} for a lock granted to a waiter, which leaves the queue with the
	// release (until then it stays first in it, or until its life there
	// ends).
	releaseArgs []any

	gate gate       // one command at a time per node
	op   sync.Mutex // serialises Extend and Unlock

	mu       sync.Mutex // guards the fields below
	until    time.Time
	lost     error // non-nil once lost; wraps ErrLost
	unlocked bool
	hold     *holder // the running hold, if any
}

// argsAcquire is how many of a lock's args the acquiring script takes;
// argFence and argAttempt are the indexes of the fence and of the attempt's
// number.
const (
	argsAcquire = 7
	argFence    = 2
	argAttempt  = 6
)

// newLock returns a lock with a fresh token, not yet acquired, for the
// waiter w (nil for TryLock, which does not queue).
func (c *Client) newLock(cfg *config, name, key string, w *waiter) (*Lock, error) {
	token, err := newToken(cfg.rand)
	if err != nil {
		return nil, err
	}
	l := &Lock{client: c, cfg: *cfg, name: name, key: key, token: token}
	l.keyBuf[0] = key
	l.keys = l.keyBuf[:]
	fence := noFence
	if cfg.fencing {
		fence = undrawnFence
	}
	l.argBuf = [7]any{token, cfg.ttl.Milliseconds(), fence, noWaiter, zeroScore, queueLifeArg, noHandoff}
	if w != nil {
		l.waiter = w
		l.argBuf[3], l.argBuf[4] = w.idArg, w.score
	}
	l.args = l.argBuf[:]
	l.releaseArgs = l.args[:1]
	if w != nil {
		l.releaseArgs = []any{token, w.idArg, c.goneArg}
	}
	l.gate.init(len(c.nodes))
	return l, nil
}

// Boxed once: the acquiring script's arguments for no waiter and no
// hand-off, and the fence of a lock without fencing or not yet drawn.
var (
	noWaiter     any = ""
	zeroScore    any = int64(0)
	noHandoff    any = ""
	noFence      any = ""
	undrawnFence any = "0"
)

// Name returns the lock's name, as given to Lock or TryLock; for a permit,
// the semaphore's name.
func (l *Lock) Name() string { return l.name }

// Key returns the Redis key of the lock: the key prefix followed by the
// name, and for a permit by its slot's suffix (see [Semaphore]).
func (l *Lock) Key() string { return l.key }

// Token returns the random value that identifies this acquisition on the
// nodes. It is the owner's proof: do not log it; [Lock.Fingerprint] is
// the name to show.
func (l *Lock) Token() string { return l.token }

// Fingerprint returns [Fingerprint] of the lock's token.
func (l *Lock) Fingerprint() string { return Fingerprint(l.token) }

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

// Fence returns the lock's fencing token, or 0 if it was acquired without
// [WithFencing]. Tokens of one name increase strictly from one holder to
// the next; pass it to the resource the lock protects, which should refuse
// a token lower than the highest it has seen.
func (l *Lock) Fence() uint64 { return l.fence }

// Extend resets the lock's expiry on every node to its ttl, provided the
// node still holds the lock's token. The lock is extended if a quorum did so
// within the new validity; [Lock.Until] then moves forward. Nodes that had
// lost the key (restarted without their data, flushed) are then given it
// again in the background, so that they rejoin the lock and count from the
// next extension on.
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
// after Unlock, or while Unlock runs, wraps [ErrNotHeld].
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
		return l.extendLost(ctx, observe.LossExpired, 0, fmt.Errorf("%w: %q: validity lapsed %v ago", ErrLost, l.name, start.Sub(until)))
	}
	r, oc := l.round(ctx, l.args[:2], l.extendOn)
	ok, err := r.Wait(ctx, c.quorum)
	defer c.finish(r, oc) // after r is read below
	until, elapsed, valid := heldUntil(cfg, start)
	switch verdict, notOwners := l.judge(r, ok); {
	case verdict == confirmed && valid:
		if err := l.extended(until); err != nil {
			return err
		}
		l.heal(r)
		l.extendDone(ctx, observe.OutcomeOK, elapsed, nil)
		return nil
	case verdict == confirmed:
		return l.extendLost(ctx, observe.LossSlow, elapsed, fmt.Errorf("%w: %q: extending took %v, leaving no validity of the %v ttl: %w",
			ErrLost, l.name, elapsed, cfg.ttl, errOrNone(err)))
	case verdict == gone:
		return l.extendLost(ctx, observe.LossGone, elapsed, fmt.Errorf("%w: %q: %d of %d nodes no longer hold its token (expired or taken): %w",
			ErrLost, l.name, notOwners, len(c.nodes), err))
	case verdict == interrupted:
		err = fmt.Errorf("redlock: extend %q interrupted: %w", l.name, err)
		l.extendDone(ctx, observe.OutcomeUnknown, elapsed, err)
		return err
	}
	err = fmt.Errorf("redlock: extend %q: %d of %d nodes failed, so %d cannot confirm; the lock stays held until its validity ends in %v: %w",
		l.name, r.Failed(), len(c.nodes), c.quorum, l.Until().Sub(cfg.clock.Now()), err)
	l.extendDone(ctx, observe.OutcomeUnknown, elapsed, err)
	return err
}

// extended records a successful extension, unless the lock was unlocked or
// declared lost meanwhile (by Unlock, or by a hold whose deadline passed
// while Extend ran): an unlocked lock keeps the zero Until, and a lost lock
// stays lost. Until never moves backwards.
func (l *Lock) extended(until time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.unlocked:
		return fmt.Errorf("%w: %q was unlocked while it was being extended", ErrNotHeld, l.name)
	case l.lost != nil:
		return l.lost
	}
	if until.After(l.until) {
		l.until = until
	}
	return nil
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
// not ErrNotHeld; the keys left on those nodes expire by their ttl. A node
// whose first answer was lost with its connection, and whose resent release
// found no token, counts as holding it when the release was sent within the
// lock's validity (the first copy then removed it) and the node did not
// restart in between, and as unknown otherwise.
//
// Unlock also stops any hold of the lock, and [Lock.Until] becomes the zero
// time, even if an Extend was running. Since it usually runs after the
// work's context has ended, call it as
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
	l.unlocked = true // from here on no new hold starts and no extension counts
	until := l.until
	l.until = time.Time{}
	h := l.hold
	l.mu.Unlock()
	if h != nil {
		h.stop(context.Canceled)
	}
	l.op.Lock()
	defer l.op.Unlock()

	c := l.client
	trust := l.cfg.clock.Now().Before(until) // sent within validity
	r, oc := l.round(ctx, l.releaseArgs, func(ctx context.Context, _ int, n *Node, args []any) error {
		return c.compare(ctx, n, command{op: observe.OpRelease, script: releaseScript, keys: l.keys, args: args}, trust)
	})
	ok, err := r.Wait(ctx, c.quorum)
	defer c.finish(r, oc) // after r is read below
	switch verdict, notOwners := l.judge(r, ok); verdict {
	case confirmed:
		return l.released(ctx, observe.OutcomeOK, nil)
	case gone:
		return l.released(ctx, observe.OutcomeLost, fmt.Errorf("%w: %q: %d of %d nodes no longer held its token (expired or taken): %w",
			ErrNotHeld, l.name, notOwners, len(c.nodes), err))
	case interrupted:
		return l.released(ctx, observe.OutcomeUnknown,
			fmt.Errorf("redlock: unlock %q interrupted, release goes on in the background: %w", l.name, err))
	}
	return l.released(ctx, observe.OutcomeUnknown, fmt.Errorf("redlock: unlock %q: %d of %d nodes failed, so whether a quorum still held it is unknown; its keys there expire by their ttl: %w",
		l.name, r.Failed(), len(c.nodes), err))
}

// extendOn extends the lock on node i, and notes whether the node had lost
// the key, so that it can be healed.
func (l *Lock) extendOn(ctx context.Context, i int, n *Node, args []any) error {
	reply, _, err := l.client.call(ctx, n, command{op: observe.OpExtend, script: extendScript, keys: l.keys, args: args})
	if err != nil {
		return err
	}
	v, isInt := reply.(int64)
	l.gate.setAbsent(i, isInt && v == 0)
	switch {
	case isInt && v == 1:
		return nil
	case isInt && v == 0:
		return n.nodeErr(errKeyGone)
	case isInt && v == -1:
		return n.nodeErr(errNotOwner)
	}
	return n.nodeErr(fmt.Errorf("unexpected reply %v to %s", reply, extendScript.name))
}

// heal sets the lock again, in the background, on the nodes that answer
// r, an extension that succeeded, that they had lost the key, however late
// they answer: a node restarted without its data, or flushed, so rejoins
// the lock and counts from the next extension on. The heal goes through the
// gate like every command of the lock, so it cannot overtake a later
// Unlock; its round begins before Extend returns, and it is skipped only if
// every node has answered and none had lost the key.
func (l *Lock) heal(r *quorum.Round) {
	need := r.Pending() > 0
	for _, o := range r.Seen() {
		need = need || errors.Is(o.Err, errKeyGone)
	}
	if !need {
		return
	}
	c := l.client
	hr, oc := l.round(context.Background(), l.args[:3], func(ctx context.Context, i int, n *Node, args []any) error {
		if !l.gate.absent(i) {
			return nil
		}
		_, _, err := c.call(ctx, n, command{op: observe.OpHeal, script: healScript, keys: l.keys, args: args})
		return err
	})
	c.finish(hr, oc)
}

// compare runs an owner-checking script on n, as cmd says: nil if it acted,
// errNotOwner if the node does not hold the token. A copy resent after an
// earlier one's reply was lost that finds no token returns nil if trust is
// true and the server still knew the script (it did not restart in
// between, so the earlier copy removed the token), and errUnconfirmed
// otherwise: the earlier copy may have acted, or a restart lost the token.
func (c *Client) compare(ctx context.Context, n *Node, cmd command, trust bool) error {
	reply, how, err := c.call(ctx, n, cmd)
	resent := how != sentOnce
	if err != nil {
		return err
	}
	s := cmd.script
	switch v, isInt := reply.(int64); {
	case isInt && v == 1:
		return nil
	case isInt && v == 0 && how == sentAgain && trust:
		return nil
	case isInt && v == 0 && resent:
		return n.nodeErr(errUnconfirmed)
	case isInt && v == 0:
		return n.nodeErr(errNotOwner)
	}
	return n.nodeErr(fmt.Errorf("unexpected reply %v to %s", reply, s.name))
}

// isUnlocked reports whether Unlock has been called.
func (l *Lock) isUnlocked() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.unlocked
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

// extendLost marks l lost by an extension, for cause, and reports both.
func (l *Lock) extendLost(ctx context.Context, cause observe.LossCause, took time.Duration, err error) error {
	err = l.markLost(ctx, cause, err)
	l.extendDone(ctx, observe.OutcomeLost, took, err)
	return err
}

// markLost records err, which wraps ErrLost, as the lock's fate, lost for
// cause, and reports it unless the lock was lost already.
func (l *Lock) markLost(ctx context.Context, cause observe.LossCause, err error) error {
	l.mu.Lock()
	first := l.lost == nil
	if first {
		l.lost = err
		l.until = time.Time{}
	}
	err = l.lost
	l.mu.Unlock()
	if first {
		l.lostNow(ctx, cause, err)
	}
	return err
}
