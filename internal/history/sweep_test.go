package history_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/quorumlock/quorumlock/internal/history"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRecorder_Check_againstPairs compares the sweeps with every pair of
// grants, on random histories of short and empty holds with random tokens.
func TestRecorder_Check_againstPairs(t *testing.T) {
	type g struct {
		name         int
		s, e, until  int // milliseconds; e is when the holder stopped
		token        uint64
		hold0, hold1 int // the hold: [hold0, hold1)
	}
	for seed := range uint64(20) {
		rnd := rand.New(rand.NewPCG(seed, 1))
		tl := newTimeline(t)
		gs := make([]g, 200)
		for i := range gs {
			x := g{name: rnd.IntN(2), s: rnd.IntN(1000), token: uint64(rnd.IntN(60))}
			x.e = x.s + rnd.IntN(40)
			x.until = x.s + rnd.IntN(50) - 5
			x.hold0, x.hold1 = x.s, max(x.s, min(x.e, x.until))
			gs[i] = x
			tl.hold([]string{"a", "b"}[x.name], "w", x.s, x.e, x.until, x.token)
		}
		var want history.Counts
		for j, b := range gs {
			var before uint64 // the greatest token of the holds ended before b began
			shared := false   // an earlier-starting grant had b's token
			for i, a := range gs {
				if i == j || a.name != b.name {
					continue
				}
				if i < j && max(a.hold0, b.hold0) < min(a.hold1, b.hold1) {
					want.Overlaps++
					want.LongestOverlap = max(want.LongestOverlap, time.Duration(min(a.hold1, b.hold1)-max(a.hold0, b.hold0))*ms)
				}
				if a.hold1 < b.hold0 || a.hold1 == b.hold0 && a.hold0 < b.hold0 {
					before = max(before, a.token)
				}
				if a.token == b.token && (a.hold0 < b.hold0 || a.hold0 == b.hold0 && i < j) {
					shared = true
				}
			}
			if b.token != 0 && shared {
				want.SharedTokens++
			}
			if b.token != 0 && before != 0 && b.token <= before {
				want.TokenOrder++
			}
		}
		rep := tl.check(2000)
		got := rep.Total
		assert.Equal(t, want.Overlaps, got.Overlaps, "seed %d: overlaps", seed)
		assert.Equal(t, want.LongestOverlap, got.LongestOverlap, "seed %d: longest overlap", seed)
		assert.Equal(t, want.TokenOrder, got.TokenOrder, "seed %d: token order", seed)
		assert.Equal(t, want.SharedTokens, got.SharedTokens, "seed %d: shared tokens", seed)
	}
}

// TestRecorder_Check_capacity compares the sweep of names with a capacity
// with a count, at each hold's start, of the holds running then, on random
// histories of short and empty holds.
func TestRecorder_Check_capacity(t *testing.T) {
	type g struct{ s, e int } // the hold, [s, e), in milliseconds
	for seed := range uint64(20) {
		rnd := rand.New(rand.NewPCG(seed, 2))
		capacity := 1 + int(seed%4)
		tl := newTimeline(t)
		require.NoError(t, tl.r.Capacity("sem", capacity))
		gs := make([]g, 150)
		for i := range gs {
			s := rnd.IntN(1000)
			e, until := s+rnd.IntN(60), s+rnd.IntN(70)-5
			gs[i] = g{s: s, e: max(s, min(e, until))}
			tl.hold("sem", "w", s, e, until, 0)
		}
		var (
			want    history.Counts
			peak    int
			longest time.Duration
		)
		for j, b := range gs {
			if b.e <= b.s {
				continue
			}
			// The holds running when b begins: begun earlier, or at the
			// same instant and recorded first, and not ended by then.
			var ends []int
			for i, a := range gs {
				if a.e > a.s && (a.s < b.s || a.s == b.s && i < j) && a.e > b.s {
					ends = append(ends, a.e)
				}
			}
			k := len(ends)
			peak = max(peak, k+1)
			if k < capacity {
				continue
			}
			slices.Sort(ends)
			want.Overlaps += k - capacity + 1
			longest = max(longest, time.Duration(min(ends[k-capacity], b.e)-b.s)*ms)
		}
		rep := tl.check(2000)
		require.Len(t, rep.Names, 1)
		nr := rep.Names[0]
		assert.Equal(t, capacity, nr.Capacity, "seed %d: capacity", seed)
		assert.Equal(t, peak, nr.Peak, "seed %d: peak", seed)
		assert.Equal(t, want.Overlaps, nr.Overlaps, "seed %d, capacity %d: overlaps", seed, capacity)
		assert.Equal(t, longest, nr.LongestOverlap, "seed %d, capacity %d: longest", seed, capacity)
	}
}

func TestRecorder_Capacity(t *testing.T) {
	t.Run("a semaphore's holders beyond its capacity", func(t *testing.T) {
		tl := newTimeline(t)
		require.NoError(t, tl.r.Capacity("sem", 2))
		tl.hold("sem", "a", 0, 30, 100, 0)
		tl.hold("sem", "b", 10, 40, 100, 0)
		tl.hold("sem", "c", 20, 50, 100, 0) // three at once from 20 to 30
		tl.hold("sem", "d", 30, 60, 100, 0) // b, c and d: three again, to 40
		rep := tl.check(100)
		nr := rep.Names[0]
		assert.Equal(t, 3, nr.Peak)
		assert.Equal(t, 2, nr.Overlaps)
		assert.Equal(t, 10*ms, nr.LongestOverlap)
		require.NotEmpty(t, rep.Examples)
		assert.Equal(t, "overlap: sem: c from t=0.020s made 3 holders at once, with a among them, for 10ms", rep.Examples[0].String())
		assert.Contains(t, rep.String(), "name sem: grants 4, violations 2, at most 3 holders at once of 2 allowed")
	})
	t.Run("within capacity", func(t *testing.T) {
		tl := newTimeline(t)
		require.NoError(t, tl.r.Capacity("sem", 2))
		tl.hold("sem", "a", 0, 30, 100, 0)
		tl.hold("sem", "b", 10, 40, 100, 0)
		tl.hold("sem", "c", 30, 50, 100, 0) // a ended as c began
		rep := tl.check(100)
		assert.True(t, rep.OK(), "%s", rep)
		assert.Equal(t, 2, rep.Names[0].Peak)
	})
	t.Run("errors", func(t *testing.T) {
		tl := newTimeline(t)
		assert.ErrorContains(t, tl.r.Capacity("", 2), "empty lock name")
		assert.ErrorContains(t, tl.r.Capacity("sem", 0), "0 is below 1")
		require.NoError(t, tl.r.Capacity("sem", 2))
		require.NoError(t, tl.r.Capacity("sem", 2), "the same capacity again")
		assert.ErrorContains(t, tl.r.Capacity("sem", 3), "set to 2 already, not 3")
		var zero history.Recorder
		assert.Error(t, zero.Capacity("sem", 2))
	})
}
