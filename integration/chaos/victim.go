package main

import (
	"context"
	"fmt"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/quorumlock/quorumlock/internal/history"
	"github.com/quorumlock/quorumlock/redlock"
)

// A victim is the holder an out-of-model scenario wrongs: it takes the lock
// first and writes last.
type victim interface {
	// window is how long the contenders may try to take the lock.
	window() time.Duration
	// finish has the victim write what it read and release the lock.
	finish(p *phaseRun) error
	// abort releases what the victim holds if finish did not run.
	abort()
}

// A localVictim holds the lock in this process with Client.Lock and relies
// on Lock.Until, as the library's contract allows, without renewing it: so
// that when an assumption breaks, nothing but the contract stands between
// it and a contender.
type localVictim struct {
	l    *redlock.Lock
	h    *history.Hold
	read int64
	done bool
}

// lockVictim takes the phase's lock with c, waits until every node has the
// key, records the grant and reads the counter.
func (p *phaseRun) lockVictim(c *redlock.Client) (victim, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := c.Lock(ctx, p.name)
	if err != nil {
		return nil, fmt.Errorf("the victim could not take the lock: %w", err)
	}
	at := time.Now()
	v := &localVictim{l: l}
	if err := c.Close(); err != nil { // the SETs still running on slower nodes
		return v, err
	}
	for i := range p.c.urls {
		got, err := redis.String(p.c.command(i, 10*time.Second, "GET", p.key))
		if err != nil || got != l.Token() {
			return v, fmt.Errorf("%s does not hold the victim's key after the grant (%v)", service(i), err)
		}
	}
	v.h, err = p.rec.Grant(history.Grant{Name: p.name, Holder: "victim", At: at, Until: l.Until(), Token: l.Fence()})
	if err != nil {
		return v, err
	}
	v.read = p.counter.Load()
	return v, nil
}

// window lasts until a second before the victim's validity ends, so that
// the victim writes within it.
func (v *localVictim) window() time.Duration { return time.Until(v.l.Until()) - time.Second }

func (v *localVictim) finish(p *phaseRun) error {
	p.write(v.h, v.read)
	end := time.Now()
	left := v.l.Until().Sub(end)
	v.done = true
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := v.l.Unlock(ctx)
	p.lg.printf("  victim: wrote %v before its validity ended; %s",
		left.Round(time.Millisecond), released(err))
	return v.h.End(end, ending(false, err))
}

func (v *localVictim) abort() {
	if !v.done {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = v.l.Unlock(ctx)
	}
}
