package redlock

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/quorumlock/quorumlock/clock"
	"github.com/quorumlock/quorumlock/quorum"
	"github.com/quorumlock/quorumlock/redlock/observe"
)

// Lock acquires the lock named name, retrying after a random delay (see
// [WithRetryDelay] and [WithRetryLimit]) until it is granted or ctx ends.
// opts override the client's options for this lock.
//
// On success the lock is held until [Lock.Until]. If ctx ends, the wait set
// by [WithWait] passes, or the retries are spent first, Lock returns an
// error wrapping [ErrNotObtained], the last attempt's per-node causes and,
// if ctx ended, its cause. An empty or oversized name, a nil ctx or a bad
// option is an error wrapping [ErrInvalidArgument]. Keys set by a failed
// attempt are released, including those on nodes that answer after Lock
// has returned.
func (c *Client) Lock(ctx context.Context, name string, opts ...Option) (*Lock, error) {
	return c.obtain(ctx, name, opts, inLock)
}

// TryLock makes exactly one attempt to acquire the lock named name. It
// returns like [Client.Lock]. Options about waiting ([WithWait],
// [WithRetryLimit]) are errors here.
func (c *Client) TryLock(ctx context.Context, name string, opts ...Option) (*Lock, error) {
	return c.obtain(ctx, name, opts, inTryLock)
}

// obtain is Lock, Do's acquisition or TryLock, as where says.
func (c *Client) obtain(ctx context.Context, name string, opts []Option, where scope) (*Lock, error) {
	cfg, key, err := c.prepare(ctx == nil, name, opts, where)
	if err != nil {
		return nil, err
	}
	return c.wait(ctx, &cfg, name, []string{key}, where, !cfg.fencing, func(ctx context.Context, w *waiter, _ int) (*Lock, busy, error) {
		return c.attempt(ctx, &cfg, name, key, w)
	})
}

// contendedFor is how long after finding a key busy a client queues at
// once for it.
const contendedFor = time.Second

// busyAt records that an attempt found key busy at now.
func (c *Client) busyAt(key string, now time.Time) { c.busy.Store(key, now) }

// contended reports whether an attempt found key busy within contendedFor
// of now, forgetting it otherwise.
func (c *Client) contended(key string, now time.Time) bool {
	v, ok := c.busy.Load(key)
	if !ok {
		return false
	}
	if now.Sub(v.(time.Time)) < contendedFor {
		return true
	}
	c.busy.CompareAndDelete(key, v)
	return false
}

// A try is one attempt of a wait: at a lock, or a sweep of a semaphore's
// slots. rang is the index of the key whose release woke the waiter, -1 if
// none did.
type try func(ctx context.Context, w *waiter, rang int) (*Lock, busy, error)

// wait makes attempts with try until one is granted: one attempt for
// TryLock and Semaphore.TryAcquire; otherwise until ctx ends, the wait set by
// WithWait passes or the retries are spent, waiting between attempts in the
// queues of keys, to be woken by their releases or, if hands is set (a
// lock without fencing), handed the lock by them (see [handoff]).
func (c *Client) wait(ctx context.Context, cfg *config, name string, keys []string, where scope, hands bool, tryOnce try) (_ *Lock, err error) {
	var (
		tries int                    // attempts made
		last  observe.AttemptOutcome // how the last one ended
		got   *Lock                  // the lock, once acquired
	)
	if c.observed() {
		start := cfg.clock.Now()
		defer func() { c.obtained(ctx, cfg, name, got, err, tries, last, start) }()
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotObtained, context.Cause(ctx))
	}
	retry := where != inTryLock
	if retry && cfg.waitSet {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.wait)
		defer cancel()
	}
	// The waiter, made when a first attempt finds the keys busy, so that an
	// uncontended Lock costs no more than TryLock; or at once, queued and
	// subscribed before the first attempt, when this client found them busy
	// lately, which saves that attempt under contention.
	var (
		w      *waiter
		handed bool // the lock was handed to w
	)
	leaving := keys // the queues w leaves when done
	defer func() {
		switch {
		case handed:
			c.stopWaitingHanded(w)
		case w != nil:
			c.stopWaiting(w, leaving...)
		}
	}()
	if retry && c.contended(keys[0], cfg.clock.Now()) {
		if w, err = c.newWaiter(cfg, hands, keys); err != nil {
			return nil, err
		}
		c.subscribe(w)
	}
	var (
		timer clock.Timer
		prev  error // the last attempt that ended on its own
		rang  = -1  // the key whose release woke the waiter, if one did
	)
	for attempt := 0; ; attempt++ {
		l, busy, err := tryOnce(ctx, w, rang)
		tries++
		last = c.attempted(ctx, name, err, busy)
		if w != nil {
			w.queued = true // it may be queued on any node the attempt reached
		}
		if err == nil {
			if timer != nil {
				timer.Stop()
			}
			if w != nil {
				// The lock's release takes the waiter out of its queue (it
				// stays first until then); the deferred stopWaiting takes it
				// out of the other keys' queues, a semaphore's other slots.
				leaving = slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return k == l.key })
			}
			got = l
			return l, nil
		}
		if ctx.Err() != nil {
			if prev != nil && errors.Is(err, context.Cause(ctx)) {
				err = prev // the interrupted attempt says less
			}
			return nil, withCause(ctx, err)
		}
		prev = err
		if !retry || errors.Is(err, ErrInvalidArgument) {
			return nil, err
		}
		if w != nil && !busy.held {
			// It left the queues (see [Client.attempt]): it joins again, last.
			w.score = c.clocks.place(cfg.clock.Now())
		}
		if cfg.limited && attempt >= cfg.retryLimit {
			return nil, fmt.Errorf("%w (after %d attempts)", err, attempt+1)
		}
		delay := cfg.retryDelay()
		if busy.held {
			c.busyAt(keys[0], cfg.clock.Now())
			if w == nil {
				// Queue from now on, and hear of the releases: the
				// subscription comes before the next attempt, so no
				// release can fall between them.
				if w, err = c.newWaiter(cfg, hands, keys); err != nil {
					return nil, err
				}
				c.subscribe(w)
				rang = -1
				continue
			}
			// Woken by a release, or at the latest when a holder's ttl
			// runs out or the waiter must show it is alive.
			delay = min(busy.pttl+time.Millisecond, queueRefresh)
		}
		if timer == nil {
			timer = cfg.clock.NewTimer(delay)
		} else {
			timer.Reset(delay)
		}
		var h *Lock
		if rang, h, err = c.sleep(ctx, cfg, w, timer); h != nil {
			// As for a grant: the release takes the waiter out of the
			// lock's queue (a lock has no other keys to leave).
			handed = true
			got = h
			return h, nil
		}
		if err != nil {
			return nil, withCause(ctx, prev)
		}
	}
}

