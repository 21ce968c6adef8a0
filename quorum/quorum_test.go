package quorum

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestRound_Wait(t *testing.T) {
	tests := []struct {
		name       string
		spec       string
		need       int
		wantOK     int
		wantListed []int  // the failures the error names; nil: no error
		wantPrefix string // the error's start, up to the failures
	}{
		{name: "all fast", spec: "ok ok ok ok ok", need: 3, wantOK: 3},
		{name: "all fast, need all", spec: "ok ok ok ok ok", need: 5, wantOK: 5},
		{name: "one frozen does not delay", spec: "ok ok frozen ok ok", need: 3, wantOK: 3},
		{name: "two frozen do not delay", spec: "frozen ok ok frozen ok", need: 3, wantOK: 3},
		{name: "frozen failures do not delay", spec: "ok frozenerr ok frozenerr ok", need: 3, wantOK: 3},
		{
			name: "2 of 5 failing is reached and names both", spec: "err slow err slow slow", need: 3,
			wantOK: 3, wantListed: []int{0, 2}, wantPrefix: "quorum: 2 of 5 failed, 0 unanswered: ",
		},
		{
			name: "2 of 6 failing with one frozen", spec: "err slow err frozen slow slow", need: 3,
			wantOK: 3, wantListed: []int{0, 2}, wantPrefix: "quorum: 2 of 6 failed, 1 unanswered: ",
		},
		{
			name: "3 of 5 failing returns before the rest", spec: "err err err frozen frozen", need: 3,
			wantOK: 0, wantListed: []int{0, 1, 2}, wantPrefix: "quorum: 3 of 5 failed, 2 unanswered: ",
		},
		{
			name: "3 of 5 failing after a success", spec: "ok slowerr slowerr slowerr frozen", need: 3,
			wantOK: 1, wantListed: []int{1, 2, 3}, wantPrefix: "quorum: 3 of 5 failed, 1 unanswered: ",
		},
		{
			name: "impossible reads no further", spec: "err err err slow slow", need: 3,
			wantOK: 0, wantListed: []int{0, 1, 2}, wantPrefix: "quorum: 3 of 5 failed, 2 unanswered: ",
		},
		{
			name: "all failing stops at the first decisive failure", spec: "err err slowerr", need: 2,
			wantOK: 0, wantListed: []int{0, 1}, wantPrefix: "quorum: 2 of 3 failed, 1 unanswered: ",
		},
		{
			name: "need all, one failure", spec: "slow slow err slow", need: 4,
			wantOK: 0, wantListed: []int{2}, wantPrefix: "quorum: 1 of 4 failed, 3 unanswered: ",
		},
		{name: "more targets than the inline buffer", spec: "ok ok ok ok ok ok ok ok ok", need: 5, wantOK: 5},
		{
			name: "more targets than the inline buffer, failing", spec: "err err err err err slow slow slow slow", need: 5,
			wantOK: 0, wantListed: []int{0, 1, 2, 3, 4}, wantPrefix: "quorum: 5 of 9 failed, 4 unanswered: ",
		},
		{name: "need zero is met at once", spec: "frozen frozen frozen", need: 0, wantOK: 0},
		{name: "negative need is met at once", spec: "frozen frozen frozen", need: -1, wantOK: 0},
		{name: "need above n returns at once", spec: "frozen frozen", need: 3, wantOK: 0},
		{name: "one target", spec: "ok", need: 1, wantOK: 1},
		{
			name: "one target failing", spec: "err", need: 1,
			wantOK: 0, wantListed: []int{0}, wantPrefix: "quorum: 1 of 1 failed, 0 unanswered: ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newTargets(t, tt.spec)
			r := f.start(t, t.Context())

			ok, err := r.Wait(t.Context(), tt.need)

			// Checked first, before anything is released: Wait returned
			// while every frozen target was still blocked.
			for i, k := range f.kinds {
				if k == frozen || k == frozenErr {
					assert.True(t, f.blocked(i), "frozen target %d returned before Wait did", i)
				}
			}
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, ok >= tt.need, tt.wantOK >= tt.need, "reached")
			assert.Equal(t, len(tt.wantListed), r.Failed())
			assert.Equal(t, f.n(), len(r.Seen())+r.Pending())
			if tt.wantListed == nil {
				assert.NoError(t, err)
			} else {
				require.Error(t, err)
				assertOneLine(t, err)
				assert.True(t, strings.HasPrefix(err.Error(), tt.wantPrefix), "%q starts with %q", err, tt.wantPrefix)
				for i, e := range f.errs {
					if slices.Contains(tt.wantListed, i) {
						assert.ErrorIs(t, err, e)
						assert.Contains(t, err.Error(), e.Error())
					} else if e != nil {
						assert.NotErrorIs(t, err, e, "target %d's failure came after Wait", i)
					}
				}
			}
			if ok < tt.need && tt.wantListed != nil {
				assert.Greater(t, r.Failed(), f.n()-tt.need, "a failed round is not taken for an interrupted one")
			}
			f.finish(t, r)
		})
	}
}

