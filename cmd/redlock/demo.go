package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/quorumlock/quorumlock/redlock"
)

const demoHelp = `Usage: redlock demo [flags]

Shows Redlock at work with no Redis installed. It starts five in-process
Redis-compatible nodes (miniredis), runs workers that contend for one lock,
each with its own client, and takes nodes down mid-run, in four phases:

  1. all five nodes up: the lock is granted (a majority is 3 of 5);
  2. two nodes down: the other 3 are still a majority, the lock is still granted;
  3. a third node down: 2 of 5 are no majority, nobody gets the lock;
  4. the three brought back up, keeping their keys as a durable restart
     would: the lock is granted again.

It prints who holds the lock as it goes, then a summary: grants and
timed-out waits per phase, and the overlaps found when every hold is
checked against every other on one monotonic clock (there must be none).

Flags:
{{flags}}
Exit status: 0 if no holds overlapped and every phase behaved as described
above; 70 if not; 64 for a usage error.
`

// The demo's fixed settings.
const (
	demoNodes       = 5
	demoLock        = "demo"
	demoTTL         = time.Second
	demoNodeTimeout = 200 * time.Millisecond
	demoWait        = 300 * time.Millisecond // each Lock call's budget
	demoHoldMin     = 10 * time.Millisecond
	demoHoldMax     = 40 * time.Millisecond
	demoThinkMax    = 50 * time.Millisecond // pause between a release and the next Lock
)

// changing is the phase while nodes go down or come back: a Lock call
// counts in a phase only if it began and returned in that phase, so it saw
// only that phase's nodes.
const changing = -1

// A demoPhase is one stage of the demo: which nodes go down or come back
// before it, and whether the lock should be granted during it.
type demoPhase struct {
	name    string // for the summary
	title   string
	down    []int // nodes (0-based) taken down before the phase
	up      []int // nodes brought back before the phase
	granted bool
}

var demoPhases = []demoPhase{
	{name: "all up", title: "all 5 nodes up: a majority (3) can grant the lock", granted: true},
	{name: "two down", title: "taking down nodes 4 and 5: 3 of 5 up, still a majority", down: []int{3, 4}, granted: true},
	{name: "three down", title: "taking down node 3 too: 2 of 5 up, no majority, nobody can get the lock", down: []int{2}},
	{name: "recovered", title: "bringing nodes 3, 4 and 5 back up with their keys, as after a durable restart", up: []int{2, 3, 4}, granted: true},
}

func cmdDemo(args []string, sio stdio) int {
	fs := newFlagSet("demo")
	duration := fs.Duration("duration", 12*time.Second, "how long the demo runs: four phases of a quarter each (at least 4s)")
	quick := fs.Bool("quick", false, "a 4s run, as --duration 4s")
	workers := fs.Int("workers", 5, "how many workers contend for the lock (1 to 50)")
	if status, ok := parse(fs, args, demoHelp, sio); !ok {
		return status
	}
	if *quick {
		*duration = 4 * time.Second
	}
	switch {
	case fs.NArg() > 0:
		return usageError(sio, fs, "unexpected arguments %q", fs.Args())
	case *duration < 4*time.Second:
		return usageError(sio, fs, "--duration must be at least 4s, got %v", *duration)
	case *workers < 1 || *workers > 50:
		return usageError(sio, fs, "--workers must be 1 to 50, got %d", *workers)
	}
	d, err := startDemo(*workers, sio.out)
	if err != nil {
		fmt.Fprintf(sio.err, "redlock demo: %s\n", describe(err))
		return exitSoftware
	}
	ok, err := d.run(*duration / time.Duration(len(demoPhases)))
	if cerr := d.close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(sio.err, "redlock demo: %s\n", describe(err))
		return exitSoftware
	}
	if !ok {
		return exitSoftware
	}
	return exitOK
}

