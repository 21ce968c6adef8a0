package redlock

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/quorumlock/quorumlock/redlock/observe"
)

// holder is one running hold of a lock.
type holder struct {
	cancel context.CancelCauseFunc
	done   chan struct{} // closed when the renewal goroutine has exited
}

// stop ends the hold with cause and waits for its goroutine.
func (h *holder) stop(cause error) {
	h.cancel(cause)
	<-h.done
}

// Hold keeps the lock renewed in the background and returns a context for
// the work it protects, with the shape of [context.WithCancel]. The lock is
// extended about every third of its ttl; an extension that fails without
// proving the lock lost (nodes unreachable) is retried after the client's
// retry delay while validity remains.
//
// held is cancelled before the lock's validity runs out whenever renewal
// cannot prove the lock held: at [Lock.Until] less the hold margin (see
// [WithHoldMargin]) if no renewal has succeeded by then, driven by a local
// timer rather than by a hung call, or as soon as [Lock.Extend] reports the
// lock lost. With [WithMaxHold], held is also cancelled, with a cause
// wrapping [ErrMaxHold], once the lock has been held that long since its
// acquisition; renewal stops then, and the lock lapses by its ttl unless
// unlocked. Then [context.Cause](held) wraps [ErrLost] and says why: lost to
// expiry or another owner, or nodes unreachable. The lock is then lost for
// good; Hold never re-acquires it. held also ends when ctx does, with ctx's
// cause.
//
// stop ends renewal without unlocking and waits for the renewal goroutine to
// exit; it may be called more than once. [Lock.Unlock] stops the hold too.
// A lock has at most one hold at a time: a second Hold, a Hold of a lock
// already lost or unlocked, or a nil ctx returns a held context that is
// already cancelled with the reason as its cause.
func (l *Lock) Hold(ctx context.Context) (held context.Context, stop context.CancelFunc) {
	if ctx == nil {
		held, cancel := context.WithCancelCause(context.Background())
		cancel(invalid("nil context"))
		return held, func() {}
	}
	held, cancel := context.WithCancelCause(context.WithValue(ctx, heldKey{}, l))
	l.mu.Lock()
	var err error
	switch {
	case l.unlocked: // or being unlocked: Unlock sets this before it stops holds
		err = fmt.Errorf("%w: %q is unlocked", ErrNotHeld, l.name)
	case l.lost != nil:
		err = l.lost
	case l.hold != nil:
		err = invalid("lock %q already has a hold", l.name)
	}
	if err != nil {
		l.mu.Unlock()
		cancel(err)
		return held, func() { cancel(context.Canceled) }
	}
	h := &holder{cancel: cancel, done: make(chan struct{})}
	l.hold = h
	l.mu.Unlock()
	go l.renew(held, h)
	return held, func() { h.stop(context.Canceled) }
}

// heldKey is the context key under which a hold's context carries its lock.
type heldKey struct{}

// HeldLock returns the lock whose hold ctx is, or derives from: the context
// that [Lock.Hold] returns and [Client.Do] passes to its function. It
// returns nil for other contexts.
func HeldLock(ctx context.Context) *Lock {
	l, _ := ctx.Value(heldKey{}).(*Lock)
	return l
}

// renew is the hold's goroutine.
func (l *Lock) renew(held context.Context, h *holder) {
	defer close(h.done)
	defer l.clearHold(h)
	clk, margin := l.cfg.clock, l.cfg.holdMargin()
	untilMargin := func() time.Duration { return l.Until().Sub(clk.Now()) - margin }

	deadline := clk.NewTimer(untilMargin())
	defer deadline.Stop()
	var limit <-chan time.Time // fires when the hold reaches WithMaxHold
	if l.cfg.maxHoldSet {
		t := clk.NewTimer(l.acquired.Add(l.cfg.maxHold).Sub(clk.Now()))
		defer t.Stop()
		limit = t.C()
	}
	// Renew every third of the ttl, but at the latest halfway to the
	// deadline, so that a hold started late, or with a wide margin, still
	// renews before it gives up.
	renewIn := func() time.Duration { return min(l.renewEvery(), max(untilMargin()/2, 0)) }
	next := clk.NewTimer(renewIn())
	defer next.Stop()

	var (
		extended chan error // not nil while an Extend is in flight
		last     error      // the last renewal's failure, if it failed
	)
	defer func() {
		if extended != nil {
			<-extended // held is cancelled by now, so Extend returns promptly
		}
	}()
	for {
		select {
		case <-held.Done():
			return
		case <-limit:
			l.heldTooLong(held)
			h.cancel(fmt.Errorf("%w: %q was held for %v, the bound set by WithMaxHold; it is no longer renewed",
				ErrMaxHold, l.name, l.cfg.maxHold))
			return
		case <-deadline.C():
			if last == nil {
				last = errors.New("no renewal completed")
			}
			h.cancel(l.markLost(held, observe.LossNotRenewed, fmt.Errorf("%w: %q: not renewed within %v of the end of its validity: %w",
				ErrLost, l.name, margin, last)))
			return
		case <-next.C():
			extended = make(chan error, 1)
			go func(done chan<- error) { done <- l.Extend(held) }(extended)
		case err := <-extended:
			extended = nil
			switch {
			case err == nil:
				last = nil
				deadline.Reset(untilMargin())
				next.Reset(renewIn())
			case errors.Is(err, ErrLost), errors.Is(err, ErrNotHeld):
				h.cancel(err)
				return
			case held.Err() != nil:
				return
			default: // unknown outcome: retry while validity remains
				last = err
				next.Reset(min(l.cfg.retryDelay(), max(untilMargin(), 0)))
			}
		}
	}
}

// renewEvery is a third of the ttl, give or take a tenth of that, so that
// the holders of many locks do not renew in step.
func (l *Lock) renewEvery() time.Duration {
	d := l.cfg.ttl / 3
	if j := d / 5; j > 0 {
		d += rand.N(j) - j/2
	}
	return d
}

func (l *Lock) clearHold(h *holder) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.hold == h {
		l.hold = nil
	}
}
