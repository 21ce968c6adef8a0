package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/quorumlock/quorumlock/redlock"
)

// verboseEvery is how often redlock run --verbose says who holds the lock
// while it waits.
const verboseEvery = 2 * time.Second

// forever stands for a key with no expiry.
const forever = time.Duration(1<<63 - 1)

// statusTimeout bounds a status read for --verbose; each node's part is
// bounded by the node timeout anyway.
const statusTimeout = 10 * time.Second

// report says every verboseEvery, until the program may start or done is
// closed, who holds the lock and for how long yet.
func (r *runner) report(ctx context.Context, done <-chan struct{}) {
	clk := r.sio.now()
	start := clk.Now()
	t := clk.NewTimer(verboseEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C():
		case <-r.h.begun:
			return
		case <-done:
			return
		}
		line, ok := r.holder(ctx)
		if ok {
			r.h.whileWaiting(func() {
				fmt.Fprintf(r.sio.err, "redlock run: waiting for %s (%v so far): %s\n",
					r.awaited(), clk.Since(start).Round(100*time.Millisecond), line)
			})
		}
		t.Reset(verboseEvery)
	}
}

// awaited names what the runner waits for: the lock's name, or a permit.
func (r *runner) awaited() string {
	if r.opts.permits > 0 {
		return fmt.Sprintf("a permit of %q", r.name)
	}
	return fmt.Sprintf("%q", r.name)
}

// sayHolder says once who holds the lock, or how many of the permits.
func (r *runner) sayHolder(ctx context.Context) {
	line, ok := r.holder(ctx)
	switch {
	case !ok:
	case r.opts.permits > 0:
		fmt.Fprintf(r.sio.err, "redlock run: %q: %s\n", r.name, line)
	default:
		fmt.Fprintf(r.sio.err, "redlock run: %q is %s\n", r.name, line)
	}
}

// holder reads the lock's status and says who holds it and for how long
// yet, by fingerprint, or with --permits how many of the permits are held;
// ok is false if the status could not be read.
func (r *runner) holder(ctx context.Context) (line string, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	if r.opts.permits > 0 {
		s, err := r.client.Semaphore(r.name, r.opts.permits)
		if err != nil {
			return "", false
		}
		sts, err := s.Status(ctx)
		if err != nil {
			return "", false
		}
		return permitsLine(sts), true
	}
	st, err := r.client.Status(ctx, r.name)
	if err != nil {
		return "", false
	}
	return holderLine(st), true
}

// permitsLine says how many of a semaphore's permits are held, from the
// status of each slot, and until when the first of them is held: until
// fewer than a quorum of its keys are left, unless renewed.
func permitsLine(sts []*redlock.Status) string {
	held, free, first := 0, 0, forever
	for _, st := range sts {
		switch st.Verdict {
		case redlock.VerdictHeld:
			held++
			first = min(first, heldFor(st))
		case redlock.VerdictFree:
			free++
		}
	}
	line := fmt.Sprintf("%d of %d permits held", held, len(sts))
	if free > 0 {
		line += fmt.Sprintf(", %d free (waiters may be queued for them)", free)
	}
	if other := len(sts) - held - free; other > 0 {
		line += fmt.Sprintf(", %d split or unknown", other)
	}
	if held > 0 && first != forever {
		line += ", the first for " + first.Round(100*time.Millisecond).String() + " more unless renewed"
	}
	return line
}

// heldFor is how long the owner of st, a status held by a quorum, holds
// it yet unless it renews it: until fewer than a quorum of its keys are
// left. It is forever for keys with no expiry.
func heldFor(st *redlock.Status) time.Duration {
	var ttls []time.Duration
	for _, ns := range st.Nodes {
		if ns.Err == nil && ns.Held && ns.Owner == st.Owner {
			ttl := ns.TTL
			if ttl < 0 { // no expiry
				ttl = forever
			}
			ttls = append(ttls, ttl)
		}
	}
	slices.SortFunc(ttls, func(a, b time.Duration) int { return cmp.Compare(b, a) }) // longest first
	return ttls[st.Quorum-1]
}

// holderLine says who holds the lock of st, on how many nodes, and until
// when: until fewer than a quorum of its keys are left, unless renewed.
func holderLine(st *redlock.Status) string {
	n, up := len(st.Nodes), answered(st)
	switch st.Verdict {
	case redlock.VerdictHeld:
		owned := 0
		for _, ns := range st.Nodes {
			if ns.Err == nil && ns.Held && ns.Owner == st.Owner {
				owned++
			}
		}
		left := "with no expiry"
		if yet := heldFor(st); yet != forever {
			left = "for " + yet.Round(100*time.Millisecond).String() + " more unless renewed"
		}
		return fmt.Sprintf("held by %s on %d of %d nodes, %s", st.Owner, owned, n, left)
	case redlock.VerdictFree:
		return fmt.Sprintf("free on a quorum of the %d nodes that answered, of %d", up, n)
	case redlock.VerdictSplit:
		return fmt.Sprintf("split: %d of %d nodes answered, neither one owner nor absence on a quorum", up, n)
	}
	return fmt.Sprintf("unknown: %d of %d nodes answered, %d needed", up, n, st.Quorum)
}
