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
	"time"

	"github.com/quorumlock/quorumlock/internal/history"
	"github.com/quorumlock/quorumlock/internal/testcluster"
	"github.com/quorumlock/quorumlock/redlock"
)

const demoHelp = `Usage: redlock demo [flags]

Shows Redlock at work with no Redis installed. It starts five in-process
Redis-compatible nodes, runs workers that contend for one lock, each with
its own client, and takes nodes down mid-run, in four phases:

  1. all five nodes up: the lock is granted (a majority is 3 of 5);
  2. two nodes down: the other 3 are still a majority, the lock is still granted;
  3. a third node down: 2 of 5 are no majority, nobody gets the lock;
  4. the three brought back up, keeping their keys as a durable restart
     would: once they have sat out the restart quarantine (a node that
     restarted may have lost its keys, so its votes count only when it has
     been up for longer than the ttl), the lock is granted again.

Then a fifth phase shows fencing: a holder with a fencing token pauses past
its validity without renewing; another takes the lock with a higher token
and writes to a resource that refuses tokens below the highest it has seen;
the paused holder wakes and its late write is refused.

It prints who holds the lock as it goes, then a summary: grants and
timed-out waits per phase, and what a check of every hold against every
other on one monotonic clock found: overlaps (there must be none) and
stale writes accepted (there must be none).

Flags:
{{flags}}
Exit status: 0 if no holds overlapped, no stale write was accepted and
every phase behaved as described above; 70 if not; 64 for a usage error.
`

// demoOptions are the flags of redlock demo.
type demoOptions struct {
	duration time.Duration
	quick    bool
	workers  int
}

// demoFlags returns the flag set of redlock demo and the options it fills.
func demoFlags() (*flagSet, *demoOptions) {
	fs, o := newFlagSet("demo"), &demoOptions{}
	fs.DurationVar(&o.duration, "duration", 12*time.Second, fmt.Sprintf("how long the workers contend, a quarter in each of the four\nphases (at least %v); the quarantine and the fencing phase add\nabout 2s, and a phase that should grant and has not goes on\nuntil it has, for up to %v more", demoMinDuration, demoExtraMax))
	fs.BoolVar(&o.quick, "quick", false, fmt.Sprintf("a short run, as --duration %v", demoMinDuration))
	fs.IntVar(&o.workers, "workers", 5, "how many workers contend for the lock (1 to 50)")
	return fs, o
}

// The demo's fixed settings.
const (
	demoNodes       = 5
	demoLock        = "demo"
	demoTTL         = 500 * time.Millisecond
	demoNodeTimeout = 200 * time.Millisecond
	demoWait        = 300 * time.Millisecond // each Lock call's budget
	demoHoldMin     = 10 * time.Millisecond
	demoHoldMax     = 40 * time.Millisecond
	demoThinkMax    = 50 * time.Millisecond // pause between a release and the next Lock
	demoMinDuration = 4 * time.Second
	demoExtraMax    = 30 * time.Second // how much longer a phase may go on for its first grant
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
	{name: "recovered", title: "bringing nodes 3, 4 and 5 back up with their keys, as after a durable restart;\n" +
		"  their votes count once they have been up for longer than the ttl (the quarantine)", up: []int{2, 3, 4}, granted: true},
}

func cmdDemo(args []string, sio stdio) int {
	fs, o := demoFlags()
	if status, ok := parse(fs, args, demoHelp, sio); !ok {
		return status
	}
	if o.quick {
		o.duration = demoMinDuration
	}
	switch {
	case fs.NArg() > 0:
		return usageError(sio, fs, "unexpected arguments %q", fs.Args())
	case o.duration < demoMinDuration:
		return usageError(sio, fs, "--duration must be at least %v, got %v", demoMinDuration, o.duration)
	case o.workers < 1 || o.workers > 50:
		return usageError(sio, fs, "--workers must be 1 to 50, got %d", o.workers)
	}
	return runDemo(o, sio, &fenced{})
}