// sleep waits between attempts, on timer, until it fires, w (if not nil)
// is woken, or ctx ends (then it returns ctx's cause). It returns the index
// of the key whose release woke w, -1 if none did; or the lock, if it was
// handed to w. A waiter that has heard of a hand-off from some nodes, not
// enough to hold the lock, waits up to the node timeout more for the
// others' messages before it tries again.
func (c *Client) sleep(ctx context.Context, cfg *config, w *waiter, timer clock.Timer) (rang int, handed *Lock, err error) {
	var wake <-chan struct{}
	if w != nil {
		wake = w.wake
	}
	extended := false
	for {
		select {
		case <-timer.C():
			return -1, nil, nil
		case <-wake:
			rang = int(w.rang.Swap(0)) - 1
			if w.hand != nil {
				if l := c.handedOver(w.hand); l != nil {
					timer.Stop()
					return -1, l, nil
				}
				if rang < 0 && w.hand.mayHearMore() {
					// More of the hand-off's messages are on their way.
					if !extended {
						extended = true
						timer.Stop()
						timer.Reset(cfg.nodeTimeout)
					}
					continue
				}
			}
			timer.Stop()
			return rang, nil, nil
		case <-ctx.Done():
			timer.Stop()
			return -1, nil, context.Cause(ctx)
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

// busy tells why an attempt failed: held is set if a node said the lock
// is held, or that earlier waiters are queued; pttl is the shortest time
// left to a holder (queueRefresh if no node named one).
type busy struct {
	held bool
	pttl time.Duration
}

// attempt makes one attempt: the acquiring script on every node at once,
// held if a quorum set the key within the validity. w is the waiter, nil
// for TryLock.
func (c *Client) attempt(ctx context.Context, cfg *config, name, key string, w *waiter) (*Lock, busy, error) {
	var b busy
	l, err := c.newLock(cfg, name, key, w)
	if err != nil {
		return nil, b, err
	}
	if h := w.handoffs(); h != nil {
		l.args[argAttempt] = h.arm(l)
	}
	start := cfg.clock.Now()
	l.acquired, l.sent = start, time.Now()
	r, oc := l.round(ctx, l.args[:argsAcquire], l.acquireOn)
	ok, err := r.Wait(ctx, c.quorum)
	b = l.busy(r)
	what := "granted it"
	if ok >= c.quorum && cfg.fencing {
		if ferr := l.drawFence(r); ferr != nil {
			c.finish(r, oc)
			l.undo(true)
			return nil, b, fmt.Errorf("%w: %w", ErrNotObtained, ferr)
		}
		c.finish(r, oc)
		r, oc = l.round(ctx, l.args[:3], l.raiseOn)
		ok, err = r.Wait(ctx, c.quorum)
		what = fmt.Sprintf("raised its fence to %d", l.fence)
	}
	until, elapsed, valid := heldUntil(cfg, start)
	c.finish(r, oc)
	if ok >= c.quorum && valid {
		l.until = until
		if h := w.handoffs(); h != nil {
			h.disarm()
		}
		return l, b, nil
	}
	// Not held: release everywhere the key may have been set, on each node
	// once its SET has been answered, however late. A waiter whose attempt
	// found the lock busy nowhere keeps its place only if someone else holds
	// the lock: otherwise its grants did not count (nodes refused or out of
	// reach), and were it to stay first it would keep the free lock from
	// every waiter behind it; it leaves, and the caller gives it a place at
	// the back (see [Client.wait]).
	l.undo(b.held)
	if ok < c.quorum {
		return nil, b, fmt.Errorf("%w: %q: %d of %d nodes %s, %d needed: %w",
			ErrNotObtained, name, ok, len(c.nodes), what, c.quorum, errOrNone(err))
	}
	{
		return nil, b, fmt.Errorf("%w: %q: %d of %d nodes %s but the acquisition took %v, leaving no validity of the %v ttl: %w",
			ErrNotObtained, name, ok, len(c.nodes), what, elapsed, cfg.ttl, errOrNone(err))
	}
}

func errOrNone(err error) error {
	if err == nil {
		return errors.New("no node failed")
	}
	return err
}

// acquireOn runs the acquiring script on node i, the first command of the
// lock there, and records whether it may have set the key and, with
// fencing, the node's fence counter. A grant counts if the node is vetted
// and out of quarantine (see [Client.admit]).
func (l *Lock) acquireOn(ctx context.Context, i int, n *Node, args []any) error {
	sent, sentC := time.Now(), l.cfg.clock.Now()
	a, err := l.client.acquire(ctx, n, l.keys, args)
	granted, pttl := a.granted, a.pttl
	l.gate.setAnswer(i, err != nil || granted, a.counter, pttl)
	if err == nil && !granted {
		l.client.clocks.seen(i, a.at, l.cfg.clock.Now())
	}
	if h := l.waiter.handoffs(); err == nil && !granted && h != nil {
		l.client.keepVetted(i) // so that the node's hand-off can count
		if h.answered(l, i) {
			l.waiter.ring() // its hand-off's message came before this answer
		}
	}
	switch {
	case err != nil:
		return err
	case !granted && pttl > 0:
		return n.nodeErr(errHeldElsewhere)
	case !granted:
		return n.nodeErr(errQueued)
	}
	if err := l.client.admit(ctx, i, &l.cfg, sent, sentC); err != nil {
		return n.nodeErr(err)
	}
	return nil
}

// An answer is a node's answer to the acquiring script.
type answer struct {
	granted bool          // the key holds the token now
	pttl    time.Duration // if not: the holder's time left (2^31-1 ms without expiry); -1 if the lock is free but earlier waiters are queued
	counter uint64        // with fencing, the node's fence counter
	at      int64         // if not granted, the server's time, in ms since 1970
}

// acquire runs the acquiring script on n (see acquire.lua for its replies).
func (c *Client) acquire(ctx context.Context, n *Node, keys []string, args []any) (answer, error) {
	reply, _, err := c.call(ctx, n, command{op: observe.OpAcquire, script: acquireScript, keys: keys, args: args})
	if err != nil {
		return answer{}, err
	}
	if v, isInt := reply.(int64); isInt && v == 1 {
		return answer{granted: true}, nil
	}
	bad := n.nodeErr(fmt.Errorf("unexpected reply to %s", acquireScript.name))
	parts, ok := reply.([]any)
	if !ok || len(parts) < 2 || len(parts) > 3 {
		return answer{}, bad
	}
	code, _ := parts[0].(int64)
	var a answer
	if s, _ := parts[1].(string); s != "" {
		if a.counter, err = strconv.ParseUint(s, 10, 64); err != nil {
			return answer{}, n.nodeErr(fmt.Errorf("unexpected fence counter %q from %s", s, acquireScript.name))
		}
	}
	switch {
	case code == 1 && len(parts) == 2:
		a.granted = true
		return a, nil
	case len(parts) != 3:
		return answer{}, bad
	case code == -1:
		a.pttl = -1
	case code <= -2:
		a.pttl = time.Duration(-1-code) * time.Millisecond
	default:
		return answer{}, bad
	}
	if a.at, ok = parts[2].(int64); !ok {
		return answer{}, bad
	}
	return a, nil
}

// busy reads from r, a failed acquiring round, whether the lock is held or
// queued for, and for how long yet at least.
func (l *Lock) busy(r *quorum.Round) busy {
	b := busy{pttl: queueRefresh}
	for _, o := range r.Seen() {
		switch {
		case errors.Is(o.Err, errHeldElsewhere):
			b.held = true
			b.pttl = min(b.pttl, l.gate.pttl(o.Target))
		case errors.Is(o.Err, errQueued): // free, but not our turn: the release of the one before us will tell
			b.held = true
		}
	}
	return b
}
