package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/quorumlock/quorumlock/redlock"
)

// config is what one run measures and for how long.
type config struct {
	reps       int           // repetitions of every measurement
	duration   time.Duration // length of each timed run (scenarios 1-5)
	allocPairs int           // pairs per allocation count (scenario 6)
	load       bool          // stress-ng beside scenarios 4 and 5
}

// The fixed shape of the scenarios.
const (
	nodes      = 5
	slowDelay  = 20 * time.Millisecond // scenario 2
	parallel   = 32                    // scenario 4
	contenders = 8                     // scenario 5
	holdFor    = time.Millisecond      // scenario 5
)

// defaultQuarantine is quorumlock's default restart quarantine, as its
// documentation states it: the default ttl (10s) plus its drift allowance
// (1% of the ttl, plus 2 ms).
const defaultQuarantine = 10*time.Second + 100*time.Millisecond + 2*time.Millisecond

// Library names, as the table shows them.
const (
	libQ      = "quorumlock"
	libQFence = "quorumlock+fencing"
	libR      = "redsync"
	libFloor  = "floor"
)

// results holds every measurement of a run, per repetition.
type results struct {
	cfg        config
	start      time.Time
	machine    machine
	addrs      []string      // of the servers, stopped once run returns
	waited     time.Duration // for the quarantine, before measuring
	sequential map[string][]seqResult
	par        map[string][]parResult
	cont       map[string][]contResult
	allocs     map[string][]allocResult
}

// seqKey names a sequential series: scenario and library.
func seqKey(scenario, lib string) string { return scenario + "/" + lib }

// run starts the servers, measures every scenario and returns the
// results. It stops every process it started before returning.
func run(ctx context.Context, cfg config, r *reaper, prog *progress) (*results, error) {
	res := &results{cfg: cfg, start: time.Now(),
		sequential: map[string][]seqResult{}, par: map[string][]parResult{},
		cont: map[string][]contResult{}, allocs: map[string][]allocResult{}}
	dir, err := os.MkdirTemp("", "quorumlock-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	defer r.stopAll()

	prog.stepf("starting %d redis-server processes (appendonly yes, appendfsync everysec)", nodes)
	servers, err := startServers(ctx, r, nodes, dir)
	if err != nil {
		return nil, err
	}
	addrs := make([]string, len(servers))
	for i, s := range servers {
		addrs[i] = s.addr
	}
	res.addrs = addrs
	res.machine = readMachine(ctx, addrs[0])

	libs, err := newLibs(addrs)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, l := range libs {
			l.close()
		}
	}()
	if res.waited, err = waitQuarantine(ctx, addrs, prog); err != nil {
		return nil, err
	}
	for _, l := range libs {
		if err := warmUp(ctx, l); err != nil {
			return nil, err
		}
	}
	steps := []func(context.Context, *results, []*server, map[string]library, *reaper, *progress) error{
		sequentialHealthy, sequentialSlow, sequentialFrozen, parallelAndContended, allocations,
	}
	for _, step := range steps {
		if err := step(ctx, res, servers, libs, r, prog); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
	}
	return res, nil
}

// newLibs returns the libraries measured on addrs, by name.
func newLibs(addrs []string) (map[string]library, error) {
	q, err := newQuorumlock(libQ, addrs)
	if err != nil {
		return nil, fmt.Errorf("quorumlock: %w", err)
	}
	qf, err := newQuorumlock(libQFence, addrs, redlock.WithFencing())
	if err != nil {
		q.close()
		return nil, fmt.Errorf("quorumlock with fencing: %w", err)
	}
	return map[string]library{libQ: q, libQFence: qf, libR: newRedsync(addrs), libFloor: newFloor(addrs)}, nil
}

// waitQuarantine waits until every server reports an uptime longer than
// quorumlock's default quarantine, since a node that started more recently
// grants nothing. It returns how long it waited.
func waitQuarantine(ctx context.Context, addrs []string, prog *progress) (time.Duration, error) {
	start := time.Now()
	prog.stepf("waiting until every node has been up for longer than quorumlock's default restart quarantine "+
		"(%v: ttl 10s + drift 1%% + 2ms; INFO counts whole seconds), since younger nodes grant nothing", defaultQuarantine)
	lastSaid := time.Now()
	for {
		least := time.Duration(-1)
		for _, a := range addrs {
			up, err := uptime(ctx, a)
			if err != nil {
				return 0, fmt.Errorf("reading the uptime of %s: %w", a, err)
			}
			if least < 0 || up < least {
				least = up
			}
		}
		if least > defaultQuarantine {
			prog.printf("every node up for %v: quarantine over", least)
			return time.Since(start), nil
		}
		if time.Since(start) > defaultQuarantine+30*time.Second {
			return 0, fmt.Errorf("the youngest node reports %v of uptime after %v of waiting", least, time.Since(start).Round(time.Second))
		}
		if time.Since(lastSaid) >= 2*time.Second {
			prog.printf("youngest node up for %v of more than %v", least, defaultQuarantine)
			lastSaid = time.Now()
		}
		select {
		case <-ctx.Done():
			return 0, context.Cause(ctx)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// warmUp runs a few pairs on l, so that pools hold connections and nodes
// have their scripts, and fails if any pair fails.
func warmUp(ctx context.Context, l library) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	w := l.worker("bench:warm-up:" + l.name())
	for range 20 {
		if _, _, err := w.cycle(ctx, 0); err != nil {
			return fmt.Errorf("warming up %s: %w", l.name(), err)
		}
	}
	l.settle()
	return nil
}
