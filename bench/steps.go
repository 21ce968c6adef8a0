package main

import (
	"context"
	"fmt"
	"time"
)

// Scenario names of the sequential series.
const (
	scHealthy = "healthy"
	scSlow    = "slow"
	scProxied = "proxied" // node 5 through the proxy, with no delay
	scFrozen  = "frozen"
)

// sequentialHealthy is scenarios 1, 7 (fencing) and 8 (the floor):
// sequential pairs on five healthy nodes, the libraries interleaved.
func sequentialHealthy(ctx context.Context, res *results, _ []*server, libs map[string]library, _ *reaper, prog *progress) error {
	order := []string{libQ, libR, libQFence, libFloor}
	for rep := 1; rep <= res.cfg.reps; rep++ {
		for _, name := range order {
			prog.stepf("1. sequential, healthy: rep %d/%d, %s", rep, res.cfg.reps, name)
			r := runSequential(ctx, libs[name].worker(key(scHealthy, name, rep)), res.cfg.duration)
			res.sequential[seqKey(scHealthy, name)] = append(res.sequential[seqKey(scHealthy, name)], r)
			sayPairs(prog, r)
		}
	}
	return nil
}

// sequentialSlow is scenario 2: node 5 reached through a proxy that delays
// every request by slowDelay, for both libraries; and, as its baseline,
// quorumlock with node 5 through the same kind of proxy with no delay,
// which costs the process the proxy's own work.
func sequentialSlow(ctx context.Context, res *results, servers []*server, _ map[string]library, _ *reaper, prog *progress) error {
	var libs []library
	for _, delay := range []time.Duration{slowDelay, 0} {
		proxy, err := startDelayProxy(servers[nodes-1].addr, delay)
		if err != nil {
			return fmt.Errorf("starting the delaying proxy: %w", err)
		}
		defer proxy.close()
		addrs := make([]string, nodes)
		for i, s := range servers {
			addrs[i] = s.addr
		}
		addrs[nodes-1] = proxy.addr()
		q, err := newQuorumlock(libQ, addrs)
		if err != nil {
			return fmt.Errorf("quorumlock through the proxy: %w", err)
		}
		defer q.close()
		libs = append(libs, q)
		if delay > 0 {
			rs := newRedsync(addrs)
			defer rs.close()
			libs = append(libs, rs)
		}
	}
	for _, l := range libs {
		if err := warmUp(ctx, l); err != nil {
			return err
		}
	}
	for rep := 1; rep <= res.cfg.reps; rep++ {
		for i, l := range libs {
			sc, what := scSlow, fmt.Sprintf("node 5 %v slower", slowDelay)
			if i == len(libs)-1 {
				sc, what = scProxied, "node 5 through the proxy, no delay"
			}
			prog.stepf("2. sequential, %s: rep %d/%d, %s", what, rep, res.cfg.reps, l.name())
			r := runSequential(ctx, l.worker(key(sc, l.name(), rep)), res.cfg.duration)
			res.sequential[seqKey(sc, l.name())] = append(res.sequential[seqKey(sc, l.name())], r)
			sayPairs(prog, r)
		}
	}
	return nil
}

// sequentialFrozen is scenario 3: node 5 stopped with SIGSTOP for the
// length of each run, and resumed after it.
func sequentialFrozen(ctx context.Context, res *results, servers []*server, libs map[string]library, r *reaper, prog *progress) error {
	frozen := servers[nodes-1]
	for rep := 1; rep <= res.cfg.reps; rep++ {
		for _, name := range []string{libQ, libR} {
			prog.stepf("3. sequential, node 5 frozen (SIGSTOP): rep %d/%d, %s", rep, res.cfg.reps, name)
			thaw, err := freeze(ctx, r, frozen, res.cfg.duration+grace)
			if err != nil {
				return err
			}
			s := runSequential(ctx, libs[name].worker(key(scFrozen, name, rep)), res.cfg.duration)
			libs[name].settle() // what waits on the frozen node is part of this run
			if err := thaw(); err != nil {
				return fmt.Errorf("node 5 after SIGCONT: %w", err)
			}
			res.sequential[seqKey(scFrozen, name)] = append(res.sequential[seqKey(scFrozen, name)], s)
			sayPairs(prog, s)
		}
	}
	return nil
}

