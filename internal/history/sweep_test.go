package history_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/quorumlock/quorumlock/internal/history"
	"github.com/stretchr/testify/assert"
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
