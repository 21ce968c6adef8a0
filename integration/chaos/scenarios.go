package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/quorumlock/quorumlock/integration/internal/nemesis"
	"github.com/quorumlock/quorumlock/redlock"
)

// A scenario is one out-of-model fault: what it does to the nodes, how it
// is undone, and the phases it runs, each with the outcome it expects.
type scenario struct {
	name       string
	does, undo string
	needsClock bool          // the nodes' image must have the clock shim
	ttl        time.Duration // the locks' ttl; 0: oomTTL
	paused     bool          // the victim is the paused holder's process
	// before runs before the victim takes the lock; inject while it holds
	// it, on the majority; after always runs last, undoing what is left.
	before func(p *phaseRun) error
	inject func(p *phaseRun, v victim) error
	after  func(p *phaseRun) error
	phases []phaseSpec
}

// lockTTL is the ttl of the scenario's locks.
func (sc *scenario) lockTTL() time.Duration {
	if sc.ttl > 0 {
		return sc.ttl
	}
	return oomTTL
}

// A phaseSpec is one phase: the clients' protection and what it expects.
type phaseSpec struct {
	label      string
	about      string // said when the phase starts
	fencing    bool
	quarantine bool // the default quarantine; false: WithQuarantine(0)
	// freshContenders: the contenders' clients are made after the fault,
	// with nodes of their own, as a process started then has; otherwise
	// they are made and warmed up before it, as a running deployment's.
	freshContenders bool
	expect          []expect
}

// The phases of the faults that make nodes drop a held key: unprotected,
// the contenders take the lock and the victim's write is lost; with
// fencing the lock is still broken, but the victim's late write is refused.
var (
	droppedKeyUnprotected = phaseSpec{label: "unprotected", quarantine: true,
		about:  "no fencing: expect overlapping holds and a lost update",
		expect: []expect{some(mOverlap), some(mLostUpdate), some(mContenders)}}
	droppedKeyFenced = phaseSpec{label: "fencing", fencing: true, quarantine: true,
		about: "fencing tokens: expect overlapping holds, the victim's stale write refused, no lost update",
		expect: []expect{some(mOverlap), some(mContenders), some(mStaleRejected), none(mLostUpdate),
			none(mStaleAccepted), none(mTokenOrder), none(mSharedToken)}}
)

