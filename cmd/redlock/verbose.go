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
				fmt.Fprintf(r.sio.err, "redlock run: waiting for %q (%v so far): %s\n",
					r.name, clk.Since(start).Round(100*time.Millisecond), line)
			})
		}
		t.Reset(verboseEvery)
	}
}

// sayHolder says once who holds the lock.
func (r *runner) sayHolder(ctx context.Context) {
	if line, ok := r.holder(ctx); ok {
		fmt.Fprintf(r.sio.err, "redlock run: %q is %s\n", r.name, line)
	}
}

// holder reads the lock's status and says who holds it and for how long
// yet, by fingerprint; ok is false if the status could not be read.
func (r *runner) holder(ctx context.Context) (line string, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	st, err := r.client.Status(ctx, r.name)
	if err != nil {
		return "", false
	}
	return holderLine(st), true
}

// holderLine says who holds the lock of st, on how many nodes, and until
// when: until fewer than a quorum of its keys are left, unless renewed.
func holderLine(st *redlock.Status) string {
	n, up := len(st.Nodes), answered(st)
	switch st.Verdict {
	case redlock.VerdictHeld:
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
		left := "with no expiry"
		if yet := ttls[st.Quorum-1]; yet != forever {
			left = "for " + yet.Round(100*time.Millisecond).String() + " more unless renewed"
		}
		return fmt.Sprintf("held by %s on %d of %d nodes, %s", st.Owner, len(ttls), n, left)
	case redlock.VerdictFree:
		return fmt.Sprintf("free on a quorum of the %d nodes that answered, of %d", up, n)
	case redlock.VerdictSplit:
		return fmt.Sprintf("split: %d of %d nodes answered, neither one owner nor absence on a quorum", up, n)
	}
	return fmt.Sprintf("unknown: %d of %d nodes answered, %d needed", up, n, st.Quorum)
}
