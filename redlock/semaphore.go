package redlock

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// MaxPermits is the most permits a semaphore may have.
const MaxPermits = 1024

// slotSuffix follows a semaphore's key, and precedes a slot's number, in
// the key of each of its slots. It contains [Reserved], which no lock key
// may, so that no lock and no other semaphore has a slot's key.
const slotSuffix = Reserved + "slot:"

// Semaphore acquires one of the n permits of the semaphore named name,
// waiting until one is granted or ctx ends, as [Client.Lock] waits for a
// lock; opts override the client's options for this call, and are those
// Lock takes. At most n holders hold a permit of one semaphore at once, on
// the conditions under which a lock has at most one (see the package
// documentation, "Semaphores").
//
// A semaphore is n slots, each an ordinary lock of its own: a permit is the
// [*Lock] of one slot, held until [Lock.Until], renewed by [Lock.Extend] or
// [Lock.Hold] and released by [Lock.Unlock], with the same lost signal and
// errors as any lock. [Lock.Name] is the semaphore's name and [Lock.Slot]
// the slot's number, 0 to n-1. With [WithFencing], [Lock.Fence] orders the
// holders of the permit's slot; fences of different slots are unrelated.
// The semaphore's key is the key prefix followed by name, and slot i's is
// that key followed by "{quorumlock}:slot:" and i, so a lock and a
// semaphore of the same name do not interfere. Callers that give one name
// different n share the slots below the smaller n: at most the largest n
// hold at once.
//
// Each attempt reads every slot on every node in one round, and tries, one
// at a time, up to three of the slots that may be free and not queued for
// on a quorum of the nodes (those the first answers show so first, then
// those the nodes yet to answer could make so), in random order among
// equals, each as TryLock would. Once an attempt finds every slot busy, the call queues
// for every slot, at the place given by when it began waiting, and waits
// as Lock does: a slot released goes to the first live waiter queued for
// it, which nodes that implement [Subscriber] wake at once, and which then
// tries that slot before reading them all; a waiter otherwise tries again
// at the latest when a holder's ttl may have run out and every half
// second, which also keeps its place. So permits go first come, first
// served among waiters, across clients.
//
// On success the permit is held until [Lock.Until]. If ctx ends, the wait
// set by [WithWait] passes, or the retries of [WithRetryLimit] are spent
// first, Semaphore returns an error wrapping [ErrNotObtained], the last
// attempt's causes and, if ctx ended, its cause. A nil ctx, an empty name,
// n below 1 or above [MaxPermits], a key of a slot longer than [MaxKeyLen],
// a name containing [Reserved], or a bad option is an error wrapping
// [ErrInvalidArgument]. Keys set by a failed attempt are released, as for
// Lock.
func (c *Client) Semaphore(ctx context.Context, name string, n int, opts ...Option) (*Lock, error) {
	return c.permit(ctx, name, n, opts, inLock)
}

// TrySemaphore makes exactly one attempt at a permit of the semaphore named
// name, as [Client.Semaphore] describes one, without queuing: it reads the
// slots and tries up to three that may be free on a quorum, and returns an
// error wrapping [ErrNotObtained] if none was granted. It does not take a
// slot a waiter is queued for. It returns like Semaphore and takes the
// options of [Client.TryLock]: options about waiting are errors here.
func (c *Client) TrySemaphore(ctx context.Context, name string, n int, opts ...Option) (*Lock, error) {
	return c.permit(ctx, name, n, opts, inTryLock)
}

// DoSemaphore runs fn while holding one of the n permits of the semaphore
// named name, renewed in the background, and releases the permit when fn
// returns or panics. It is [Client.Do] with the permit of
// [Client.Semaphore] for the lock: it waits, fails, reports a lost permit
// and unlocks as Do does, and takes Do's options. fn can reach its permit,
// for its slot or fence, with [HeldLock].
func (c *Client) DoSemaphore(ctx context.Context, name string, n int, fn func(ctx context.Context) error, opts ...Option) error {
	if fn == nil {
		return invalid("nil function")
	}
	l, err := c.permit(ctx, name, n, opts, inDo)
	if err != nil {
		return err
	}
	return l.runHeld(ctx, fn)
}

