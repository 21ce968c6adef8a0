package redlock

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/quorumlock/quorumlock/redlock/observe"
)

// sweepTries is how many of the slots that look free one sweep tries.
const sweepTries = 3

// sweep makes one attempt at a permit of the semaphore name, whose slots'
// keys are keys: it reads every slot on every node, then tries up to
// sweepTries of those that may be free on a quorum, one at a time, each
// with an ordinary attempt at its lock. w is the waiter, nil for TryAcquire and
// before the call has found every slot busy; the reading queues it for
// every busy slot, and a failed attempt for the slot it tried. busy says
// whether the slots were found held or queued for, and the shortest time
// left to a holder.
//
// If rang is a slot, not -1, the waiter was just told that the slot is
// its turn: the sweep tries it first, and reads the slots only if that
// fails, which saves a handover a round.
func (c *Client) sweep(ctx context.Context, cfg *config, name string, keys []string, w *waiter, rang int) (*Lock, busy, error) {
	if rang >= 0 && rang < len(keys) {
		if l, _, err := c.attempt(ctx, cfg, name, keys[rang], w); err == nil || ctx.Err() != nil {
			return l, busy{}, err
		}
	}
	free, b, err := c.readSlots(ctx, cfg, name, keys, w)
	if err != nil || len(free) == 0 {
		return nil, b, err
	}
	var last error
	tries := free[:min(len(free), sweepTries)]
	for _, slot := range tries {
		l, lb, err := c.attempt(ctx, cfg, name, keys[slot], w)
		if err == nil {
			return l, b, nil
		}
		if lb.held { // taken since it was read: wait as for a busy slot
			b.held = true
			b.pttl = min(b.pttl, lb.pttl)
		}
		last = fmt.Errorf("%w (slot %d of semaphore %q, tried as one of %d of its %d slots that may have been free)",
			err, slot, name, len(free), len(keys))
		if ctx.Err() != nil || errors.Is(err, ErrInvalidArgument) {
			break
		}
	}
	return nil, b, last
}

// readSlots reads the slots keys of the semaphore name on every node in
// one round, returning once a quorum has answered, and returns the slots
// that may be free, and not queued for by another waiter, on a quorum:
// those the answers show so, or that the nodes yet to answer could make
// so. Those shown free on the most nodes come first, in random order among
// equals, so that callers that read together try different slots. If no
// slot may be free, it returns an error wrapping ErrNotObtained. w is
// queued for every slot not shown free to it.
func (c *Client) readSlots(ctx context.Context, cfg *config, name string, keys []string, w *waiter) ([]int, busy, error) {
	b := busy{pttl: queueRefresh}
	base := []any{noWaiter, zeroScore, queueLifeArg}
	if w != nil {
		base[0], base[1] = w.idArg, w.score
	}
	args := perNode(len(c.nodes), base, nil)
	states := make([][]int64, len(c.nodes)) // each written by its node's call, read once seen
	r, oc := c.everyNode(ctx, cfg.nodeTimeout, func(ctx context.Context, i int, n *Node) error {
		reply, _, err := c.call(ctx, n, command{op: observe.OpSlots, script: slotsScript, keys: keys, args: args.of(i)})
		if err != nil {
			return err
		}
		s, at, err := slotStates(reply, len(keys))
		if err != nil {
			return n.nodeErr(err)
		}
		c.clocks.seen(i, at, cfg.clock.Now())
		states[i] = s
		return nil
	})
	ok, err := r.Wait(ctx, c.quorum)
	defer c.finish(r, oc) // after r is read below
	if ok < c.quorum {
		return nil, b, fmt.Errorf("%w: semaphore %q: %d of %d nodes read its slots, %d needed: %w",
			ErrNotObtained, name, ok, len(c.nodes), c.quorum, errOrNone(err))
	}
	shown := make([]int, len(keys)) // how many nodes showed each slot free to us
	for _, o := range r.Seen() {
		if o.Err != nil {
			continue
		}
		for slot, v := range states[o.Target] {
			switch {
			case v == 0:
				shown[slot]++
			case v > 0: // held, for v ms more at most
				b.held = true
				b.pttl = min(b.pttl, time.Duration(v)*time.Millisecond)
			default: // free, but an earlier waiter's turn: its release will tell
				b.held = true
			}
		}
	}
	// A slot may be free on a quorum if the nodes yet to answer can make
	// it so: they may not have run a release that the others have.
	var free []int
	for slot, k := range shown {
		if k+r.Pending() >= c.quorum {
			free = append(free, slot)
		}
	}
	if len(free) == 0 {
		return nil, b, fmt.Errorf("%w: semaphore %q: none of its %d slots is free and not queued for on a quorum (%d) of the nodes; %d of %d answered",
			ErrNotObtained, name, len(keys), c.quorum, ok, len(c.nodes))
	}
	rand.Shuffle(len(free), func(i, j int) { free[i], free[j] = free[j], free[i] })
	slices.SortStableFunc(free, func(a, b int) int { return cmp.Compare(shown[b], shown[a]) })
	return free, b, nil
}

// slotStates checks a reply of slots.lua for n slots, and returns the
// slots' states and the server's time.
func slotStates(reply any, n int) ([]int64, int64, error) {
	values, ok := reply.([]any)
	if !ok || len(values) != n+1 {
		return nil, 0, fmt.Errorf("unexpected reply to %s: want %d integers", slotsScript.name, n+1)
	}
	states := make([]int64, n)
	for i, v := range values[:n] {
		if states[i], ok = v.(int64); !ok {
			return nil, 0, fmt.Errorf("unexpected reply to %s: slot %d is %T", slotsScript.name, i, v)
		}
	}
	at, ok := values[n].(int64)
	if !ok {
		return nil, 0, fmt.Errorf("unexpected reply to %s: the time is %T", slotsScript.name, values[n])
	}
	return states, at, nil
}