func TestRound_Outcomes(t *testing.T) {
	t.Run("seen first, then late ones as they return", func(t *testing.T) {
		f := newTargets(t, "ok ok ok frozen frozen")
		r := f.start(t, t.Context())
		ok, err := r.Wait(t.Context(), 3)
		require.NoError(t, err)
		require.Equal(t, 3, ok)
		seen := slices.Clone(r.Seen())
		require.Len(t, seen, 3)

		out := make(chan Outcome)
		var wg sync.WaitGroup
		wg.Go(func() {
			defer close(out)
			for o := range r.Outcomes() {
				out <- o
			}
		})
		for _, want := range seen {
			assert.Equal(t, want, <-out)
		}
		// Late outcomes come in the order their calls return.
		f.release[4]()
		assert.Equal(t, Outcome{Target: 4}, <-out)
		f.release[3]()
		assert.Equal(t, Outcome{Target: 3}, <-out)
		_, more := <-out
		assert.False(t, more, "more than n outcomes")
		wg.Wait()
	})

	t.Run("without Wait", func(t *testing.T) {
		f := newTargets(t, "ok err slow frozen")
		r := f.start(t, t.Context())
		assert.Empty(t, r.Seen())
		assert.Equal(t, 4, r.Pending())
		f.finish(t, r)
	})

	t.Run("after an impossible Wait", func(t *testing.T) {
		f := newTargets(t, "err err frozenerr frozen")
		r := f.start(t, t.Context())
		ok, err := r.Wait(t.Context(), 3)
		require.Error(t, err)
		require.Equal(t, 0, ok)
		all := f.finish(t, r)
		failed := 0
		for _, o := range all {
			if o.Err != nil {
				failed++
			}
		}
		assert.Equal(t, 3, failed, "late failures are yielded too")
		assert.Equal(t, 2, r.Failed(), "Failed counts only what Wait saw")
	})

	for _, seen := range []int{0, 2} {
		t.Run(fmt.Sprintf("stopping early after %d seen leaves no goroutine behind", seen), func(t *testing.T) {
			f := newTargets(t, "ok ok frozen frozen")
			r := f.start(t, t.Context())
			ok, err := r.Wait(t.Context(), seen)
			require.NoError(t, err)
			require.Equal(t, seen, ok)
			var got []Outcome
			for o := range r.Outcomes() {
				got = append(got, o)
				break
			}
			require.Len(t, got, 1)
			if seen > 0 {
				assert.Equal(t, r.Seen()[0], got[0], "the first seen outcome")
			}
			f.releaseAll()
			goleak.VerifyNone(t)
		})
	}
}

func TestGo(t *testing.T) {
	t.Run("calls fn once per target with ctx", func(t *testing.T) {
		type key struct{}
		ctx := context.WithValue(t.Context(), key{}, "round")
		f := newTargets(t, "ok ok ok ok")
		r := Go(ctx, f.n(), f.fn)
		f.finish(t, r)
		for i, got := range f.ctxs {
			assert.Equal(t, "round", got.Value(key{}), "target %d got the round's ctx", i)
		}
	})

	t.Run("calls are not cancelled when Wait returns", func(t *testing.T) {
		f := newTargets(t, "ok ok ok frozen")
		f.honorCtx = true
		r := f.start(t, t.Context())
		ok, err := r.Wait(t.Context(), 3)
		require.NoError(t, err)
		require.Equal(t, 3, ok)
		<-f.entered[3]
		assert.NoError(t, f.ctxs[3].Err(), "the late call's ctx is still live")
		all := f.finish(t, r)
		assert.NoError(t, all[3].Err, "the late call returned normally")
	})

	t.Run("calls exit without anyone reading their outcome", func(t *testing.T) {
		f := newTargets(t, "ok ok ok frozen frozen")
		r := f.start(t, t.Context())
		_, err := r.Wait(t.Context(), 3)
		require.NoError(t, err)
		f.releaseAll()
		goleak.VerifyNone(t) // Outcomes is never called
	})

	for _, n := range []int{0, -1} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			var calls atomic.Int32
			r := Go(t.Context(), n, func(context.Context, int) error {
				calls.Add(1)
				return nil
			})
			for _, need := range []int{-1, 0, Majority(0)} {
				ok, err := r.Wait(t.Context(), need)
				assert.Equal(t, 0, ok, "need %d", need)
				assert.NoError(t, err, "need %d", need)
			}
			assert.Equal(t, 0, r.Pending())
			assert.Equal(t, 0, r.Failed())
			assert.Empty(t, r.Seen())
			for o := range r.Outcomes() {
				t.Errorf("outcome %+v from no targets", o)
			}
			assert.Zero(t, calls.Load())
		})
	}
}

func TestRound_SeenPending(t *testing.T) {
	f := newTargets(t, "ok err slow frozen frozen")
	r := f.start(t, t.Context())
	ok, err := r.Wait(t.Context(), 2)
	require.Equal(t, 2, ok)
	require.Error(t, err)
	seen := r.Seen()
	require.Len(t, seen, 3)
	assert.ElementsMatch(t, []int{0, 1}, []int{seen[0].Target, seen[1].Target}, "fast ones first")
	assert.Equal(t, Outcome{Target: 2}, seen[2])
	assert.Equal(t, 2, r.Pending())
	assert.Equal(t, 1, r.Failed())
	f.finish(t, r)
}

func TestMajority(t *testing.T) {
	tests := []struct{ n, want int }{
		{0, 1}, {1, 1}, {2, 2}, {3, 2}, {4, 3}, {5, 3}, {6, 4}, {7, 4}, {9, 5}, {100, 51},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Majority(tt.n), "Majority(%d)", tt.n)
	}
	for n := range 1000 {
		m := Majority(n)
		require.Greater(t, 2*m, n, "Majority(%d) is more than half", n)
		require.LessOrEqual(t, 2*(m-1), n, "Majority(%d) is the smallest such", n)
	}
}
