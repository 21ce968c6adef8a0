package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/quorumlock/quorumlock/integration/internal/nemesis"
	"github.com/quorumlock/quorumlock/redlock"
)

// driftFactor is the library's default, which the clients keep: the
// in-model clock drift stays below it.
const driftFactor = 0.01

// quarantineFor is the library's default quarantine for locks of ttl: the
// ttl and its drift allowance.
func quarantineFor(ttl time.Duration) time.Duration {
	return ttl + time.Duration(float64(ttl)*driftFactor) + 2*time.Millisecond
}

// runInModel runs an in-model profile: the clients contend while the
// injector runs the seed's schedule; then everything is healed and the
// history judged.
func runInModel(cfg *config, c *cluster, lg *logger) *record {
	rec := newRecord(cfg, c)
	fail := func(err error) *record {
		rec.fail(exitFailed, err.Error())
		if herr := c.heal(lg.printf); herr != nil {
			rec.fail(exitFailed, "healing the cluster: "+herr.Error())
		}
		return rec
	}
	if err := c.heal(lg.printf); err != nil {
		return fail(fmt.Errorf("bringing every node back before the run: %w", err))
	}
	if note, err := c.probeClock(cfg.Clock); err != nil {
		return fail(err)
	} else if note != "" {
		rec.note(note)
		lg.printf("%s", note)
	}
	kinds := cfg.Kinds
	if !c.clock {
		kinds = without(kinds, kindDrift)
	}
	quarantine := quarantineFor(cfg.TTL)
	if err := c.waitUptime(quarantine+time.Second, lg.printf); err != nil {
		return fail(err)
	}
	clients, nets, closeClients, err := newClients(cfg, c)
	if err != nil {
		return fail(err)
	}

	start := time.Now()
	faults := plan(planParams{seed: cfg.Seed, duration: cfg.Duration, nodes: c.n(), clients: cfg.Clients,
		maxFaulty: cfg.MaxFaulty, kinds: kinds, recovery: quarantine + time.Second, ttl: cfg.TTL, driftPPM: cfg.DriftPPM})
	rec.Planned = countKinds(faults)
	w := newWorkload(cfg, start)
	in := newInjector(c, nets, start, cfg.MaxFaulty, quarantine+time.Second, lg.printf)
	lg.printf("in-model profile %s, seed %d: %d clients on %d names for %v; %d faults planned",
		cfg.Profile, cfg.Seed, cfg.Clients, cfg.Names, cfg.Duration, len(faults))

	ctx, cancel := context.WithTimeout(context.Background(), cfg.Duration)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { in.run(ctx, faults) })
	stopProgress := lg.every(cfg.Progress, func() string {
		n, active := in.status()
		viol := "?"
		if rep, err := w.rec.Check(time.Now()); err == nil {
			viol = fmt.Sprint(rep.Total.Violations())
		}
		return fmt.Sprintf("%v of %v: %d grants, %d faults injected, active: %s; violations so far: %s",
			time.Since(start).Round(time.Second), cfg.Duration, w.grants.Load(), n, active, viol)
	})
	w.run(ctx, clients)
	stop := time.Now()
	cancel()
	wg.Wait() // every fault healed, within its bound
	stopProgress()
	closeClients()

	rec.Elapsed = stop.Sub(start)
	rec.FaultLog, rec.Skipped, err = in.record()
	if err != nil {
		rec.fail(exitFailed, "faults that could not be injected or healed: "+err.Error())
	}
	rec.Faults = map[string]int{}
	for _, f := range rec.FaultLog {
		if f.Err == "" {
			rec.Faults[f.Kind]++
		}
	}
	if err := c.heal(lg.printf); err != nil {
		rec.fail(exitFailed, "healing the cluster after the run: "+err.Error())
	}
	rep, err := w.finish(stop)
	if err != nil {
		rec.fail(exitFailed, "checking the history: "+err.Error())
		return rec
	}
	rec.setReport(rep)
	rec.Stats = w.stats.snapshot()
	if rec.Stats.RecordErrs != nil {
		rec.fail(exitFailed, "the recorder refused records: "+rec.Stats.RecordErrs[0])
	}
	if rec.Stats.Unexpected > 0 {
		rec.fail(exitFailed, fmt.Sprintf("%d errors the library does not promise, the first: %s",
			rec.Stats.Unexpected, rec.Stats.UnexpectedFirst[0]))
	}
	if v := rep.Total.Violations(); v > 0 {
		rec.fail(exitViolation, fmt.Sprintf("%d violations under in-model faults", v))
	}
	if rep.Total.Grants < cfg.MinGrants {
		rec.fail(exitFailed, fmt.Sprintf("%d grants, fewer than the %d needed to judge the run", rep.Total.Grants, cfg.MinGrants))
	}
	// Leave the cluster voting for whoever uses it next.
	if err := c.waitUptime(defaultQuarantine, lg.printf); err != nil {
		rec.fail(exitFailed, err.Error())
	}
	return rec
}

// newClients makes cfg.Clients clients, each with nodes of its own through
// proxies of its own (so that one client's links can be cut), and returns
// them, their networks, and a function that closes them all.
func newClients(cfg *config, cl *cluster) ([]*redlock.Client, []*nemesis.Network, func(), error) {
	var (
		clients []*redlock.Client
		nets    []*nemesis.Network
		nodes   []*redlock.Node
	)
	closeAll := func() {
		for _, c := range clients {
			_ = c.Close() // waits for the client's background work
		}
		for _, n := range nodes {
			_ = n.Close()
		}
		for _, n := range nets {
			n.Close()
		}
	}
	for i := range cfg.Clients {
		net, err := nemesis.NewNetwork(cl.hosts)
		if err != nil {
			closeAll()
			return nil, nil, nil, err
		}
		nets = append(nets, net)
		var mine []*redlock.Node
		for j := range cl.n() {
			n, err := redlock.ParseURL("redis://" + net.Addr(j))
			if err != nil {
				closeAll()
				return nil, nil, nil, err
			}
			mine = append(mine, n)
			nodes = append(nodes, n)
		}
		opts := []redlock.ClientOption{redlock.WithTTL(cfg.TTL), redlock.WithKeyPrefix(keyPrefix)}
		if cfg.fenced(i) {
			opts = append(opts, redlock.WithFencing())
		}
		c, err := redlock.New(mine, opts...)
		if err != nil {
			closeAll()
			return nil, nil, nil, fmt.Errorf("client %d: %w", i, err)
		}
		clients = append(clients, c)
	}
	return clients, nets, closeAll, nil
}

// without returns kinds less k.
func without(kinds []string, k string) []string {
	var out []string
	for _, x := range kinds {
		if x != k {
			out = append(out, x)
		}
	}
	return out
}