// runDemo runs the demo, the fencing phase writing to res, and returns the
// exit status.
func runDemo(o *demoOptions, sio stdio, res resource) int {
	d, err := startDemo(o.workers, sio.out)
	if err != nil {
		fmt.Fprintf(sio.err, "redlock demo: %v\n", err)
		return exitSoftware
	}
	defer d.close()
	ok, err := d.run(o.duration/time.Duration(len(demoPhases)), res)
	if err != nil {
		fmt.Fprintf(sio.err, "redlock demo: %v\n", err)
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
	cluster *testcluster.Cluster
	clients []*redlock.Client
	up      []bool
	rec     *history.Recorder
	tally   *tally
	phase   atomic.Int32 // the current phase, stored after its node changes; changing during them
	holder  atomic.Int32 // the worker holding the lock, -1 for none
	t0      time.Time
}

func startDemo(workers int, out io.Writer) (d *demo, err error) {
	c, err := testcluster.Start(testcluster.Options{Servers: demoNodes, RealTimeTTL: true})
	if err != nil {
		return nil, err
	}
	d = &demo{out: out, cluster: c, tally: newTally(len(demoPhases))}
	d.holder.Store(-1)
	for range demoNodes {
		d.up = append(d.up, true)
	}
	for range workers {
		client, err := redlock.New(c.Nodes, redlock.WithTTL(demoTTL), redlock.WithNodeTimeout(demoNodeTimeout))
		if err != nil {
			d.close()
			return nil, err
		}
		d.clients = append(d.clients, client)
	}
	return d, nil
}

// close waits for the clients' background work and stops the cluster.
func (d *demo) close() {
	for _, c := range d.clients {
		_ = c.Close()
	}
	d.cluster.Close()
}

func (d *demo) since() time.Duration { return time.Since(d.t0) }

// run runs the phases, each lasting phaseDur (the last longer, by the
// quarantine), with the workers contending throughout, then the fencing
// phase, and prints the summary. ok tells whether the demo showed what it
// should.
func (d *demo) run(phaseDur time.Duration, res resource) (ok bool, err error) {
	fmt.Fprintf(d.out, "redlock demo: %d in-process Redis nodes, %d workers contending for the lock %q\n",
		len(d.cluster.Servers), len(d.clients), demoLock)
	fmt.Fprintf(d.out, "  ttl %v, quorum %d of %d; a worker waits up to %v for the lock, holds it %v-%v, releases it\n",
		demoTTL, d.clients[0].Quorum(), demoNodes, demoWait, demoHoldMin, demoHoldMax)
	for i, s := range d.cluster.Servers {
		fmt.Fprintf(d.out, "  node %d  %s\n", i+1, s.URL())
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	d.t0 = time.Now()
	d.rec = history.NewRecorder(d.t0)
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
		if len(ph.up) > 0 {
			// Uptime is read in whole seconds: the votes of a node count
			// between one quarantine and one quarantine and a second after
			// it restarted.
			end += demoTTL + time.Second
		}
		fmt.Fprintf(d.out, "\nphase %d (t=%.1fs): %s\n", p+1, d.since().Seconds(), ph.title)
		next := d.since() + tick
		for ; next <= end+tick/2; next += tick {
			time.Sleep(max(next-d.since(), 0))
			d.tickLine(p)
		}
		// On a busy machine a phase may end before any Lock call that
		// began in it returned: one that should grant goes on until one
		// did, for a while.
		if grants, _ := d.tally.phase(p); ph.granted && grants == 0 {
			fmt.Fprintf(d.out, "  no grant yet (a busy machine?): the phase goes on until one, for up to %v more\n", demoExtraMax)
			for limit := d.since() + demoExtraMax; next <= limit+tick/2; next += tick {
				time.Sleep(max(next-d.since(), 0))
				d.tickLine(p)
				if grants, _ := d.tally.phase(p); grants > 0 {
					break
				}
			}
		}
	}
	cancel()
	wg.Wait()
	scene, err := d.fencing(res)
	if err != nil {
		return false, err
	}
	return d.summary(scene), nil
}

// change takes the phase's nodes down or brings them back up.
func (d *demo) change(ph demoPhase) error {
	for _, i := range ph.down {
		d.cluster.Servers[i].Stop()
		d.up[i] = false
	}
	for _, i := range ph.up {
		if err := d.cluster.Servers[i].Restart(); err != nil {
			return fmt.Errorf("restarting node %d: %w", i+1, err)
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
	grants, waits := d.tally.phase(p)
	fmt.Fprintf(d.out, "  t=%5.2fs  nodes [%s] %d/%d up  holder %-9s  grants %3d  timed-out waits %3d\n",
		d.since().Seconds(), nodes.String(), n, len(d.up), holder, grants, waits)
}

// work is one worker: lock, hold briefly, unlock, pause, until ctx ends.
// Each hold goes into the history.
func (d *demo) work(ctx context.Context, id int, client *redlock.Client) {
	label := fmt.Sprintf("worker-%d", id+1)
	for ctx.Err() == nil {
		from := int(d.phase.Load())
		lctx, cancel := context.WithTimeout(ctx, demoWait)
		lock, err := client.Lock(lctx, demoLock)
		cancel()
		to := int(d.phase.Load())
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, redlock.ErrNotObtained) {
				d.tally.timedOut(from, to)
			}
			continue
		}
		h, rerr := d.rec.Grant(history.Grant{Name: demoLock, Holder: label, At: time.Now(), Until: lock.Until()})
		d.holder.Store(int32(id))
		time.Sleep(demoHoldMin + rand.N(demoHoldMax-demoHoldMin))
		d.holder.CompareAndSwap(int32(id), -1)
		end := time.Now()
		err = lock.Unlock(context.WithoutCancel(ctx))
		if rerr == nil {
			rerr = h.End(end, ending(err))
		}
		d.tally.granted(from, to, rerr)
		sleep(ctx, rand.N(demoThinkMax))
	}
}

// ending is how a hold ended, by what Unlock returned.
func ending(unlockErr error) history.Ending {
	switch {
	case unlockErr == nil:
		return history.Released
	case errors.Is(unlockErr, redlock.ErrNotHeld):
		return history.ReleasedNotHeld
	}
	return history.ReleasedUnknown
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
