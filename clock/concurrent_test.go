package clock_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/clock"
)

// TestFake_concurrent drives one Fake from many goroutines at once; run it
// with -race. Waiters each start a timer and block on it while the test
// advances the clock from two goroutines; churners meanwhile read the time
// and start, reset and stop timers whose deadlines are never reached.
func TestFake_concurrent(t *testing.T) {
	const waiters, churners, rounds = 8, 4, 20
	f := clock.NewFake(start)
	ctx, cancel := context.WithTimeout(t.Context(), generous)
	defer cancel()

	stop := make(chan struct{})
	var churn sync.WaitGroup
	var backwards, blockErrs atomic.Int64
	for range churners {
		churn.Go(func() {
			tm := f.NewTimer(time.Hour)
			defer tm.Stop()
			last := f.Now()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if now := f.Now(); now.Before(last) {
					backwards.Add(1)
				} else {
					last = now
				}
				_ = f.Since(start)
				_ = f.Waiters()
				tm.Stop()
				tm.Reset(time.Hour)
				if f.BlockUntil(ctx, 1) != nil { // its own timer is armed
					blockErrs.Add(1)
				}
				runtime.Gosched()
			}
		})
	}

	for round := range rounds {
		base := start.Add(time.Duration(round*waiters) * time.Millisecond)
		require.Equal(t, base, f.Now())
		got := make([]time.Time, waiters)
		want := make([]time.Time, waiters)
		armed := make(chan struct{}, waiters)
		var wg sync.WaitGroup
		for i := range waiters {
			d := time.Duration(i+1) * time.Millisecond
			want[i] = base.Add(d)
			wg.Go(func() {
				tm := f.NewTimer(d)
				armed <- struct{}{}
				got[i] = <-tm.C()
			})
		}
		for range waiters {
			<-armed
		}
		var adv sync.WaitGroup
		for range 2 {
			adv.Go(func() {
				for range waiters / 2 {
					f.Advance(time.Millisecond)
				}
			})
		}
		adv.Wait()
		wg.Wait()
		assert.Equal(t, want, got, "round %d", round)
	}
	close(stop)
	churn.Wait()
	assert.Zero(t, backwards.Load(), "Now went backwards")
	assert.Zero(t, blockErrs.Load(), "BlockUntil failed with a timer armed")
	assert.Equal(t, 0, f.Waiters(), "every timer fired or was stopped")
}
