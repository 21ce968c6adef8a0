package redlock

import (
	"context"
	"errors"
	"strings"
)

// Do runs fn while holding the lock named name, renewed in the background,
// and releases the lock when fn returns or panics.
//
// Do acquires the lock as [Client.Lock] does, waiting until ctx ends or for
// as long as [WithWait] says, with opts overriding the client's options. fn gets the context of a hold (see
// [Lock.Hold]): it is cancelled before the lock's validity runs out if the
// lock cannot be renewed, with [context.Cause] wrapping [ErrLost]; fn should
// stop its work when it is.
//
// Do returns the acquisition error if the lock was not obtained (fn is not
// called), else fn's error joined with the reason the lock was lost, if it
// was (even when fn succeeded: the work may have run unprotected), or with
// [ErrMaxHold] if the hold reached its bound, and with [Lock.Unlock]'s
// error. fn can reach its lock, for its fence or fingerprint, with
// [HeldLock]. A nil fn is an error wrapping [ErrInvalidArgument].
// If fn panics, the lock is released and the panic goes on.
func (c *Client) Do(ctx context.Context, name string, fn func(ctx context.Context) error, opts ...Option) (err error) {
	if fn == nil {
		return invalid("nil function")
	}
	l, err := c.obtain(ctx, name, opts, inDo)
	if err != nil {
		return err
	}
	return l.runHeld(ctx, fn)
}

// runHeld runs fn under a hold of l, the lock Do or Semaphore.Do obtained,
// unlocks l when fn returns or panics, and returns as Do describes.
func (l *Lock) runHeld(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	held, stop := l.Hold(ctx)
	defer func() {
		p := recover()
		stop()
		var lost error
		if cause := context.Cause(held); errors.Is(cause, ErrLost) || errors.Is(cause, ErrMaxHold) {
			lost = cause
		}
		var unlockErr error
		if !l.isUnlocked() { // fn may have unlocked it itself
			unlockErr = l.Unlock(context.WithoutCancel(ctx))
		}
		if p != nil {
			panic(p)
		}
		err = join(err, lost, unlockErr)
	}()
	return fn(held)
}

// join is errors.Join on one line: the non-nil errs, separated by "; ".
func join(errs ...error) error {
	var j joined
	for _, e := range errs {
		if e != nil {
			j = append(j, e)
		}
	}
	switch len(j) {
	case 0:
		return nil
	case 1:
		return j[0]
	}
	return j
}

type joined []error

func (j joined) Error() string {
	var b strings.Builder
	for i, e := range j {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

func (j joined) Unwrap() []error { return j }
