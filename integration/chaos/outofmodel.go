package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/quorumlock/quorumlock/internal/history"
	"github.com/quorumlock/quorumlock/redlock"
)

// oomTTL is the ttl of the locks of an out-of-model run, unless its
// scenario sets another: the library's default, so that its quarantine is
// the default one too.
const oomTTL = 10 * time.Second

// restartTTL is the ttl of the locks of the scenarios that restart three
// nodes while the victim holds its lock: long enough that the restarts end
// well within the victim's validity on a busy machine, where they took up
// to 10s.
const restartTTL = 30 * time.Second

// contenders is how many clients try to take the lock while the victim
// holds it; each takes it at most once.
const contenders = 2

// A phaseRun is one phase of an out-of-model scenario: a victim takes the
// lock and reads the counter, the scenario breaks an assumption on a
// majority of the nodes (0, 1 and 2), contenders try to take the lock and
// increment the counter, and the victim writes last.
type phaseRun struct {
	c        *cluster
	lg       *logger
	spec     phaseSpec
	name     string // the lock name
	key      string // its Redis key
	majority []int
	opts     []redlock.ClientOption
	rec      *history.Recorder
	counter  atomic.Int64
	updates  atomic.Int64
	fence    history.Fence
	mu       sync.Mutex
	own      map[string]int // the phase's own measures
	saved    map[int][]any  // what the scenario changed on a node, to restore it
}

// count adds n to one of the phase's own measures.
func (p *phaseRun) count(measure string, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.own[measure] += n
}

// runOutOfModel runs the scenario of cfg.Fault: each phase, with the
// cluster healed and voting between them.
func runOutOfModel(cfg *config, c *cluster, lg *logger) *record {
	rec := newRecord(cfg, c)
	sc := scenarioByName(cfg.Fault)
	cfg.TTL = sc.lockTTL()
	rec.note("what it does: " + sc.does)
	rec.note("how it is undone: " + sc.undo)
	quarantine := quarantineFor(cfg.TTL)
	prepare := func() error {
		if err := c.heal(lg.printf); err != nil {
			return err
		}
		return c.waitUptime(quarantine+time.Second, lg.printf)
	}
	if sc.needsClock {
		if _, err := c.probeClock("on"); err != nil {
			rec.fail(exitFailed, err.Error())
			return rec
		}
	}
	for _, spec := range sc.phases {
		if err := prepare(); err != nil {
			rec.fail(exitFailed, "preparing the cluster: "+err.Error())
			break
		}
		lg.printf("%s, %s: %s", sc.name, spec.label, spec.about)
		pr := runPhase(c, lg, sc, spec)
		rec.Phases = append(rec.Phases, pr)
		switch {
		case pr.Err != "":
			rec.fail(exitFailed, spec.label+": "+pr.Err)
		case !pr.Matched:
			rec.fail(exitViolation, spec.label+": "+strings.Join(pr.Missed, "; "))
		}
	}
	if err := c.heal(lg.printf); err != nil {
		rec.fail(exitFailed, "healing the cluster: "+err.Error())
	}
	if err := c.waitUptime(defaultQuarantine, lg.printf); err != nil {
		rec.fail(exitFailed, err.Error())
	}
	return rec
}

// runPhase runs one phase and judges it.
func runPhase(c *cluster, lg *logger, sc *scenario, spec phaseSpec) *phaseRecord {
	out := &phaseRecord{Label: spec.label, Expected: spec.expect}
	start := time.Now()
	p := &phaseRun{c: c, lg: lg, spec: spec, majority: []int{0, 1, 2}, rec: history.NewRecorder(start),
		own: map[string]int{}, saved: map[int][]any{},
		name: fmt.Sprintf("oom-%s-%s-%d", sc.name, spec.label, start.UnixMilli()%100_000)}
	p.key = keyPrefix + p.name
	p.opts = []redlock.ClientOption{redlock.WithTTL(sc.lockTTL()), redlock.WithKeyPrefix(keyPrefix)}
	if spec.fencing {
		p.opts = append(p.opts, redlock.WithFencing())
	}
	if !spec.quarantine {
		p.opts = append(p.opts, redlock.WithQuarantine(0), redlock.WithAcceptRisks(redlock.RiskNoPersistence))
	}
	defer p.cleanup()
	err := p.run(sc)
	if sc.after != nil {
		err = errors.Join(err, sc.after(p))
	}
	if err != nil {
		out.Err = err.Error()
		return out
	}
	if n := p.updates.Load(); n > 0 {
		if err := p.rec.Final(p.name, p.counter.Load()); err != nil {
			out.Err = err.Error()
			return out
		}
	}
	rep, err := p.rec.Check(time.Now())
	if err != nil {
		out.Err = err.Error()
		return out
	}
	out.judge(rep, p.own)
	return out
}