// parallelAndContended is scenarios 4 and 5, with stress-ng beside them
// under -load.
func parallelAndContended(ctx context.Context, res *results, _ []*server, libs map[string]library, r *reaper, prog *progress) error {
	if res.cfg.load {
		bound := time.Duration(2*2*res.cfg.reps)*(res.cfg.duration+time.Second) + grace + 30*time.Second
		prog.stepf("starting %s --timeout %v beside scenarios 4 and 5", loadCommand(), bound.Round(time.Second))
		stop, err := startLoad(r, bound)
		if err != nil {
			return err
		}
		defer func() {
			stop()
			prog.printf("stress-ng stopped")
		}()
		time.Sleep(time.Second) // let its workers start
	}
	keys := make([]string, parallel)
	for rep := 1; rep <= res.cfg.reps; rep++ {
		for _, name := range []string{libQ, libR} {
			for i := range keys {
				keys[i] = fmt.Sprintf("%s:%d", key("parallel", name, rep), i)
			}
			prog.stepf("4. %d goroutines on %d names: rep %d/%d, %s", parallel, parallel, rep, res.cfg.reps, name)
			before, err := connectionsReceived(ctx, res.addrs)
			if err != nil {
				return err
			}
			p := runParallel(ctx, libs[name], keys, res.cfg.duration)
			after, err := connectionsReceived(ctx, res.addrs)
			if err != nil {
				return err
			}
			p.dials = after - before - int64(len(res.addrs))
			res.par[name] = append(res.par[name], p)
			prog.printf("%d cycles, %.0f/s, %v CPU per cycle, %d connections opened, %d failures",
				p.cycles, p.rate, p.cpuPerCycle.Round(time.Microsecond), p.dials, p.fail.count)
			sayFirst(prog, p.fail)
		}
	}
	for rep := 1; rep <= res.cfg.reps; rep++ {
		for _, name := range []string{libQ, libR} {
			prog.stepf("5. %d goroutines contending for one name, holding %v: rep %d/%d, %s", contenders, holdFor, rep, res.cfg.reps, name)
			c := runContended(ctx, libs[name], key("contended", name, rep), contenders, holdFor, res.cfg.duration)
			res.cont[name] = append(res.cont[name], c)
			prog.printf("%d grants, %.1f/s, wait p50 %v p99 %v, %d..%d per goroutine, %d cut at the end, %d failures",
				c.grants, c.rate, c.p50.Round(time.Microsecond), c.p99.Round(time.Microsecond), c.fewest, c.most, c.cut, c.fail.count)
			sayFirst(prog, c.fail)
		}
	}
	return nil
}

// allocations is scenario 6, and its fencing row.
func allocations(ctx context.Context, res *results, _ []*server, libs map[string]library, _ *reaper, prog *progress) error {
	conns := func() (int64, error) { return connectionsReceived(ctx, res.addrs) }
	for rep := 1; rep <= res.cfg.reps; rep++ {
		for _, name := range []string{libQ, libR, libQFence} {
			prog.stepf("6. allocations over %d pairs: rep %d/%d, %s", res.cfg.allocPairs, rep, res.cfg.reps, name)
			a := runAllocs(ctx, libs[name], key("allocs", name, rep), res.cfg.allocPairs, conns, len(res.addrs))
			res.allocs[name] = append(res.allocs[name], a)
			prog.printf("%.1f allocations, %.0f bytes per pair, %d connections opened, %d failures",
				a.allocs, a.bytes, a.dials, a.fail.count)
			sayFirst(prog, a.fail)
		}
	}
	return nil
}

// key names the lock of one run: no two runs share a name, so keys a
// frozen node applies late cannot meet a later run.
func key(scenario, lib string, rep int) string {
	return fmt.Sprintf("bench:%s:%s:%d", scenario, lib, rep)
}

func sayPairs(prog *progress, r seqResult) {
	prog.printf("%d pairs, p50 %v, p99 %v, slowest %v, %.0f/s, %d failures", r.pairs, r.p50.Round(time.Microsecond),
		r.p99.Round(time.Microsecond), r.slowest.Round(time.Microsecond), r.rate, r.fail.count)
	sayFirst(prog, r.fail)
}

// sayFirst shows the whole message of a run's first failure.
func sayFirst(prog *progress, f failures) {
	if f.count > 0 {
		prog.printf("first failure: %s", f.first)
	}
}
