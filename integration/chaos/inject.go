package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/quorumlock/quorumlock/integration/internal/nemesis"
)

// An injector runs a fault schedule on the cluster, one goroutine per
// fault, and keeps to the minority bound by the nodes' actual state as well
// as the plan's: a fault whose node is still faulted, or that would make
// too many nodes faulted at once (a restart that took longer than
// planned), is skipped, and so is an isolation while another runs.
type injector struct {
	c         *cluster
	nets      []*nemesis.Network // each client's proxies
	start     time.Time
	maxFaulty int
	recovery  time.Duration // after a killed node answers again: its quarantine
	logf      func(format string, args ...any)
	mu        sync.Mutex
	busy      []time.Time    // per node: faulted until then; the far future while a fault runs
	isolating bool           // a client is isolated
	active    map[int]string // node, or -1-client for an isolation -> the kind of the fault running there
	done      []faultRecord  // every fault injected, in the order they started
	skipped   int            // faults of the plan not injected
	errs      []error        // failures to inject or heal
	skews     []nemesis.Skew // each node's clock skew
	wg        sync.WaitGroup
}

// A faultRecord is one fault as it happened.
type faultRecord struct {
	fault
	Started time.Duration `json:"started_ns"` // from the start of the run
	Healed  time.Duration `json:"healed_ns"`  // when it was undone
	Err     string        `json:"error,omitempty"`
}

// maxErrs bounds the failures an injector keeps.
const maxErrs = 10

func newInjector(c *cluster, nets []*nemesis.Network, start time.Time, maxFaulty int, recovery time.Duration,
	logf func(string, ...any)) *injector {
	return &injector{c: c, nets: nets, start: start, maxFaulty: maxFaulty, recovery: recovery, logf: logf,
		busy: make([]time.Time, c.n()), active: map[int]string{}, skews: make([]nemesis.Skew, c.n())}
}

// run injects the plan's faults at their times until the plan is done or
// ctx ends, then waits until every fault it started is healed. Each fault
// is bounded by its length and the docker timeout.
func (in *injector) run(ctx context.Context, faults []fault) {
	defer in.wg.Wait()
	for _, f := range faults {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(in.start.Add(f.At))):
		}
		if !in.claim(f) {
			continue
		}
		in.wg.Go(func() { in.inject(ctx, f) })
	}
}

// claim marks f's node as faulted if the minority bound allows it, or a
// client as isolated if none is.
func (in *injector) claim(f fault) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	if f.Kind == kindIsolate {
		if in.isolating {
			in.skipped++
			return false
		}
		in.isolating = true
		return true
	}
	i, now := f.Node, time.Now()
	faulty := 0
	for _, b := range in.busy {
		if b.After(now) {
			faulty++
		}
	}
	if in.busy[i].After(now) || faulty >= in.maxFaulty {
		in.skipped++
		return false
	}
	in.busy[i] = now.Add(24 * time.Hour)
	return true
}

// inject applies f, waits its length (less if ctx ends), and heals it.
func (in *injector) inject(ctx context.Context, f fault) {
	rec := faultRecord{fault: f, Started: time.Since(in.start)}
	slot := f.Node
	if f.Kind == kindIsolate {
		slot = -1 - f.Client
	}
	in.mu.Lock()
	in.active[slot] = f.Kind
	in.mu.Unlock()
	free := time.Now() // when the node counts as healthy again
	err := in.apply(ctx, f, &free)
	rec.Healed = time.Since(in.start)
	in.mu.Lock()
	defer in.mu.Unlock()
	delete(in.active, slot)
	if f.Kind == kindIsolate {
		in.isolating = false
	} else {
		in.busy[f.Node] = free
	}
	if err != nil {
		rec.Err = err.Error()
		if len(in.errs) < maxErrs {
			in.errs = append(in.errs, fmt.Errorf("%s on %s: %w", f.Kind, service(f.Node), err))
		}
	}
	in.done = append(in.done, rec)
}

