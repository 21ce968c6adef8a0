package history_test

import (
	"testing"
	"time"

	"github.com/quorumlock/quorumlock/internal/history"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const ms = time.Millisecond

// TestRecorder_Check builds small histories by hand, each with one kind of
// finding or none, and compares every count Check reports.
func TestRecorder_Check(t *testing.T) {
	tests := []struct {
		name  string
		build func(tl *timeline)
		stop  int
		want  history.Counts
	}{
		{name: "empty", stop: 10},
		{
			name: "clean: one holder at a time, fenced, counted",
			build: func(tl *timeline) {
				var f history.Fence
				for i := range 5 {
					h := tl.hold("job", "w", i*10, i*10+9, i*10+20, uint64(i+1))
					h.Update(int64(i), int64(i+1))
					h.Write(&f)
				}
				require.NoError(t, tl.r.Final("job", 5))
			},
			stop: 100,
			want: history.Counts{Grants: 5, Released: 5, Updates: 5, Writes: 5},
		},
		{
			name: "overlap",
			build: func(tl *timeline) {
				tl.hold("job", "a", 0, 10, 100, 0)
				tl.hold("job", "b", 5, 20, 100, 0)
			},
			stop: 100, want: history.Counts{Grants: 2, Released: 2, Overlaps: 1, LongestOverlap: 5 * ms},
		},
		{
			name: "touching is no overlap",
			build: func(tl *timeline) {
				tl.hold("job", "a", 0, 10, 100, 0)
				tl.hold("job", "b", 10, 20, 100, 0)
			},
			stop: 100, want: history.Counts{Grants: 2, Released: 2},
		},
		{
			name: "other names do not overlap",
			build: func(tl *timeline) {
				tl.hold("job", "a", 0, 10, 100, 0)
				tl.hold("other", "b", 5, 20, 100, 0)
			},
			stop: 100, want: history.Counts{Grants: 2, Released: 2},
		},
		{
			name: "nested: each pair once",
			build: func(tl *timeline) {
				tl.hold("job", "long", 0, 100, 200, 0)
				tl.hold("job", "b", 30, 40, 200, 0)
				tl.hold("job", "c", 50, 65, 200, 0)
				tl.hold("job", "d", 150, 160, 200, 0)
			},
			stop: 200, want: history.Counts{Grants: 4, Released: 4, Overlaps: 2, LongestOverlap: 15 * ms},
		},
		{
			name: "three at once: three pairs",
			build: func(tl *timeline) {
				tl.hold("job", "a", 0, 100, 200, 0)
				tl.hold("job", "b", 10, 100, 200, 0)
				tl.hold("job", "c", 20, 100, 200, 0)
			},
			stop: 200, want: history.Counts{Grants: 3, Released: 3, Overlaps: 3, LongestOverlap: 90 * ms},
		},
		{
			name: "trimmed to validity: overran, no overlap",
			build: func(tl *timeline) {
				tl.hold("job", "a", 0, 50, 30, 0)
				tl.hold("job", "b", 40, 60, 100, 0)
			},
			stop: 100, want: history.Counts{Grants: 2, Released: 2, Overran: 1},
		},
		{
			name: "granted after its validity end: an empty hold",
			build: func(tl *timeline) {
				tl.hold("job", "late", 10, 20, 5, 3)
				tl.hold("job", "b", 12, 18, 100, 0)
			},
			stop: 100, want: history.Counts{Grants: 2, Released: 2, Overran: 1},
		},
		{
			name: "running until stop",
			build: func(tl *timeline) {
				tl.grant("job", "running", 0, 1000, 0, false)
				tl.hold("job", "b", 50, 60, 1000, 0)
			},
			stop: 100, want: history.Counts{Grants: 2, Released: 1, Running: 1, Overlaps: 1, LongestOverlap: 10 * ms},
		},
		{
			name: "lost update",
			build: func(tl *timeline) {
				tl.hold("job", "a", 0, 10, 100, 0).Update(0, 1)
				tl.hold("job", "b", 5, 20, 100, 0).Update(0, 1)
				tl.hold("job", "c", 30, 40, 100, 0).Update(1, 2)
			},
			stop: 100,
			want: history.Counts{Grants: 3, Released: 3, Overlaps: 1, LongestOverlap: 5 * ms,
				Updates: 3, LostUpdates: 1, FinalMismatches: 1},
		},
		{
			name: "final value read after the run is short",
			build: func(tl *timeline) {
				tl.hold("job", "a", 0, 10, 100, 0).Update(0, 1)
				tl.hold("job", "b", 20, 30, 100, 0).Update(1, 2)
				require.NoError(t, tl.r.Final("job", 1))
			},
			stop: 100, want: history.Counts{Grants: 2, Released: 2, Updates: 2, FinalMismatches: 1},
		},
		{
			name: "late lost signal: none",
			build: func(tl *timeline) {
				h := tl.grant("job", "a", 0, 30, 0, true)
				require.NoError(t, h.End(tl.at(50), history.ReleasedNotHeld))
			},
			stop: 100, want: history.Counts{Grants: 1, NotHeld: 1, Overran: 1, LateLost: 1},
		},
		{
			name: "late lost signal: after the validity end",
			build: func(tl *timeline) {
				h := tl.grant("job", "a", 0, 30, 0, true)
				require.NoError(t, h.Lost(tl.at(35)))
				require.NoError(t, h.End(tl.at(50), history.StoppedOnLoss))
			},
			stop: 100, want: history.Counts{Grants: 1, StoppedOnLoss: 1, Overran: 1, LateLost: 1},
		},
		{
			name: "late lost signal: still running at stop",
			build: func(tl *timeline) {
				tl.grant("job", "a", 0, 30, 0, true)
			},
			stop: 100, want: history.Counts{Grants: 1, Running: 1, Overran: 1, LateLost: 1},
		},
		{
			name: "late lost signal: at the validity end",
			build: func(tl *timeline) {
				h := tl.grant("job", "a", 0, 30, 0, true)
				require.NoError(t, h.Lost(tl.at(30)))
				require.NoError(t, h.End(tl.at(31), history.StoppedOnLoss))
			},
			stop: 100, want: history.Counts{Grants: 1, StoppedOnLoss: 1, Overran: 1, LateLost: 1},
		},
		{
			name: "timely lost signal, ignored: overran only",
			build: func(tl *timeline) {
				h := tl.grant("job", "a", 0, 30, 0, true)
				require.NoError(t, h.Lost(tl.at(20)))
				require.NoError(t, h.End(tl.at(50), history.ReleasedUnknown))
			},
			stop: 100, want: history.Counts{Grants: 1, Unknown: 1, Overran: 1},
		},
		{
			name: "extended: no overrun",
			build: func(tl *timeline) {
				h := tl.grant("job", "a", 0, 30, 0, true)
				require.NoError(t, h.Extend(tl.at(60)))
				require.NoError(t, h.End(tl.at(50), history.Released))
			},
			stop: 100, want: history.Counts{Grants: 1, Released: 1},
		},
		{
			name: "token order: lower after an ended hold",
			build: func(tl *timeline) {
				tl.hold("job", "a", 0, 10, 100, 5)
				tl.hold("job", "b", 20, 30, 100, 3)
			},
			stop: 100, want: history.Counts{Grants: 2, Released: 2, TokenOrder: 1},
		},
		{
			name: "token order and shared: equal after an ended hold",
			build: func(tl *timeline) {
				tl.hold("job", "a", 0, 10, 100, 5)
				tl.hold("job", "b", 10, 30, 100, 5)
			},
			stop: 100, want: history.Counts{Grants: 2, Released: 2, TokenOrder: 1, SharedTokens: 1},
		},
		{
			name: "token order: only once the earlier hold ended",
			build: func(tl *timeline) {
				tl.hold("job", "a", 0, 10, 100, 5)
				tl.hold("job", "b", 5, 30, 100, 3)
				tl.hold("job", "none", 40, 50, 100, 0)
			},
			stop: 100, want: history.Counts{Grants: 3, Released: 3, Overlaps: 1, LongestOverlap: 5 * ms},
		},
		{
			name: "shared token while overlapping",
			build: func(tl *timeline) {
				tl.hold("job", "a", 0, 10, 100, 7)
				tl.hold("job", "b", 5, 30, 100, 7)
				tl.hold("other", "c", 40, 50, 100, 7)
			},
			stop: 100, want: history.Counts{Grants: 3, Released: 3, Overlaps: 1, LongestOverlap: 5 * ms, SharedTokens: 1},
		},
		{
			name: "stale write accepted",
			build: func(tl *timeline) {
				a := tl.hold("job", "a", 0, 10, 100, 1)
				b := tl.hold("job", "b", 20, 30, 100, 2)
				b.Wrote(2, true)
				a.Wrote(1, true)
				b.Wrote(2, true)
			},
			stop: 100, want: history.Counts{Grants: 2, Released: 2, Writes: 3, StaleAccepted: 1},
		},
		{
			name: "stale write refused: no violation",
			build: func(tl *timeline) {
				a := tl.hold("job", "a", 0, 10, 100, 1)
				b := tl.hold("job", "b", 20, 30, 100, 2)
				b.Wrote(2, true)
				a.Wrote(1, false)
			},
			stop: 100, want: history.Counts{Grants: 2, Released: 2, Writes: 2, StaleRejected: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl := newTimeline(t)
			if tt.build != nil {
				tt.build(tl)
			}
			rep := tl.check(tt.stop)
			assert.Equal(t, tt.want, rep.Total)
			assert.Equal(t, tt.want.Violations() == 0, rep.OK(), "OK")
			assert.Equal(t, time.Duration(tt.stop)*ms, rep.Stop)
			if len(rep.Names) == 1 {
				assert.Equal(t, tt.want, rep.Names[0].Counts, "the only name's counts are the total")
			}
		})
	}
}
