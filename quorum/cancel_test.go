package quorum

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRound_Wait_cancel(t *testing.T) {
	errStop := errors.New("stopped by the test")
	tests := []struct {
		name string
		// ctx returns the context for Wait and a function that ends it
		// (for a deadline already passed, it only frees the context).
		ctx       func() (context.Context, func())
		wantCause error
		atOnce    bool // ctx has ended before Wait
	}{
		{"cancel", func() (context.Context, func()) {
			ctx, cancel := context.WithCancel(context.Background())
			return ctx, cancel
		}, context.Canceled, false},
		{"cancel with a cause", func() (context.Context, func()) {
			ctx, cancel := context.WithCancelCause(context.Background())
			return ctx, func() { cancel(errStop) }
		}, errStop, false},
		{"deadline passed", func() (context.Context, func()) {
			ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
			return ctx, cancel
		}, context.DeadlineExceeded, true},
	}
	for _, tt := range tests {
		for _, when := range []string{"before Wait", "while Wait blocks"} {
			if tt.atOnce && when != "before Wait" {
				continue
			}
			t.Run(tt.name+"/"+when, func(t *testing.T) {
				ctx, end := tt.ctx()
				defer end()
				f := newTargets(t, "ok err frozen frozen frozen")
				r := Go(ctx, f.n(), func(ctx context.Context, i int) error {
					if i == 4 && when == "while Wait blocks" {
						end() // ends ctx from a call that then blocks
					}
					return f.fn(ctx, i)
				})
				awaitDelivered(t, r, 2)
				if when == "before Wait" {
					end()
				}

				ok, err := r.Wait(ctx, 3)

				for i := 2; i < 5; i++ {
					assert.True(t, f.blocked(i), "Wait waited for target %d", i)
				}
				require.Error(t, err)
				require.ErrorIs(t, err, tt.wantCause)
				assert.ErrorIs(t, err, f.errs[1], "the failure seen before ctx ended")
				assertOneLine(t, err)
				assert.Less(t, ok, 3)
				assert.Equal(t, 1, ok, "the success seen before ctx ended")
				assert.LessOrEqual(t, r.Failed(), f.n()-3, "interrupted, not failed")
				assert.Equal(t, "quorum: 1 of 5 failed, 3 unanswered: target 1 failed; "+tt.wantCause.Error(), err.Error())
				f.finish(t, r)
			})
		}
	}
}

// TestRound_Wait_cancelHonoured covers calls that themselves return when ctx
// ends. Whether Wait sees ctx end or their failures first is a race, so
// only what holds either way is checked.
func TestRound_Wait_cancelHonoured(t *testing.T) {
	for _, when := range []string{"before Wait", "while Wait blocks"} {
		t.Run(when, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			f := newTargets(t, "ok err frozen frozen frozen")
			f.honorCtx = true
			r := Go(ctx, f.n(), f.fn)
			awaitDelivered(t, r, 2) // targets 0 and 1; the others wait for ctx
			var wg sync.WaitGroup
			if when == "before Wait" {
				cancel()
			} else {
				wg.Go(cancel)
			}

			ok, err := r.Wait(ctx, 3)
			wg.Wait()

			assert.Equal(t, 1, ok)
			require.ErrorIs(t, err, context.Canceled)
			assert.ErrorIs(t, err, f.errs[1])
			assertOneLine(t, err)
			f.finish(t, r)
		})
	}
}

// TestRound_Wait_deliveredBeforeCancel checks that outcomes delivered before
// ctx ended decide the round: with select's random choice alone, Wait would
// often report the round as interrupted.
func TestRound_Wait_deliveredBeforeCancel(t *testing.T) {
	for range 50 {
		f := newTargets(t, "ok ok ok ok ok")
		ctx, cancel := context.WithCancel(t.Context())
		r := Go(ctx, f.n(), f.fn)
		awaitDelivered(t, r, 5)
		cancel()

		ok, err := r.Wait(ctx, 3)
		require.Equal(t, 3, ok)
		require.NoError(t, err)
		f.finish(t, r)
	}
}

func TestRound_Wait_failuresAndCancel(t *testing.T) {
	// Failures already delivered are counted even though ctx has ended, so
	// a round that had failed is reported as failed, not interrupted.
	f := newTargets(t, "err err err frozen frozen")
	ctx, cancel := context.WithCancel(t.Context())
	r := Go(ctx, f.n(), f.fn)
	awaitDelivered(t, r, 3)
	cancel()

	ok, err := r.Wait(ctx, 3)
	assert.Equal(t, 0, ok)
	require.Error(t, err)
	assert.NotErrorIs(t, err, context.Canceled)
	assert.Equal(t, 3, r.Failed())
	assert.Greater(t, r.Failed(), f.n()-3, "failed, not interrupted")
	f.finish(t, r)
}