// apply injects one fault and undoes it; free is set to when the node
// votes again.
func (in *injector) apply(ctx context.Context, f fault, free *time.Time) error {
	wait := func() {
		select {
		case <-ctx.Done():
		case <-time.After(f.For):
		}
	}
	// A fault's toxics carry its kind, so that a link cut, an isolation
	// and a fault of the node can overlap on one client's link.
	tag := "/" + f.Kind
	switch f.Kind {
	case kindLinkCut:
		err := in.nets[f.Client].Cut(f.Node, tag)
		if err == nil {
			wait()
		}
		in.nets[f.Client].Remove(f.Node, tag)
		return err
	case kindIsolate:
		var errs []error
		for _, i := range f.Nodes {
			errs = append(errs, in.nets[f.Client].Cut(i, tag))
		}
		err := errors.Join(errs...)
		if err == nil {
			wait()
		}
		for _, i := range f.Nodes {
			in.nets[f.Client].Remove(i, tag)
		}
		return err
	}
	i, id := f.Node, in.c.ids[f.Node]
	switch f.Kind {
	case kindPause:
		if _, err := nemesis.Docker("pause", id); err != nil {
			return err
		}
		wait()
		_, err := nemesis.Docker("unpause", id)
		return err
	case kindKill:
		if _, err := nemesis.Docker("kill", id); err != nil {
			return err
		}
		wait()
		if _, err := nemesis.Docker("start", id); err != nil {
			return err
		}
		err := in.waitNode(i, 2*time.Minute)
		*free = time.Now().Add(in.recovery)
		return err
	case kindPartition, kindLatency, kindResets: // on every client's link to the node
		var errs []error
		for _, n := range in.nets {
			switch f.Kind {
			case kindPartition:
				errs = append(errs, n.Cut(i, tag))
			case kindLatency:
				errs = append(errs, n.Slow(i, f.Latency, f.Jitter, tag))
			default:
				errs = append(errs, n.Reset(i, tag))
			}
		}
		err := errors.Join(errs...)
		if err == nil {
			wait()
		}
		for _, n := range in.nets {
			n.Remove(i, tag)
		}
		return err
	case kindClientKill:
		return in.clientKills(ctx, f)
	case kindDrift:
		in.mu.Lock()
		now := time.Now()
		in.skews[i] = nemesis.Skew{Offset: in.skews[i].At(now), RatePPM: f.RatePPM, Since: now}
		s := in.skews[i]
		in.mu.Unlock()
		if err := nemesis.SetClock(id, s); err != nil {
			return err
		}
		wait()
		// Freeze what drifted: a constant offset changes no key's lifetime,
		// while stepping back a fast clock would be a clock step.
		in.mu.Lock()
		in.skews[i] = nemesis.Skew{Offset: in.skews[i].At(time.Now())}
		s = in.skews[i]
		in.mu.Unlock()
		return nemesis.SetClock(id, s)
	}
	return fmt.Errorf("unknown fault kind %q", f.Kind)
}

// clientKills sends CLIENT KILL TYPE normal to the node every f.Every for
// f.For: every client connection is cut, the proxies' ones included.
func (in *injector) clientKills(ctx context.Context, f fault) error {
	end := time.Now().Add(f.For)
	var errs []error
	for n := 0; time.Now().Before(end) && ctx.Err() == nil && n < 1000; n++ {
		if _, err := in.c.command(f.Node, 2*time.Second, "CLIENT", "KILL", "TYPE", "normal"); err != nil {
			errs = append(errs, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(f.Every):
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d CLIENT KILLs failed, the first: %w", len(errs), errs[0])
	}
	return nil
}

// waitNode waits until node i answers PING.
func (in *injector) waitNode(i int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		_, err := in.c.command(i, 2*time.Second, "PING")
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("did not answer PING within %v after its start: %w", within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// status says which faults run now, for progress lines.
func (in *injector) status() (injected int, active string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	slots := make([]int, 0, len(in.active))
	for i := range in.active {
		slots = append(slots, i)
	}
	sort.Ints(slots)
	parts := make([]string, len(slots))
	for k, i := range slots {
		if i < 0 {
			parts[k] = fmt.Sprintf("%s c%02d", in.active[i], -1-i)
		} else {
			parts[k] = in.active[i] + " " + service(i)
		}
	}
	if len(parts) == 0 {
		return len(in.done), "none"
	}
	return len(in.done) + len(in.active), strings.Join(parts, ", ")
}

// record returns the faults done, those skipped and the failures.
func (in *injector) record() (done []faultRecord, skipped int, err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	done = slices.Clone(in.done)
	slices.SortFunc(done, func(a, b faultRecord) int { return int(a.Started - b.Started) })
	return done, in.skipped, errors.Join(in.errs...)
}
