package main

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"time"
)

// grace is how long a lock call begun before the end of a timed run may go
// on after it: long enough for redsync's 32 tries, bounded all the same.
const grace = 15 * time.Second

// seqResult is one run of sequential Lock+Unlock pairs.
type seqResult struct {
	pairs    int           // pairs that succeeded
	p50, p99 time.Duration // latency of a successful pair
	slowest  time.Duration // the longest pair, failed or not
	rate     float64       // successful pairs per second
	fail     failures
}

// runSequential runs Lock+Unlock pairs one after another for d.
func runSequential(ctx context.Context, w worker, d time.Duration) seqResult {
	ctx, cancel := context.WithTimeout(ctx, d+grace)
	defer cancel()
	lat := make([]time.Duration, 0, 8192)
	var f failures
	var slowest time.Duration
	start := time.Now()
	end := start.Add(d)
	for time.Now().Before(end) && ctx.Err() == nil {
		t := time.Now()
		_, _, err := w.cycle(ctx, 0)
		took := time.Since(t)
		slowest = max(slowest, took)
		if err != nil {
			if ctx.Err() == nil || !errors.Is(err, errLockCall) {
				f.add(err)
			}
			continue
		}
		lat = append(lat, took)
	}
	elapsed := time.Since(start)
	slices.Sort(lat)
	return seqResult{pairs: len(lat), p50: percentile(lat, 0.50), p99: percentile(lat, 0.99),
		slowest: slowest, rate: float64(len(lat)) / elapsed.Seconds(), fail: f}
}

// parResult is one run of goroutines each looping on a name of its own.
type parResult struct {
	cycles      int
	rate        float64       // cycles per second, all goroutines together
	cpuPerCycle time.Duration // process CPU time (user+system) per cycle
	dials       int64         // connections the servers accepted meanwhile
	fail        failures
}

// runParallel runs one goroutine per key, each looping Lock+Unlock for d.
// A Lock still waiting at the end is cut short, and not counted as failed.
func runParallel(ctx context.Context, lib library, keys []string, d time.Duration) parResult {
	counts := make([]int, len(keys))
	fails := make([]failures, len(keys))
	var wg sync.WaitGroup
	cpu := processCPU()
	start := time.Now()
	end := start.Add(d)
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	for i, key := range keys {
		w := lib.worker(key)
		wg.Go(func() {
			for ctx.Err() == nil {
				_, _, err := w.cycle(ctx, 0)
				if err == nil {
					counts[i]++
				} else if ctx.Err() == nil || !errors.Is(err, errLockCall) {
					fails[i].add(err)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu = processCPU() - cpu
	var r parResult
	for i := range keys {
		r.cycles += counts[i]
		r.fail.merge(fails[i])
	}
	r.rate = float64(r.cycles) / elapsed.Seconds()
	if r.cycles > 0 {
		r.cpuPerCycle = cpu / time.Duration(r.cycles)
	}
	return r
}

// contResult is one run of goroutines contending for one name.
type contResult struct {
	grants       int
	rate         float64       // grants per second
	p50, p99     time.Duration // from the start of Lock to its return
	held         time.Duration // the hold as slept (time.Sleep overshoots), p50
	between      time.Duration // per grant, the run's time not spent holding: the hand-over
	cut          int           // Lock calls still waiting at the end
	fewest, most int           // grants of the least and most served goroutine
	fail         failures
}

// runContended runs n goroutines on one key, each looping Lock, hold,
// Unlock for d. A Lock still waiting at the end is cut short; its wait so
// far counts among the waits (it would have waited at least that long),
// but not as a grant nor as a failure.
func runContended(ctx context.Context, lib library, key string, n int, hold, d time.Duration) contResult {
	waits := make([][]time.Duration, n)
	helds := make([][]time.Duration, n)
	grants := make([]int, n)
	cut := make([]int, n)
	fails := make([]failures, n)
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	for i := range n {
		w := lib.worker(key)
		wg.Go(func() {
			for ctx.Err() == nil {
				wait, held, err := w.cycle(ctx, hold)
				if held > 0 {
					helds[i] = append(helds[i], held)
				}
				switch {
				case err == nil:
					grants[i]++
				case ctx.Err() != nil && errors.Is(err, errLockCall):
					cut[i]++
				default:
					fails[i].add(err)
				}
				waits[i] = append(waits[i], wait)
			}
		})
	}
	wg.Wait()
	r := contResult{fewest: -1}
	var all, held []time.Duration
	for i := range n {
		all = append(all, waits[i]...)
		held = append(held, helds[i]...)
		if r.fewest < 0 || grants[i] < r.fewest {
			r.fewest = grants[i]
		}
		r.most = max(r.most, grants[i])
		r.grants += grants[i]
		r.cut += cut[i]
		r.fail.merge(fails[i])
	}
	slices.Sort(all)
	r.rate = float64(r.grants) / d.Seconds()
	r.p50, r.p99 = percentile(all, 0.50), percentile(all, 0.99)
	slices.Sort(held)
	r.held = percentile(held, 0.50)
	if r.grants > 0 {
		var sum time.Duration
		for _, h := range held {
			sum += h
		}
		r.between = (d - sum) / time.Duration(r.grants)
	}
	return r
}

// allocResult is one count of allocations over sequential pairs.
type allocResult struct {
	pairs  int
	allocs float64 // heap allocations per pair
	bytes  float64 // bytes allocated per pair
	dials  int64   // connections the servers accepted meanwhile, -1 if unknown
	fail   failures
}

// runAllocs counts the heap allocations of pairs sequential Lock+Unlock
// pairs, from a settled heap to the end of the library's background work.
// The whole process is counted, so nothing else should run meanwhile.
// conns, called outside the counted stretch, returns how many connections
// the servers have accepted so far, its own included: a command that
// times out, or that finds every pooled connection busy, opens one, and
// each costs allocations. nodes is how many connections conns opens.
func runAllocs(ctx context.Context, lib library, key string, pairs int, conns func() (int64, error), nodes int) allocResult {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := lib.worker(key)
	var f failures
	for range 20 { // warm pools and caches
		_, _, err := w.cycle(ctx, 0)
		f.add(err)
	}
	lib.settle()
	c0, err0 := conns()
	runtime.GC()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range pairs {
		if ctx.Err() != nil {
			break
		}
		_, _, err := w.cycle(ctx, 0)
		f.add(err)
	}
	lib.settle()
	runtime.ReadMemStats(&after)
	c1, err1 := conns()
	r := allocResult{
		pairs:  pairs,
		allocs: float64(after.Mallocs-before.Mallocs) / float64(pairs),
		bytes:  float64(after.TotalAlloc-before.TotalAlloc) / float64(pairs),
		dials:  c1 - c0 - int64(nodes),
		fail:   f,
	}
	if err0 != nil || err1 != nil {
		r.dials = -1
	}
	return r
}
