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

// A Semaphore is the n permits of a name: at most n holders hold one at
// once, on the conditions under which a lock has at most one holder (see
// the package documentation, "Semaphores"). Get one with
// [Client.Semaphore]; it is a handle that holds nothing on the nodes, is
// safe for concurrent use, and may be used by any number of callers.
//
// A semaphore is n slots, each an ordinary lock of its own: a permit is a
// [*Permit], the [*Lock] of one slot, held until [Lock.Until], renewed by
// [Lock.Extend] or [Lock.Hold] and released by [Lock.Unlock], with the same
// lost signal and errors as any lock. [Lock.Name] is the semaphore's name
// and [Permit.Slot] the slot's number, 0 to n-1. With [WithFencing],
// [Lock.Fence] orders the holders of the permit's slot; fences of different
// slots are unrelated. The semaphore's key is the key prefix followed by
// name, and slot i's is that key followed by "{quorumlock}:slot:" and i, so
// a lock and a semaphore of the same name do not interfere. Callers that
// give one name different n share the slots below the smaller n: at most
// the largest n hold at once.
//
// Each attempt reads every slot on every node in one round, and tries, one
// at a time, up to three of the slots that may be free and not queued for
// on a quorum of the nodes (those the first answers show so first, then
// those the nodes yet to answer could make so), in random order among
// equals, each as TryLock would. Once an attempt finds every slot busy,
// [Semaphore.Acquire] queues for every slot, at the place given by when it
// began waiting, and waits as [Client.Lock] does: a slot released goes to
// the first live waiter queued for it, which nodes that implement
// [Subscriber] wake at once, and which then tries that slot before reading
// them all; a waiter otherwise tries again at the latest when a holder's
// ttl may have run out and every half second, which also keeps its place.
// So permits go first come, first served among waiters, across clients.
type Semaphore struct {
	c    *Client
	name string
	n    int
}

// A Permit is one of a [Semaphore]'s permits: the [*Lock] of one of its
// slots.
type Permit struct {
	*Lock
	slot int
}

// Slot returns the number of the permit's slot, from 0 to n-1: at most
// one holder at a time has each.
func (p *Permit) Slot() int { return p.slot }

// Semaphore returns the semaphore of the n permits of name. It does no
// I/O. An empty name, one containing [Reserved], or n below 1 or above
// [MaxPermits] is an error wrapping [ErrInvalidArgument].
func (c *Client) Semaphore(name string, n int) (*Semaphore, error) {
	switch {
	case name == "":
		return nil, invalid("semaphore name is empty")
	case n < 1 || n > MaxPermits:
		return nil, invalid("semaphore %q: permits must be 1 to %d, got %d", name, MaxPermits, n)
	case strings.Contains(name, Reserved):
		return nil, invalid("semaphore name %q contains %q, reserved for quorumlock's own keys", name, Reserved)
	}
	return &Semaphore{c: c, name: name, n: n}, nil
}

// Name returns the semaphore's name.
func (s *Semaphore) Name() string { return s.name }

// Permits returns how many permits the semaphore has.
func (s *Semaphore) Permits() int { return s.n }

// Acquire acquires one of the semaphore's permits, waiting until one is
// granted or ctx ends, as [Client.Lock] waits for a lock; opts override the
// client's options for this call, and are those Lock takes. On success the
// permit is held until [Lock.Until]. If ctx ends, the wait set by
// [WithWait] passes, or the retries of [WithRetryLimit] are spent first,
// Acquire returns an error wrapping [ErrNotObtained], the last attempt's
// causes and, if ctx ended, its cause. A nil ctx, a key of a slot longer
// than [MaxKeyLen] or containing [Reserved], or a bad option is an error
// wrapping [ErrInvalidArgument]. Keys set by a failed attempt are
// released, as for Lock.
func (s *Semaphore) Acquire(ctx context.Context, opts ...Option) (*Permit, error) {
	return s.acquire(ctx, opts, inLock)
}

// TryAcquire makes exactly one attempt at a permit, as [Semaphore]
// describes one, without queuing: it reads the slots and tries up to three
// that may be free on a quorum, and returns an error wrapping
// [ErrNotObtained] if none was granted. It does not take a slot a waiter
// is queued for. It returns like Acquire and takes the options of
// [Client.TryLock]: options about waiting are errors here.
func (s *Semaphore) TryAcquire(ctx context.Context, opts ...Option) (*Permit, error) {
	return s.acquire(ctx, opts, inTryLock)
}

// Do runs fn with one of the semaphore's permits, renewed in the
// background, and releases the permit when fn returns or panics. It is
// [Client.Do] with a permit for the lock, given to fn: it waits, fails,
// reports a lost permit and unlocks as Do does, and takes Do's options. A
// nil fn is an error wrapping [ErrInvalidArgument].
func (s *Semaphore) Do(ctx context.Context, fn func(ctx context.Context, p *Permit) error, opts ...Option) error {
	if fn == nil {
		return invalid("nil function")
	}
	p, err := s.acquire(ctx, opts, inDo)
	if err != nil {
		return err
	}
	return p.runHeld(ctx, func(ctx context.Context) error { return fn(ctx, p) })
}

// Status reads the semaphore's slots on every node, without changing
// them, and returns one [Status] for each, in slot order: Name is the
// semaphore's name, Key the slot's key, and Verdict and Owner say whether
// the slot's permit is held, and by whom, as [Client.Status] says of a
// lock. It reads every slot of a node in one command, waits as
// Client.Status does, takes its options and fails as it does.
func (s *Semaphore) Status(ctx context.Context, opts ...Option) ([]*Status, error) {
	cfg, keys, err := s.c.prepareSemaphore(ctx, s.name, s.n, opts, inStatus)
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("redlock: status of %q: %w", s.name, context.Cause(ctx))
	}
	return s.c.readStatus(ctx, &cfg, s.name, keys)
}

// acquire is Acquire, Do's acquisition or TryAcquire, as where says.
func (s *Semaphore) acquire(ctx context.Context, opts []Option, where scope) (*Permit, error) {
	l, err := s.c.permit(ctx, s.name, s.n, opts, where)
	if err != nil {
		return nil, err
	}
	return &Permit{Lock: l, slot: slotOf(l.key)}, nil
}

// slotOf returns the number of the slot whose key is key.
func slotOf(key string) int {
	i := strings.LastIndex(key, slotSuffix)
	n, _ := strconv.Atoi(key[i+len(slotSuffix):])
	return n
}

// semCalls names the semaphore calls by the scope of the lock calls whose
// options they take.
var semCalls = map[scope]string{inLock: "Semaphore.Acquire", inTryLock: "Semaphore.TryAcquire", inDo: "Semaphore.Do", inStatus: "Semaphore.Status"}

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

// permit is Acquire, Do's acquisition or TryAcquire, as where says: [Client.wait] over sweeps of the slots, queued for every slot.
func (c *Client) permit(ctx context.Context, name string, n int, opts []Option, where scope) (*Lock, error) {
	cfg, keys, err := c.prepareSemaphore(ctx, name, n, opts, where)
	if err != nil {
		return nil, err
	}
	return c.wait(ctx, &cfg, name, keys, where, false, func(ctx context.Context, w *waiter, rang int) (*Lock, busy, error) {
		return c.sweep(ctx, &cfg, name, keys, w, rang)
	})
}