// A demo is the nodes, the workers' clients and what they did.
type demo struct {
	out     io.Writer
	servers []*miniredis.Miniredis
	addrs   []string
	nodes   []*redlock.Node
	clients []*redlock.Client
	up      []bool
	ledger  *ledger
	phase   atomic.Int32 // the current phase, stored after its node changes; changing during them
	holder  atomic.Int32 // the worker holding the lock, -1 for none
	t0      time.Time
}

func startDemo(workers int, out io.Writer) (d *demo, err error) {
	d = &demo{out: out, ledger: newLedger(len(demoPhases))}
	d.holder.Store(-1)
	defer func() {
		if err != nil {
			_ = d.close()
		}
	}()
	for range demoNodes {
		s := miniredis.NewMiniRedis()
		if err := s.Start(); err != nil {
			return nil, fmt.Errorf("starting an in-process node: %w", err)
		}
		s.ClockTTL(true) // keys expire in real time, as on Redis
		d.servers = append(d.servers, s)
		d.addrs = append(d.addrs, s.Addr())
		d.up = append(d.up, true)
		node, err := redlock.ParseURL("redis://" + s.Addr())
		if err != nil {
			return nil, err
		}
		d.nodes = append(d.nodes, node)
	}
	for range workers {
		c, err := redlock.New(d.nodes, redlock.WithTTL(demoTTL), redlock.WithNodeTimeout(demoNodeTimeout))
		if err != nil {
			return nil, err
		}
		d.clients = append(d.clients, c)
	}
	return d, nil
}

// close stops the clients, the nodes and the servers.
func (d *demo) close() error {
	for _, c := range d.clients {
		_ = c.Close()
	}
	closeNodes(d.nodes)
	for _, s := range d.servers {
		s.Close()
	}
	return nil
}

func (d *demo) since() time.Duration { return time.Since(d.t0) }