var scenarios = []*scenario{
	{
		name: "restart-without-persistence",
		does: "CONFIG SET appendonly no on redis1-3 before the victim locks, then docker kill and start of redis1-3 " +
			"while it holds the lock: they come back without its key",
		undo: "the restart itself: the nodes start with appendonly yes from the compose file (CONFIG SET appendonly yes " +
			"if the phase stopped before the restart)",
		ttl:    restartTTL,
		before: func(p *phaseRun) error { return p.onMajority("CONFIG", "SET", "appendonly", "no") },
		inject: func(p *phaseRun, _ victim) error { return restart(p) },
		after: func(p *phaseRun) error {
			if err := p.c.waitPing(2 * time.Minute); err != nil {
				return err
			}
			return p.onMajority("CONFIG", "SET", "appendonly", "yes")
		},
		phases: []phaseSpec{
			{label: "unprotected", about: "WithQuarantine(0): expect overlapping holds and a lost update",
				expect: []expect{some(mOverlap), some(mLostUpdate), some(mContenders)}},
			{label: "quarantine", quarantine: true,
				about:  "the default quarantine: expect the restarted nodes' votes refused, no second holder",
				expect: []expect{none(mOverlap), none(mLostUpdate), none(mContenders), some(mQuarantined)}},
		},
	},
	{
		name: "restart-clock-step",
		does: "as restart-without-persistence, then the clock shim steps the wall clock of the restarted redis1-3 " +
			"45s forward: Redis counts INFO uptime by that clock, so they look older than the quarantine to a " +
			"client that has not seen them before",
		undo:       "the shim's file set back to no skew, and CONFIG SET appendonly yes",
		needsClock: true,
		ttl:        restartTTL,
		before:     func(p *phaseRun) error { return p.onMajority("CONFIG", "SET", "appendonly", "no") },
		inject: func(p *phaseRun, _ victim) error {
			if err := restart(p); err != nil {
				return err
			}
			return p.stepClocks(restartTTL + 15*time.Second)
		},
		after: func(p *phaseRun) error {
			return errors.Join(p.stepClocks(0), p.c.waitPing(2*time.Minute),
				p.onMajority("CONFIG", "SET", "appendonly", "yes"))
		},
		phases: []phaseSpec{
			{label: "quarantine-new-clients", quarantine: true, freshContenders: true,
				about: "the default quarantine, contenders started after the restart, which can only trust the " +
					"nodes' uptime: expect it bypassed, a second holder",
				expect: []expect{some(mOverlap), some(mLostUpdate), some(mContenders), none(mQuarantined)}},
			{label: "quarantine", quarantine: true,
				about: "the default quarantine, contenders that saw the nodes before the restart: expect the restarted " +
					"nodes' new incarnation seen and their votes refused whatever their uptime says, no second holder",
				expect: []expect{none(mOverlap), none(mLostUpdate), none(mContenders), some(mQuarantined)}},
		},
	},
	{
		name: "eviction",
		does: "on redis1-3 while the victim holds the lock: CONFIG SET maxmemory-policy volatile-lru and maxmemory " +
			"1MB above the memory in use, then 64KB filler keys without a ttl until the lock key, the only key with " +
			"one, is evicted; meanwhile a new client vets the nodes",
		undo:   "DEL of the filler keys, then CONFIG SET maxmemory and maxmemory-policy back to what they were",
		inject: func(p *phaseRun, _ victim) error { return p.evict() },
		after:  func(p *phaseRun) error { return p.restoreMemory() },
		phases: []phaseSpec{withVetting(droppedKeyUnprotected), withVetting(droppedKeyFenced)},
	},
	{
		name:   "third-party-del",
		does:   "DEL of the lock key on redis1-3 from another connection while the victim holds the lock",
		undo:   "nothing to undo: the contenders' and the victim's releases remove what is left",
		inject: func(p *phaseRun, _ victim) error { return p.deleteKey() },
		phases: []phaseSpec{droppedKeyUnprotected, droppedKeyFenced},
	},
	{
		name: "clock-step",
		does: "the clock shim steps the wall clock of redis1-3 20s (twice the ttl) forward while the victim holds " +
			"the lock: Redis expires its key there at once",
		undo:       "the shim's file set back to no skew, a step back of 20s (keys set meanwhile live 20s longer)",
		needsClock: true,
		inject:     func(p *phaseRun, _ victim) error { return p.stepClocks(2 * oomTTL) },
		after:      func(p *phaseRun) error { return p.stepClocks(0) },
		phases:     []phaseSpec{droppedKeyUnprotected, droppedKeyFenced},
	},
	{
		name: "paused-holder",
		does: "the victim is a process of its own (Client.Lock, Lock.Hold), stopped by SIGSTOP between checking its " +
			"hold and writing; it is continued after the contenders took the lock, once its keys expired",
		undo:   "SIGCONT; the holder writes at once, then unlocks",
		paused: true,
		inject: func(_ *phaseRun, v victim) error { return v.(*pausedVictim).pause() },
		phases: []phaseSpec{
			{label: "unprotected", quarantine: true,
				about:  "no fencing: expect a lost update and a lost signal too late, no overlap within validity",
				expect: []expect{some(mLostUpdate), some(mLateLost), none(mOverlap), some(mContenders)}},
			{label: "fencing", fencing: true, quarantine: true,
				about: "fencing tokens: expect the late write refused, no lost update",
				expect: []expect{some(mStaleRejected), none(mLostUpdate), none(mStaleAccepted), some(mLateLost),
					none(mOverlap), some(mContenders)}},
		},
	},
}

// restart kills and starts the majority, and checks that they forgot the
// victim's key.
func restart(p *phaseRun) error {
	for _, verb := range []string{"kill", "start"} {
		for _, i := range p.majority {
			if _, err := nemesis.Docker(verb, p.c.ids[i]); err != nil {
				return err
			}
		}
	}
	if err := p.c.waitPing(2 * time.Minute); err != nil {
		return err
	}
	return p.keyGone()
}

// withVetting adds the expectation that a client made during the fault
// refuses the three evicting nodes.
func withVetting(s phaseSpec) phaseSpec {
	s.expect = append(append([]expect(nil), s.expect...), exactly(mVetRefused, 3))
	return s
}

// scenarioByName returns the scenario named name; the flags allow only
// known names.
func scenarioByName(name string) *scenario {
	for _, s := range scenarios {
		if s.name == name {
			return s
		}
	}
	return nil
}

// deleteKey deletes the lock key on the majority.
func (p *phaseRun) deleteKey() error {
	for _, i := range p.majority {
		n, err := redis.Int(p.c.command(i, 10*time.Second, "DEL", p.key))
		if err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("DEL on %s found no key", service(i))
		}
	}
	return nil
}

