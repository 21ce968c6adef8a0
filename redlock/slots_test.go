package redlock_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/internal/history"
	"github.com/quorumlock/quorumlock/internal/testcluster"
	"github.com/quorumlock/quorumlock/redlock"
)

// With 5 nodes, a quorum of 3 and 2 permits, three callers that each reach
// a different quorum of nodes can each be granted by a quorum without any
// node serving more than 2 of them (9 grants, 10 places): counting holders
// per node, capped at the number of permits, would let all three hold at
// once. The test tries every such triple of quorums, each caller cut off
// from the nodes outside its quorum by the fault layer, and expects exactly
// two permits: the second caller's quorum shares a node with the first's,
// which holds the first slot there, and the third's shares a node with each.
func TestSemaphore_TryAcquire_pigeonhole(t *testing.T) {
	c := newCluster(t, 5)
	client := c.client(t)
	ctx := context.Background()
	var quorums [][]int
	for a := range 5 {
		for b := a + 1; b < 5; b++ {
			for d := b + 1; d < 5; d++ {
				quorums = append(quorums, []int{a, b, d})
			}
		}
	}
	reach := func(q []int) {
		for i, f := range c.faults {
			f.SetDown(true)
			for _, j := range q {
				if i == j {
					f.SetDown(false)
				}
			}
		}
	}
	cases := 0
	for x := range quorums {
		for y := x + 1; y < len(quorums); y++ {
			for z := y + 1; z < len(quorums); z++ {
				triple := [][]int{quorums[x], quorums[y], quorums[z]}
				var load [5]int
				overloaded := false
				for _, q := range triple {
					for _, i := range q {
						load[i]++
						overloaded = overloaded || load[i] > 2
					}
				}
				if overloaded {
					continue // per-node counting would refuse this triple too
				}
				cases++
				name := fmt.Sprintf("pigeonhole-%d", cases)
				var granted []*redlock.Permit
				for k, q := range triple {
					reach(q)
					p, err := sem(client, name, 2).TryAcquire(ctx)
					if err != nil {
						require.ErrorIs(t, err, redlock.ErrNotObtained, "%s, caller %d on nodes %v", name, k, q)
						continue
					}
					granted = append(granted, p)
				}
				reach([]int{0, 1, 2, 3, 4})
				assert.Len(t, granted, 2, "%s: quorums %v: permits granted at once", name, triple)
				for _, p := range granted {
					require.NoError(t, p.Unlock(ctx))
				}
			}
		}
	}
	assert.Equal(t, 30, cases, "triples of quorums that load no node beyond 2")
}

// Many clients contend for three permits while nodes go down, restart with
// their data and pause: one timeline of every grant shows at most three
// holders at once, and one holder per slot.
func TestClient_Semaphore_contention(t *testing.T) {
	const (
		permits = 3
		clients = 4
		workers = 3 // per client
		grants  = 240
	)
	c := newClusterRealTime(t, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	rec := history.NewRecorder(start)
	require.NoError(t, rec.Capacity("pool", permits))

	// The faults, each applied by the worker whose grant reaches its count.
	var resume func()
	phases := []struct {
		at   int64
		what string
		do   func() error
	}{
		{48, "nodes 3 and 4 down", func() error { c.faults[3].SetDown(true); c.faults[4].SetDown(true); return nil }},
		{96, "nodes up; node 0 restarted with its data", func() error {
			c.faults[3].SetDown(false)
			c.faults[4].SetDown(false)
			return c.Servers[0].Restart()
		}},
		{144, "node 1 paused", func() error { resume = c.faults[1].Pause(); return nil }},
		{192, "node 1 resumed", func() error { resume(); return nil }},
	}
	var (
		count   atomic.Int64
		phaseMu sync.Mutex
		errs    = make(chan error, clients*workers)
		wg      sync.WaitGroup
	)
	for ci := range clients {
		client := c.client(t, redlock.WithTTL(2*time.Second))
		for wi := range workers {
			label := fmt.Sprintf("c%dw%d", ci, wi)
			wg.Go(func() {
				for count.Load() < grants {
					if err := semaphoreTurn(ctx, client, rec, label); err != nil {
						errs <- fmt.Errorf("%s: %w", label, err)
						return
					}
					n := count.Add(1)
					for _, p := range phases {
						if n == p.at {
							phaseMu.Lock()
							err := p.do()
							phaseMu.Unlock()
							if err != nil {
								errs <- err
								return
							}
							t.Logf("%v: after %d grants: %s", time.Since(start).Round(time.Millisecond), n, p.what)
						}
					}
				}
			})
		}
	}
	progress := make(chan struct{})
	go func() {
		tick := time.NewTicker(20 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				t.Logf("%v: %d grants so far", time.Since(start).Round(time.Second), count.Load())
			case <-progress:
				return
			}
		}
	}()
	wg.Wait()
	close(progress)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	rep, err := rec.Check(time.Now())
	require.NoError(t, err)
	t.Logf("%d grants; at most %d holders at once", count.Load(), rep.Names[0].Peak)
	assert.True(t, rep.OK(), "%s", rep)
	assert.GreaterOrEqual(t, rep.Total.Grants, 2*grants, "every grant recorded, under the semaphore's name and its slot's")
	for _, nr := range rep.Names {
		if nr.Name == "pool" {
			assert.LessOrEqual(t, nr.Peak, permits, "holders of the semaphore at once")
		} else {
			assert.Equal(t, 1, nr.Peak, "holders of %s at once", nr.Name)
		}
	}
}

// semaphoreTurn takes a permit of "pool", records it under the semaphore's
// name and its slot's, works for 2 to 10ms, and releases it.
func semaphoreTurn(ctx context.Context, client *redlock.Client, rec *history.Recorder, label string) error {
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	p, err := sem(client, "pool", 3).Acquire(wctx)
	if err != nil {
		return err
	}
	at := time.Now()
	var holds []*history.Hold
	for _, name := range []string{"pool", fmt.Sprintf("pool/slot-%d", p.Slot())} {
		h, err := rec.Grant(history.Grant{Name: name, Holder: label, At: at, Until: p.Until()})
		if err != nil {
			return err
		}
		holds = append(holds, h)
	}
	time.Sleep(2*time.Millisecond + rand.N(8*time.Millisecond)) // the work
	end := time.Now()
	how := history.Released
	if err := p.Unlock(context.WithoutCancel(ctx)); err != nil {
		how = history.ReleasedUnknown
		if errors.Is(err, redlock.ErrNotHeld) {
			how = history.ReleasedNotHeld
		}
	}
	for _, h := range holds {
		if err := h.End(end, how); err != nil {
			return err
		}
	}
	return nil
}

// A slot whose key a node still holds, as after a release that the node
// has not run yet, may still be granted by the nodes that have not
// answered the reading: with both slots held on node 0 alone, and nodes 3
// and 4 answering the reading last, TryAcquire is granted a permit.
func TestSemaphore_TryAcquire_nodesYetToAnswer(t *testing.T) {
	c := newCluster(t, 5)
	client := c.client(t)
	ctx := context.Background()
	for slot := range 2 {
		require.NoError(t, c.servers[0].Set(slotKey("late", slot), "a release not run yet"))
	}
	for _, i := range []int{3, 4} {
		c.faults[i].Delay(testcluster.OpOther, 300*time.Millisecond) // slots.lua, to the fault layer
	}
	p, err := sem(client, "late", 2).TryAcquire(ctx)
	require.NoError(t, err, "the slots are free on four nodes")
	require.NoError(t, p.Unlock(ctx))
}