// run runs the phases, each lasting phaseDur, with the workers contending
// throughout, and prints the summary. ok tells whether the demo showed
// what it should.
func (d *demo) run(phaseDur time.Duration) (ok bool, err error) {
	fmt.Fprintf(d.out, "redlock demo: %d in-process Redis nodes, %d workers contending for the lock %q\n",
		len(d.servers), len(d.clients), demoLock)
	fmt.Fprintf(d.out, "  ttl %v, quorum %d of %d; a worker waits up to %v for the lock, holds it %v-%v, releases it\n",
		demoTTL, d.clients[0].Quorum(), len(d.servers), demoWait, demoHoldMin, demoHoldMax)
	for i, a := range d.addrs {
		fmt.Fprintf(d.out, "  node %d  redis://%s\n", i+1, a)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	d.t0 = time.Now()
	for i, c := range d.clients {
		wg.Go(func() { d.work(ctx, i, c) })
	}
	defer func() {
		cancel()
		wg.Wait()
	}()

	tick := max(phaseDur/6, 100*time.Millisecond)
	for p, ph := range demoPhases {
		d.phase.Store(changing) // a Lock call that sees this counts in no phase
		if err := d.change(ph); err != nil {
			return false, err
		}
		d.phase.Store(int32(p))
		end := d.since() + phaseDur
		fmt.Fprintf(d.out, "\nphase %d (t=%.1fs): %s\n", p+1, d.since().Seconds(), ph.title)
		for next := d.since() + tick; next <= end+tick/2; next += tick {
			time.Sleep(max(next-d.since(), 0))
			d.tickLine(p)
		}
	}
	cancel()
	wg.Wait()
	return d.summary(), nil
}

// change takes the phase's nodes down or brings them back up.
func (d *demo) change(ph demoPhase) error {
	for _, i := range ph.down {
		d.servers[i].Close()
		d.up[i] = false
	}
	for _, i := range ph.up {
		if err := d.servers[i].Restart(); err != nil {
			return fmt.Errorf("restarting node %d on %s: %w", i+1, d.addrs[i], err)
		}
		d.up[i] = true
	}
	return nil
}

// tickLine prints the live view: time, nodes, holder and phase counts.
func (d *demo) tickLine(p int) {
	var nodes strings.Builder
	n := 0
	for _, up := range d.up {
		if up {
			nodes.WriteByte('#')
			n++
		} else {
			nodes.WriteByte('.')
		}
	}
	holder := "nobody"
	if h := d.holder.Load(); h >= 0 {
		holder = fmt.Sprintf("worker-%d", h+1)
	}
	grants, gaveUp, _ := d.ledger.snapshot(p)
	fmt.Fprintf(d.out, "  t=%5.2fs  nodes [%s] %d/%d up  holder %-9s  grants %3d  timed-out waits %3d\n",
		d.since().Seconds(), nodes.String(), n, len(d.up), holder, grants, gaveUp)
}

// work is one worker: lock, hold briefly, unlock, pause, until ctx ends.
func (d *demo) work(ctx context.Context, id int, client *redlock.Client) {
	for ctx.Err() == nil {
		from := int(d.phase.Load())
		lctx, cancel := context.WithTimeout(ctx, demoWait)
		lock, err := client.Lock(lctx, demoLock)
		cancel()
		to := int(d.phase.Load())
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, redlock.ErrNotObtained) {
				d.ledger.timedOut(from, to)
			}
			continue
		}
		start := d.since()
		d.holder.Store(int32(id))
		time.Sleep(demoHoldMin + rand.N(demoHoldMax-demoHoldMin))
		d.holder.CompareAndSwap(int32(id), -1)
		end := d.since()
		validUntil := lock.Until().Sub(d.t0)
		err = lock.Unlock(context.WithoutCancel(ctx))
		d.ledger.granted(id, from, to, start, end, validUntil, err == nil)
		sleep(ctx, rand.N(demoThinkMax))
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// summary prints what happened and returns whether it is what the phases
// promise: grants where a majority was up, none where it was not, and no
// overlap at all.
func (d *demo) summary() bool {
	l := d.ledger
	overlaps := l.overlaps()
	ok := overlaps == 0
	fmt.Fprintf(d.out, "\nsummary (t=%.1fs)\n", d.since().Seconds())
	tw := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  phase\tnodes up\tgrants\ttimed-out waits\texpected")
	upCount := demoNodes
	for p, ph := range demoPhases {
		upCount += len(ph.up) - len(ph.down)
		grants, gaveUp, _ := l.snapshot(p)
		want, met := "grants", grants > 0
		if !ph.granted {
			want, met = "no grant", grants == 0
		}
		verdict := "ok"
		if !met {
			verdict, ok = "NOT MET", false
		}
		fmt.Fprintf(tw, "  %d %s\t%d/%d\t%d\t%d\t%s: %s\n", p+1, ph.name, upCount, demoNodes, grants, gaveUp, want, verdict)
	}
	l.mu.Lock()
	total, changing, unconfirmed, overtime := len(l.holds), l.changing, l.unconfirm, l.overtime
	l.mu.Unlock()
	fmt.Fprintf(tw, "  while nodes changed\t\t%d\t%d\n", changing[0], changing[1])
	_ = tw.Flush()
	fmt.Fprintf(d.out, "  grants: %d in all (%s); every hold checked against every other on one monotonic clock\n",
		total, l.perWorker(len(d.clients)))
	fmt.Fprintf(d.out, "  overlaps found: %d\n", overlaps)
	if unconfirmed > 0 {
		fmt.Fprintf(d.out, "  releases a quorum could not confirm: %d (a node went down during the hold; Unlock reports it)\n", unconfirmed)
	}
	if overtime > 0 {
		fmt.Fprintf(d.out, "  holds that outlived their validity: %d (checked up to the end of validity only)\n", overtime)
	}
	if ok {
		fmt.Fprintln(d.out, "demo OK: one holder at a time throughout; granted with 3 of 5 nodes up, refused with 2, granted again after recovery")
	} else {
		fmt.Fprintln(d.out, "demo FAILED: see the lines above")
	}
	return ok
}
