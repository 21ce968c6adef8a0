package redlock

import (
	"errors"
	"fmt"
)

var (
	// ErrNotObtained is returned by [Client.Lock] and [Client.TryLock] when a
	// quorum of nodes could not be locked within the validity window, and by
	// [Semaphore.Acquire] and [Semaphore.TryAcquire] when no slot could be. It
	// wraps the per-node causes ([NodeError]) and, when ctx ended first, the
	// context's cause.
	ErrNotObtained = errors.New("redlock: not obtained")

	// ErrLost is returned by [Lock.Extend], and is the cause of a hold's
	// cancellation, when the lock can no longer be shown to be held by a
	// quorum: its validity lapsed, too few nodes still hold its token, or a
	// hold could not renew it before its margin. A lost lock stays lost.
	ErrLost = errors.New("redlock: lock lost")

	// ErrNotHeld is returned by [Lock.Unlock] when so many nodes answered
	// that they no longer held the lock's token that a quorum cannot have:
	// the critical section may have run unprotected. Extend, Hold and Unlock
	// of a lock already unlocked return it too.
	ErrNotHeld = errors.New("redlock: lock not held")

	// ErrInvalidArgument wraps every rejected argument or option; the message
	// names what was wrong. A node whose server cannot do what the node's
	// settings ask (a database number it cannot select) fails with a
	// [NodeError] wrapping it too.
	ErrInvalidArgument = errors.New("redlock: invalid argument")

	// ErrMaxHold is the cause of a hold's cancellation when it reached the
	// bound set by [WithMaxHold]: the lock is still held, but no longer
	// renewed. Do returns it, so the caller knows the work was cut short.
	ErrMaxHold = errors.New("redlock: maximum hold time reached")

	// ErrAuth is wrapped by the [NodeError] of a node that refused the
	// client's credentials or one of its commands (WRONGPASS, NOAUTH,
	// NOPERM): a configuration problem rather than an outage.
	ErrAuth = errors.New("redlock: authentication or permission refused")
)

// Per-node causes, kept unexported: callers branch on the sentinels above and
// read these in messages.
var (
	// errHeldElsewhere: SET NX found the key set, by another owner.
	errHeldElsewhere = errors.New("held by another owner")
	// errQueued: the lock is free on the node, but earlier waiters are
	// queued for it.
	errQueued = errors.New("free, but earlier waiters are queued")
	// errNotOwner: the node does not hold this lock's token (absent, expired
	// or another owner's).
	errNotOwner = errors.New("token not present")
	// errKeyGone: an extension found the key absent (expired, flushed, or
	// lost in a restart).
	errKeyGone = errors.New("key gone")
	// errUnconfirmed: a release was resent after an earlier copy's reply
	// was lost, and the resent copy found no token: the first copy may have
	// removed it, or it may have been gone already.
	errUnconfirmed = errors.New("token not present when resent; an earlier copy whose reply was lost may have released it")
)

// A NodeError is a failure on one Redis node.
type NodeError struct {
	Addr string // the node's address, as [Node.Addr] reports it
	Err  error  // what went wrong there
}

// Error describes the failure, naming the node.
func (e *NodeError) Error() string { return "node " + e.Addr + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *NodeError) Unwrap() error { return e.Err }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidArgument}, args...)...)
}
