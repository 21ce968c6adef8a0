package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// A table is rows of markdown cells.
type table struct{ rows [][]string }

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// writeReport writes the run's results as markdown: a heading with the
// date, the command, the machine and the settings, then one table.
func writeReport(w io.Writer, res *results, command string) {
	c, m := res.cfg, res.machine
	fmt.Fprintf(w, "#### quorumlock and redsync side by side, %s\n\n", res.start.Format("2006-01-02"))
	reps := fmt.Sprintf("Medians of %d repetitions", c.reps)
	if c.reps == 1 {
		reps = "One repetition"
	}
	fmt.Fprintf(w, "`%s` on %s (%d cores), Linux %s, %s, redis-server %s: five processes on 127.0.0.1 "+
		"(appendonly yes, appendfsync everysec), load average %s at the start. %s, "+
		"the libraries interleaved; each timed run lasts %v.\n\n",
		command, m.cpu, m.cores, m.kernel, m.goVer, m.redis, m.loadAvg, reps, c.duration)
	fmt.Fprintf(w, "quorumlock: its defaults (ttl 10s, node timeout %v, nodes from ParseURL: two pipelined connections each; "+
		"restart quarantine on: the run first waited %.1fs until every node had been up for longer than it). "+
		"redsync v4.18.1: its defaults (expiry 8s, 32 tries, waits for every node) over its redigo adapter, on pools "+
		"of 16 idle connections, no cap, with %v connect, read and write timeouts: its adapter sends commands without "+
		"a context, so without them a frozen node would block it until resumed.\n\n", poolTimeout, res.waited.Seconds(), poolTimeout)

	var t table
	t.add("scenario", "measure", "quorumlock", "redsync", "quorumlock/redsync")
	t.add("---", "---", "--:", "--:", "--:")
	seqRows(&t, res, scHealthy, "1. sequential Lock+Unlock, 5 healthy nodes")
	fenced := res.sequential[seqKey(scHealthy, libQFence)]
	plain := res.sequential[seqKey(scHealthy, libQ)]
	t.add("7. the same, quorumlock with WithFencing()", "p50 per pair", dur(medSeq(fenced, p50)), "no fencing",
		times(medSeq(fenced, p50), medSeq(plain, p50))+" unfenced")
	t.add("", "pairs/s", rate(medSeq(fenced, pairRate)), "", times(medSeq(fenced, pairRate), medSeq(plain, pairRate))+" unfenced")
	fl := res.sequential[seqKey(scHealthy, libFloor)]
	t.add("8. floor: bare SET NX PX, then compare-and-delete, to all 5 nodes at once, waiting for every answer",
		fmt.Sprintf("floor p50 per pair %s, p99 %s", dur(medSeq(fl, p50)), dur(medSeq(fl, p99))), "", "", "")
	t.add("", "scenario-1 p50 ÷ floor p50", ratio(medSeq(plain, p50), medSeq(fl, p50)),
		ratio(medSeq(res.sequential[seqKey(scHealthy, libR)], p50), medSeq(fl, p50)), "")
	seqRows(&t, res, scSlow, fmt.Sprintf("2. the same, node 5 %v slower (a proxy delays its requests)", slowDelay))
	proxied := res.sequential[seqKey(scProxied, libQ)]
	t.add("", fmt.Sprintf("p50 ÷ p50 with node 5 through the proxy at no delay (quorumlock: %s)", dur(medSeq(proxied, p50))),
		ratio(medSeq(res.sequential[seqKey(scSlow, libQ)], p50), medSeq(proxied, p50)), "", "")
	seqRows(&t, res, scFrozen, fmt.Sprintf("3. the same, node 5 frozen (SIGSTOP for each %v run)", c.duration))
	parRows(&t, res)
	contRows(&t, res)
	allocRows(&t, res)
	for _, row := range t.rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
}