// stepClocks sets the clocks of the majority off by d and, for a step
// forward, waits until the lock key is gone there.
func (p *phaseRun) stepClocks(d time.Duration) error {
	for _, i := range p.majority {
		if err := nemesis.SetClock(p.c.ids[i], nemesis.Skew{Offset: d}); err != nil {
			return err
		}
	}
	if d <= 0 {
		return nil
	}
	// The step shows in the key gone and in INFO's uptime, which the shim
	// may take a moment to apply after a restart.
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err = p.keyGone(); err == nil {
			if err = p.upFor(d); err == nil {
				return nil
			}
		}
	}
	return err
}

// upFor checks that every node of the majority reports an uptime of at
// least d.
func (p *phaseRun) upFor(d time.Duration) error {
	for _, i := range p.majority {
		info, err := redis.String(p.c.command(i, 10*time.Second, "INFO", "server"))
		if err != nil {
			return err
		}
		for line := range strings.Lines(info) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "uptime_in_seconds:"); ok {
				s, err := strconv.Atoi(v)
				if err != nil {
					return fmt.Errorf("%s: uptime_in_seconds %q: %w", service(i), v, err)
				}
				if up := time.Duration(s) * time.Second; up < d {
					return fmt.Errorf("%s reports an uptime of %v, not yet the %v its clock was stepped", service(i), up, d)
				}
			}
		}
	}
	return nil
}

// fillerValue is the value of each filler key of the eviction fault.
var fillerValue = strings.Repeat("x", 64<<10)

// evict makes the majority evict the lock key, as described in the
// scenario, and has a new client vet the nodes meanwhile.
func (p *phaseRun) evict() error {
	for _, i := range p.majority {
		cfg, err := redis.StringMap(p.c.command(i, 10*time.Second, "CONFIG", "GET", "maxmemory*"))
		if err != nil {
			return err
		}
		p.saved[i] = []any{cfg["maxmemory"], cfg["maxmemory-policy"]}
		info, err := redis.String(p.c.command(i, 10*time.Second, "INFO", "memory"))
		if err != nil {
			return err
		}
		used, err := infoInt(info, "used_memory")
		if err != nil {
			return fmt.Errorf("%s: %w", service(i), err)
		}
		if _, err := p.c.command(i, 10*time.Second, "CONFIG", "SET", "maxmemory-policy", "volatile-lru"); err != nil {
			return err
		}
		if _, err := p.c.command(i, 10*time.Second, "CONFIG", "SET", "maxmemory", used+1<<20); err != nil {
			return err
		}
		gone := false
		for k := 0; k < 200 && !gone; k++ {
			_, err := p.c.command(i, 10*time.Second, "SET", fmt.Sprintf("%s:filler:%d", p.key, k), fillerValue)
			if err != nil && !strings.Contains(err.Error(), "OOM") {
				return err
			}
			n, err := redis.Int(p.c.command(i, 10*time.Second, "EXISTS", p.key))
			if err != nil {
				return err
			}
			gone = n == 0
		}
		if !gone {
			return fmt.Errorf("%s did not evict the lock key after 200 filler keys", service(i))
		}
	}
	refused, err := p.vetRefused()
	p.count(mVetRefused, refused)
	if err != nil {
		return err
	}
	return p.restoreMemory()
}

// vetRefused counts the nodes a new client refuses for their eviction
// policy.
func (p *phaseRun) vetRefused() (int, error) {
	cs, closeAll, err := p.clients(1)
	if err != nil {
		return 0, err
	}
	defer closeAll()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	findings, err := cs[0].Vet(ctx)
	n := 0
	for _, f := range findings {
		if f.Risk == redlock.RiskEviction && f.Refused {
			n++
		}
	}
	return n, err
}

// restoreMemory deletes the filler keys and sets maxmemory and its policy
// back on the nodes evict changed.
func (p *phaseRun) restoreMemory() error {
	var errs []error
	for i, saved := range p.saved {
		keys := make([]any, 200)
		for k := range keys {
			keys[k] = fmt.Sprintf("%s:filler:%d", p.key, k)
		}
		_, err := p.c.command(i, 10*time.Second, "DEL", keys...)
		errs = append(errs, err)
		_, err = p.c.command(i, 10*time.Second, "CONFIG", "SET", "maxmemory", saved[0], "maxmemory-policy", saved[1])
		errs = append(errs, err)
		if err == nil {
			delete(p.saved, i)
		}
	}
	return errors.Join(errs...)
}

// infoInt reads an integer field from INFO text.
func infoInt(info, field string) (int64, error) {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			var n int64
			_, err := fmt.Sscan(v, &n)
			return n, err
		}
	}
	return 0, fmt.Errorf("INFO has no %s", field)
}