// Slot returns the number of the semaphore's slot that the lock is, from 0,
// for a permit of [Client.Semaphore], [Client.TrySemaphore] or
// [Client.DoSemaphore]; -1 for a lock of [Client.Lock] or [Client.TryLock].
func (l *Lock) Slot() int {
	i := strings.LastIndex(l.key, slotSuffix)
	if i < 0 {
		return -1
	}
	n, err := strconv.Atoi(l.key[i+len(slotSuffix):])
	if err != nil {
		return -1
	}
	return n
}

// SemaphoreStatus reads the n slots of the semaphore named name on every
// node, without changing them, and returns one [Status] for each, in slot
// order: Name is the semaphore's name, Key the slot's key, and Verdict and
// Owner say whether the slot's permit is held, and by whom, as Status says
// of a lock. It reads every slot of a node in one command, waits as
// [Client.Status] does, takes its options and fails as it does; n below 1
// or above [MaxPermits] is an error wrapping [ErrInvalidArgument] too.
func (c *Client) SemaphoreStatus(ctx context.Context, name string, n int, opts ...Option) ([]*Status, error) {
	cfg, keys, err := c.prepareSemaphore(ctx, name, n, opts, inStatus)
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("redlock: status of %q: %w", name, context.Cause(ctx))
	}
	return c.readStatus(ctx, &cfg, name, keys)
}

// semCalls names the semaphore calls by the scope of the lock calls whose
// options they take.
var semCalls = map[scope]string{inLock: "Semaphore", inTryLock: "TrySemaphore", inDo: "DoSemaphore", inStatus: "SemaphoreStatus"}

// prepareSemaphore validates a semaphore call's arguments, given to the
// call whose options it takes, where, and returns its config and the keys
// of its slots.
func (c *Client) prepareSemaphore(ctx context.Context, name string, n int, opts []Option, where scope) (config, []string, error) {
	switch {
	case ctx == nil:
		return config{}, nil, invalid("nil context")
	case name == "":
		return config{}, nil, invalid("semaphore name is empty")
	case n < 1 || n > MaxPermits:
		return config{}, nil, invalid("semaphore %q: permits must be 1 to %d, got %d", name, MaxPermits, n)
	}
	cfg := c.cfg
	if len(opts) > 0 {
		var err error
		if cfg, err = cfg.apply(opts, where); err != nil {
			return config{}, nil, fmt.Errorf("%w (%s takes the options of %s)", err, semCalls[where], where.callName())
		}
	}
	key := cfg.prefix + name
	if strings.Contains(key, Reserved) {
		return config{}, nil, invalid("semaphore key %q contains %q, reserved for quorumlock's own keys", key, Reserved)
	}
	keys := make([]string, n)
	for i := range keys {
		keys[i] = key + slotSuffix + strconv.Itoa(i)
	}
	if last := len(keys[n-1]); last > MaxKeyLen {
		return config{}, nil, invalid("semaphore %q: the key of its slot %d is %d bytes, the limit is %d", name, n-1, last, MaxKeyLen)
	}
	return cfg, keys, nil
}

// permit is Semaphore, DoSemaphore's acquisition or TrySemaphore, as where
// says: [Client.wait] over sweeps of the slots, queued for every slot.
func (c *Client) permit(ctx context.Context, name string, n int, opts []Option, where scope) (*Lock, error) {
	cfg, keys, err := c.prepareSemaphore(ctx, name, n, opts, where)
	if err != nil {
		return nil, err
	}
	return c.wait(ctx, &cfg, name, keys, where, false, func(ctx context.Context, w *waiter, rang int) (*Lock, busy, error) {
		return c.sweep(ctx, &cfg, name, keys, w, rang)
	})
}
