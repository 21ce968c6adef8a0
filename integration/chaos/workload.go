package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quorumlock/quorumlock/internal/history"
	"github.com/quorumlock/quorumlock/redlock"
)

// keyPrefix starts every key a chaos run writes.
const keyPrefix = "quorumlock-chaos:"

// A workload is the clients' side of an in-model run: each client loops,
// taking one of a few lock names through Client.Do or Client.Lock and
// Lock.Hold, and under it increments the name's counter by a read, a sleep
// and a write. Fenced clients also present their token to the name's
// Fence, and write the counter only if it accepts. Everything is recorded
// in one history.Recorder on Go's monotonic clock.
//
// The long holder (client 0) takes a name of its own, the last, and holds
// it for half a ttl to two ttls, renewed all along; the other clients take
// that name one time in fifty, so that its holds have contenders without
// blocking the others for long.
type workload struct {
	cfg      *config
	rec      *history.Recorder
	names    []string
	counters []atomic.Int64 // the protected resource: one counter per name
	updates  []atomic.Int64 // updates recorded per name
	fences   []history.Fence
	grants   atomic.Int64
	stats    stats
}

// stats counts what the clients saw besides grants. Safe for concurrent use.
type stats struct {
	NotObtained   atomic.Int64
	Interrupted   atomic.Int64 // acquisitions cut short by the end of the run
	LostSignals   atomic.Int64
	StaleRejected atomic.Int64
	mu            sync.Mutex
	unexpected    []string // errors that match no outcome the library promises
	unexpectedN   int
	recordErrs    []string // the recorder refused a record: a bug here
}

// addUnexpected keeps the first few unexpected errors and counts them all.
func (s *stats) addUnexpected(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unexpectedN++
	if len(s.unexpected) < 3 {
		s.unexpected = append(s.unexpected, fmt.Sprintf(format, args...))
	}
}

// recordErr keeps a failure to record.
func (s *stats) recordErr(err error) {
	if err == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.recordErrs) < 3 {
		s.recordErrs = append(s.recordErrs, err.Error())
	}
}

func newWorkload(cfg *config, start time.Time) *workload {
	w := &workload{cfg: cfg, rec: history.NewRecorder(start),
		counters: make([]atomic.Int64, cfg.Names+1), updates: make([]atomic.Int64, cfg.Names+1),
		fences: make([]history.Fence, cfg.Names+1)}
	for i := range cfg.Names {
		w.names = append(w.names, fmt.Sprintf("seed%d-lock%d", cfg.Seed, i))
	}
	w.names = append(w.names, fmt.Sprintf("seed%d-long", cfg.Seed))
	return w
}

// run runs one loop per client until ctx ends or the grants reach the
// profile's maximum.
func (w *workload) run(ctx context.Context, clients []*redlock.Client) {
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() { w.loop(ctx, i, c) })
	}
	wg.Wait()
}

// loop is client i's loop; its choices come from the seed.
func (w *workload) loop(ctx context.Context, i int, c *redlock.Client) {
	rng := rand.New(rand.NewPCG(uint64(w.cfg.Seed), uint64(i)+1))
	label := fmt.Sprintf("c%02d", i)
	for ctx.Err() == nil && w.grants.Load() < int64(w.cfg.MaxGrants) {
		long := len(w.names) - 1
		n := rng.IntN(long)
		if i == longHolder || rng.IntN(50) == 0 {
			n = long
		}
		work := w.workTime(rng, i)
		if rng.IntN(2) == 0 {
			w.viaDo(ctx, c, label, n, work)
		} else {
			w.viaHold(ctx, c, label, n, work)
		}
	}
}

// workTime draws how long client i sleeps between reading and writing:
// mostly a few milliseconds, one hold in a hundred long enough for the
// lock to be renewed once or twice (every third of the ttl). The long
// holder's holds are all long, from half the ttl to twice it, so that
// isolating it from the nodes loses a held lock.
func (w *workload) workTime(rng *rand.Rand, i int) time.Duration {
	if i == longHolder {
		return w.cfg.TTL/2 + time.Duration(rng.Int64N(int64(3*w.cfg.TTL/2)))
	}
	switch p := rng.IntN(100); {
	case p < 90:
		return time.Duration(rng.Int64N(int64(3 * time.Millisecond)))
	case p < 99:
		return 3*time.Millisecond + time.Duration(rng.Int64N(int64(50*time.Millisecond)))
	default:
		return w.cfg.TTL/2 + time.Duration(rng.Int64N(int64(w.cfg.TTL/2)))
	}
}

// waitFor bounds each acquisition.
func (w *workload) waitFor() redlock.Option { return redlock.WithWait(3 * w.cfg.TTL) }

// viaDo takes name n with Client.Do.
func (w *workload) viaDo(ctx context.Context, c *redlock.Client, label string, n int, work time.Duration) {
	var (
		h               *history.Hold
		end             time.Time
		called, stopped bool
	)
	err := c.Do(ctx, w.names[n], func(hctx context.Context) error {
		called = true
		l := redlock.HeldLock(hctx)
		if h = w.grant(hctx, l, label, n, time.Now()); h != nil {
			stopped, end = w.critical(hctx, l, h, n, work)
		}
		return nil
	}, w.waitFor())
	switch {
	case !called:
		w.notGranted(ctx, err, label)
	case h != nil:
		w.stats.recordErr(h.End(end, ending(stopped, err)))
	}
}