func seqRows(t *table, res *results, scenario, title string) {
	q, r := res.sequential[seqKey(scenario, libQ)], res.sequential[seqKey(scenario, libR)]
	t.add(title, "p50 per pair", dur(medSeq(q, p50)), dur(medSeq(r, p50)), ratio(medSeq(q, p50), medSeq(r, p50)))
	t.add("", "p99 per pair", dur(medSeq(q, p99)), dur(medSeq(r, p99)), ratio(medSeq(q, p99), medSeq(r, p99)))
	t.add("", "slowest pair, failed or not", dur(medSeq(q, slowest)), dur(medSeq(r, slowest)), ratio(medSeq(q, slowest), medSeq(r, slowest)))
	t.add("", "pairs/s", rate(medSeq(q, pairRate)), rate(medSeq(r, pairRate)), ratio(medSeq(q, pairRate), medSeq(r, pairRate)))
	t.add("", failTitle(res), failCell(q, seqFail), failCell(r, seqFail), "")
}

func parRows(t *table, res *results) {
	q, r := res.par[libQ], res.par[libR]
	title := fmt.Sprintf("4. %d goroutines on %d names, each looping Lock+Unlock", parallel, parallel)
	if res.cfg.load {
		title += ", beside `" + loadCommand() + "`"
	}
	qr, rr := med(q, func(p parResult) float64 { return p.rate }), med(r, func(p parResult) float64 { return p.rate })
	qc := med(q, func(p parResult) float64 { return float64(p.cpuPerCycle) })
	rc := med(r, func(p parResult) float64 { return float64(p.cpuPerCycle) })
	t.add(title, "cycles/s", rate(qr), rate(rr), ratio(qr, rr))
	t.add("", "CPU time per cycle (process, user+system)", dur(qc), dur(rc), ratio(qc, rc))
	perCycle := func(p parResult) float64 {
		if p.cycles == 0 {
			return 0
		}
		return float64(p.dials) / float64(p.cycles)
	}
	qd, rd := med(q, perCycle), med(r, perCycle)
	t.add("", "connections opened per cycle (servers' INFO, all 5 nodes)", fmt.Sprintf("%.2f", qd), fmt.Sprintf("%.2f", rd), ratio(qd, rd))
	t.add("", failTitle(res), failCell(q, func(p parResult) failures { return p.fail }),
		failCell(r, func(p parResult) failures { return p.fail }), "")
}

func contRows(t *table, res *results) {
	q, r := res.cont[libQ], res.cont[libR]
	title := fmt.Sprintf("5. %d goroutines contending for one name, each holding it %v", contenders, holdFor)
	if res.cfg.load {
		title += ", beside `" + loadCommand() + "`"
	}
	f := func(get func(contResult) float64) (float64, float64) { return med(q, get), med(r, get) }
	qv, rv := f(func(c contResult) float64 { return c.rate })
	t.add(title, "grants/s", rate(qv), rate(rv), ratio(qv, rv))
	qv, rv = f(func(c contResult) float64 { return float64(c.p50) })
	t.add("", "wait for the lock (Lock call), p50", dur(qv), dur(rv), ratio(qv, rv))
	qv, rv = f(func(c contResult) float64 { return float64(c.p99) })
	t.add("", "wait for the lock, p99 (calls cut at the end count what they waited)", dur(qv), dur(rv), ratio(qv, rv))
	qv, rv = f(func(c contResult) float64 { return float64(c.held) })
	t.add("", fmt.Sprintf("the %v hold as slept (time.Sleep), p50", holdFor), dur(qv), dur(rv), ratio(qv, rv))
	qv, rv = f(func(c contResult) float64 { return float64(c.between) })
	t.add("", "per grant, the time not spent holding: (run time − holds) ÷ grants", dur(qv), dur(rv), ratio(qv, rv))
	qlo, rlo := f(func(c contResult) float64 { return float64(c.fewest) })
	qhi, rhi := f(func(c contResult) float64 { return float64(c.most) })
	t.add("", "grants per goroutine, fewest–most", fmt.Sprintf("%.0f–%.0f", qlo, qhi), fmt.Sprintf("%.0f–%.0f", rlo, rhi), "")
	t.add("", failTitle(res), failCell(q, func(c contResult) failures { return c.fail }),
		failCell(r, func(c contResult) failures { return c.fail }), "")
}

