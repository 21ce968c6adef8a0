package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quorumlock/quorumlock/internal/history"
	"github.com/quorumlock/quorumlock/redlock"
)

// A resource is what the holders of the fencing phase write to.
type resource interface {
	// write presents the hold's token, records the write in the hold's
	// history and reports whether the resource accepted it.
	write(h *history.Hold, token uint64) bool
}

// fenced is a resource that refuses tokens below the highest it accepted.
type fenced struct{ f history.Fence }

func (r *fenced) write(h *history.Hold, _ uint64) bool { return h.Write(&r.f) }

// A fencingScene is what the fencing phase saw.
type fencingScene struct {
	first, second uint64 // the paused holder's token and its successor's
	lateAccepted  bool   // the paused holder's late write was accepted
}

// fencingTimeout bounds each Lock call of the fencing phase: the second
// holder waits there for the first one's keys to expire.
const fencingTimeout = 10 * time.Second

// fencing plays the fencing phase: holder A takes the lock with a fencing
// token, writes, and pauses without renewing; holder B waits for the lock,
// gets a higher token and writes; holder A wakes after its validity and
// writes again. Every step goes into the history.
func (d *demo) fencing(res resource) (fencingScene, error) {
	var scene fencingScene
	fmt.Fprintf(d.out, "\nphase %d (t=%.1fs): fencing: a holder pauses past its validity; the next holder gets a higher token\n",
		len(demoPhases)+1, d.since().Seconds())
	a, b := d.clients[0], d.clients[len(d.clients)-1]

	first, ha, err := d.fencedLock(a, "holder A")
	if err != nil {
		return scene, err
	}
	scene.first = first.Fence()
	fmt.Fprintf(d.out, "  t=%5.2fs  holder A holds the lock with fencing token %d, valid for %v; writes: %s\n",
		d.since().Seconds(), scene.first, time.Until(first.Until()).Round(time.Millisecond), verdict(res.write(ha, scene.first)))
	fmt.Fprintf(d.out, "  t=%5.2fs  holder A pauses (a GC pause, swap, SIGSTOP) and does not renew the lock\n", d.since().Seconds())

	second, hb, err := d.fencedLock(b, "holder B")
	if err != nil {
		return scene, err
	}
	scene.second = second.Fence()
	fmt.Fprintf(d.out, "  t=%5.2fs  holder B gets the lock once holder A's keys expired, with fencing token %d; writes: %s\n",
		d.since().Seconds(), scene.second, verdict(res.write(hb, scene.second)))
	end := time.Now()
	if err := hb.End(end, ending(second.Unlock(context.Background()))); err != nil {
		return scene, err
	}

	wake := time.Now()
	late := wake.Sub(first.Until()) // first was never renewed, so Until is its first validity
	scene.lateAccepted = res.write(ha, scene.first)
	unlockErr := first.Unlock(context.Background())
	if err := ha.End(wake, ending(unlockErr)); err != nil {
		return scene, err
	}
	what := "accepted: the fence failed"
	if !scene.lateAccepted {
		what = "refused, since the resource has seen token " + fmt.Sprint(scene.second)
	}
	if late < 0 {
		fmt.Fprintf(d.out, "  t=%5.2fs  holder A wakes and writes with token %d: %s\n", d.since().Seconds(), scene.first, what)
	} else {
		fmt.Fprintf(d.out, "  t=%5.2fs  holder A wakes, %v after its validity ended, and writes with token %d: %s\n",
			d.since().Seconds(), late.Round(time.Millisecond), scene.first, what)
	}
	if errors.Is(unlockErr, redlock.ErrNotHeld) {
		fmt.Fprintf(d.out, "  t=%5.2fs  holder A's Unlock reports the lock was not held\n", d.since().Seconds())
	}
	return scene, nil
}

// fencedLock takes the lock with a fencing token for holder, and records
// the grant.
func (d *demo) fencedLock(c *redlock.Client, holder string) (*redlock.Lock, *history.Hold, error) {
	ctx, cancel := context.WithTimeout(context.Background(), fencingTimeout)
	defer cancel()
	lock, err := c.Lock(ctx, demoLock, redlock.WithFencing())
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", holder, err)
	}
	h, err := d.rec.Grant(history.Grant{Name: demoLock, Holder: holder, At: time.Now(), Until: lock.Until(), Token: lock.Fence()})
	if err != nil {
		_ = lock.Unlock(context.Background())
		return nil, nil, err
	}
	return lock, h, nil
}

func verdict(accepted bool) string {
	if accepted {
		return "accepted"
	}
	return "refused"
}