// viaHold takes name n with Client.Lock and keeps it with Lock.Hold.
func (w *workload) viaHold(ctx context.Context, c *redlock.Client, label string, n int, work time.Duration) {
	l, err := c.Lock(ctx, w.names[n], w.waitFor())
	if err != nil {
		w.notGranted(ctx, err, label)
		return
	}
	at := time.Now()
	held, stop := l.Hold(ctx)
	h := w.grant(held, l, label, n, at)
	var (
		stopped bool
		end     time.Time
	)
	if h != nil {
		stopped, end = w.critical(held, l, h, n, work)
	}
	stop()
	err = l.Unlock(context.WithoutCancel(ctx))
	if h != nil {
		w.stats.recordErr(h.End(end, ending(stopped, err)))
	}
}

// grant records a grant and watches its hold's context for the lost
// signal. It returns nil if the recorder refused the grant, which the run
// reports as a failure of its own.
func (w *workload) grant(held context.Context, l *redlock.Lock, label string, n int, at time.Time) *history.Hold {
	until := l.Until()
	if until.IsZero() { // lost already: a grant with an empty hold
		until = at
	}
	w.grants.Add(1)
	h, err := w.rec.Grant(history.Grant{Name: w.names[n], Holder: label, At: at, Until: until,
		Token: l.Fence(), Watched: true})
	if err != nil {
		w.stats.recordErr(err)
		return nil
	}
	context.AfterFunc(held, func() {
		if errors.Is(context.Cause(held), redlock.ErrLost) {
			w.stats.LostSignals.Add(1)
			w.stats.recordErr(h.Lost(time.Now()))
		}
	})
	return h
}

// critical is the work under the lock: read the counter, sleep, and unless
// the hold ended meanwhile, write it (for a fenced lock, only if the fence
// accepts the token). It reports whether the holder stopped on its lost
// signal, and when it stopped acting.
func (w *workload) critical(held context.Context, l *redlock.Lock, h *history.Hold, n int, work time.Duration) (stopped bool, end time.Time) {
	v := w.counters[n].Load()
	// Sleep in steps, recording the validity end the library promises as
	// renewals move it, so that a check during the run sees it too.
	for done := time.Now().Add(work); held.Err() == nil && time.Now().Before(done); {
		select {
		case <-held.Done():
		case <-time.After(min(time.Until(done), w.cfg.TTL/10)):
		}
		if u := l.Until(); held.Err() == nil && !u.IsZero() {
			w.stats.recordErr(h.Extend(u))
		}
	}
	if held.Err() != nil {
		return errors.Is(context.Cause(held), redlock.ErrLost), time.Now()
	}
	if l.Fence() != 0 && !h.Write(&w.fences[n]) {
		w.stats.StaleRejected.Add(1)
		return false, time.Now()
	}
	w.counters[n].Store(v + 1)
	h.Update(v, v+1)
	end = time.Now()
	w.updates[n].Add(1)
	return false, end
}

// ending tells how a hold ended from whether its holder stopped on the
// lost signal and what the release (Unlock, or Do's result) said.
func ending(stopped bool, err error) history.Ending {
	switch {
	case stopped:
		return history.StoppedOnLoss
	case err == nil:
		return history.Released
	case errors.Is(err, redlock.ErrNotHeld):
		return history.ReleasedNotHeld
	}
	return history.ReleasedUnknown
}

// notGranted counts a failed acquisition; only ErrNotObtained and the end
// of the run are outcomes the library promises.
func (w *workload) notGranted(ctx context.Context, err error, label string) {
	switch {
	case ctx.Err() != nil:
		w.stats.Interrupted.Add(1)
	case errors.Is(err, redlock.ErrNotObtained):
		w.stats.NotObtained.Add(1)
	default:
		w.stats.addUnexpected("%s: %v", label, err)
	}
}

// finish records each counter's final value and checks the history.
func (w *workload) finish(stop time.Time) (*history.Report, error) {
	for n, name := range w.names {
		if w.updates[n].Load() > 0 {
			if err := w.rec.Final(name, w.counters[n].Load()); err != nil {
				return nil, err
			}
		}
	}
	return w.rec.Check(stop)
}

// statsRecord is what stats counted, for the run's record.
type statsRecord struct {
	NotObtained     int64    `json:"not_obtained"`
	Interrupted     int64    `json:"interrupted"`
	LostSignals     int64    `json:"lost_signals"`
	StaleRejected   int64    `json:"stale_rejected"`
	Unexpected      int      `json:"unexpected_errors"`
	UnexpectedFirst []string `json:"unexpected_first,omitempty"`
	RecordErrs      []string `json:"record_errors,omitempty"`
}

// snapshot returns the counts so far.
func (s *stats) snapshot() *statsRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &statsRecord{NotObtained: s.NotObtained.Load(), Interrupted: s.Interrupted.Load(),
		LostSignals: s.LostSignals.Load(), StaleRejected: s.StaleRejected.Load(),
		Unexpected: s.unexpectedN, UnexpectedFirst: slices.Clone(s.unexpected), RecordErrs: slices.Clone(s.recordErrs)}
}