func allocRows(t *table, res *results) {
	q, r, qf := res.allocs[libQ], res.allocs[libR], res.allocs[libQFence]
	allocs := func(a allocResult) float64 { return a.allocs }
	bytes := func(a allocResult) float64 { return a.bytes }
	title := fmt.Sprintf("6. heap allocations per Lock+Unlock pair (%d sequential pairs, GC settled)", res.cfg.allocPairs)
	t.add(title, "allocations per pair", num(med(q, allocs)), num(med(r, allocs)), ratio(med(q, allocs), med(r, allocs)))
	t.add("", "bytes per pair", num(med(q, bytes)), num(med(r, bytes)), ratio(med(q, bytes), med(r, bytes)))
	t.add("", "connections opened per 1000 pairs (each costs allocations)", dialsCell(q), dialsCell(r), "")
	t.add("7. the same, quorumlock with WithFencing()", "allocations per pair", num(med(qf, allocs)), "no fencing",
		times(med(qf, allocs), med(q, allocs))+" unfenced")
	t.add("", "bytes per pair", num(med(qf, bytes)), "", times(med(qf, bytes), med(q, bytes))+" unfenced")
}

// dialsCell is the median of connections opened per 1000 pairs, or "?"
// if a count could not be read.
func dialsCell(as []allocResult) string {
	for _, a := range as {
		if a.dials < 0 {
			return "?"
		}
	}
	return num(med(as, func(a allocResult) float64 { return 1000 * float64(a.dials) / float64(a.pairs) }))
}

func failTitle(res *results) string {
	if res.cfg.reps == 1 {
		return "failures (first error)"
	}
	return fmt.Sprintf("failures (all %d reps; first error)", res.cfg.reps)
}

// failCell sums the failures of every repetition and shows the first
// error's message.
func failCell[T any](rs []T, get func(T) failures) string {
	var f failures
	for _, r := range rs {
		f.merge(get(r))
	}
	if f.count == 0 {
		return "0"
	}
	msg := strings.NewReplacer("|", `\|`, "`", "'").Replace(short(f.first, 90))
	return fmt.Sprintf("%d: `%s`", f.count, msg)
}

func p50(r seqResult) float64      { return float64(r.p50) }
func p99(r seqResult) float64      { return float64(r.p99) }
func slowest(r seqResult) float64  { return float64(r.slowest) }
func pairRate(r seqResult) float64 { return r.rate }
func seqFail(r seqResult) failures { return r.fail }

func medSeq(rs []seqResult, get func(seqResult) float64) float64 { return med(rs, get) }

// med returns the median over repetitions of one measure.
func med[T any](rs []T, get func(T) float64) float64 {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = get(r)
	}
	return median(xs)
}

// dur formats nanoseconds for a table cell.
func dur(ns float64) string {
	d := time.Duration(ns)
	switch {
	case d <= 0:
		return "—"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", ns/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", ns/1e6)
	}
	return fmt.Sprintf("%.2f s", ns/1e9)
}

func rate(x float64) string {
	if x < 100 {
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.0f", x)
}

func num(x float64) string { return fmt.Sprintf("%.0f", x) }

// ratio returns a/b to two decimals, or "—" when b is zero.
func ratio(a, b float64) string {
	if b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// times returns a/b as a factor, e.g. "×1.31", or "—" when b is zero.
func times(a, b float64) string {
	if b == 0 {
		return "—"
	}
	return fmt.Sprintf("×%.2f", a/b)
}