// run takes the victim's lock, breaks the assumption, lets the contenders
// try, and has the victim write.
func (p *phaseRun) run(sc *scenario) error {
	made := 1 + contenders
	if p.spec.freshContenders {
		made = 1
	}
	cs, closeAll, err := p.clients(made)
	if err != nil {
		return err
	}
	defer func() { closeAll() }()
	if err := p.warmUp(cs); err != nil {
		return err
	}
	if sc.before != nil {
		if err := sc.before(p); err != nil {
			return err
		}
	}
	var v victim
	if sc.paused {
		v, err = startPausedVictim(p)
	} else {
		v, err = p.lockVictim(cs[0])
	}
	if err != nil {
		return err
	}
	defer v.abort()
	if err := sc.inject(p, v); err != nil {
		return err
	}
	if p.spec.freshContenders {
		fresh, closeFresh, err := p.clients(contenders)
		if err != nil {
			return err
		}
		first := closeAll
		closeAll = func() { closeFresh(); first() }
		cs = append(cs, fresh...)
	}
	p.contend(cs[1:], v.window())
	return v.finish(p)
}

// clients makes n clients with the phase's options, each with nodes of its
// own, straight to the nodes.
func (p *phaseRun) clients(n int) ([]*redlock.Client, func(), error) {
	var (
		cs    []*redlock.Client
		nodes []*redlock.Node
	)
	closeAll := func() {
		for _, c := range cs {
			_ = c.Close()
		}
		for _, n := range nodes {
			_ = n.Close()
		}
	}
	for range n {
		var mine []*redlock.Node
		for _, u := range p.c.urls {
			nd, err := redlock.ParseURL(u)
			if err != nil {
				closeAll()
				return nil, nil, err
			}
			mine = append(mine, nd)
			nodes = append(nodes, nd)
		}
		c, err := redlock.New(mine, p.opts...)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		cs = append(cs, c)
	}
	return cs, closeAll, nil
}

// warmUp has every client take and release another lock, so that each has
// vetted the nodes and loaded its scripts before the fault, as clients of a
// running deployment have.
func (p *phaseRun) warmUp(cs []*redlock.Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, c := range cs {
		l, err := c.Lock(ctx, p.name+":warm-up")
		if err != nil {
			return fmt.Errorf("client %d, warming up: %w", i, err)
		}
		if err := l.Unlock(ctx); err != nil {
			return fmt.Errorf("client %d, warming up: %w", i, err)
		}
	}
	return nil
}

// contend has each contender try once to take the lock until the window
// ends, and increment the counter under it.
func (p *phaseRun) contend(cs []*redlock.Client, window time.Duration) {
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			label := fmt.Sprintf("contender%d", i+1)
			if window <= 0 {
				return
			}
			var (
				h   *history.Hold
				end time.Time
			)
			ctx, cancel := context.WithTimeout(context.Background(), window+time.Minute)
			defer cancel()
			err := c.Do(ctx, p.name, func(hctx context.Context) error {
				l := redlock.HeldLock(hctx)
				at := time.Now()
				var err error
				h, err = p.rec.Grant(history.Grant{Name: p.name, Holder: label, At: at, Until: l.Until(),
					Token: l.Fence(), Watched: true})
				if err != nil {
					return err
				}
				p.count(mContenders, 1)
				v := p.counter.Load()
				time.Sleep(5 * time.Millisecond)
				p.write(h, v)
				end = time.Now()
				return nil
			}, redlock.WithWait(window))
			switch {
			case h != nil:
				_ = h.End(end, ending(false, err))
			case errors.Is(err, redlock.ErrNotObtained) && strings.Contains(err.Error(), "quarantine"):
				p.count(mQuarantined, 1)
			}
			p.lg.printf("  %s: %s", label, outcome(h != nil, err))
		})
	}
	wg.Wait()
}

// write is a holder's write of the counter it read as v: through the fence
// first if the hold has a token.
func (p *phaseRun) write(h *history.Hold, v int64) {
	if p.spec.fencing && !h.Write(&p.fence) {
		return
	}
	p.counter.Store(v + 1)
	h.Update(v, v+1)
	p.updates.Add(1)
}

// outcome says in a few words how an attempt ended.
func outcome(granted bool, err error) string {
	if !granted {
		return "not granted: " + shorten(err.Error())
	}
	return "granted; " + released(err)
}

// released says in a few words how a release went.
func released(err error) string {
	if err == nil {
		return "released"
	}
	return "release: " + shorten(err.Error())
}

// shorten keeps the first 120 characters of s.
func shorten(s string) string {
	if len(s) > 120 {
		return s[:117] + "..."
	}
	return s
}

// onMajority runs cmd on each node of the majority.
func (p *phaseRun) onMajority(cmd string, args ...any) error {
	for _, i := range p.majority {
		if _, err := p.c.command(i, 10*time.Second, cmd, args...); err != nil {
			return err
		}
	}
	return nil
}

// keyGone checks that the lock's key is gone from every node of the
// majority: the fault took.
func (p *phaseRun) keyGone() error {
	for _, i := range p.majority {
		n, err := redis.Int(p.c.command(i, 10*time.Second, "EXISTS", p.key))
		if err != nil {
			return err
		}
		if n != 0 {
			return fmt.Errorf("%s still has the victim's key: the fault did not take", service(i))
		}
	}
	return nil
}

// cleanup deletes what the phase left on the nodes.
func (p *phaseRun) cleanup() {
	for i := range p.c.urls {
		_, _ = p.c.command(i, 10*time.Second, "DEL", p.key, p.key+":warm-up")
	}
}
