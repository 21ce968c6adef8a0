package clock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/clock"
)

var start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// received returns the value waiting on tm's channel, if any, without
// blocking. Fake timers fire inside Advance, so after it returns a fired
// timer's value is already there.
func received(tm clock.Timer) (time.Time, bool) {
	select {
	case v := <-tm.C():
		return v, true
	default:
		return time.Time{}, false
	}
}

func TestFake_NowSince(t *testing.T) {
	f := clock.NewFake(start)
	assert.Equal(t, start, f.Now())
	assert.Equal(t, time.Duration(0), f.Since(start))

	f.Advance(1500 * time.Millisecond)
	assert.Equal(t, start.Add(1500*time.Millisecond), f.Now())
	assert.Equal(t, 1500*time.Millisecond, f.Since(start))

	f.Advance(0)
	assert.Equal(t, 1500*time.Millisecond, f.Since(start), "Advance(0) keeps the time")
}

func TestFake_NewTimer(t *testing.T) {
	t.Run("fires only when Advance reaches its deadline", func(t *testing.T) {
		f := clock.NewFake(start)
		tm := f.NewTimer(time.Second)
		assert.Equal(t, 1, f.Waiters())

		f.Advance(time.Second - time.Nanosecond)
		_, ok := received(tm)
		require.False(t, ok, "fired a nanosecond early")
		assert.Equal(t, 1, f.Waiters())

		f.Advance(time.Nanosecond)
		v, ok := received(tm)
		require.True(t, ok, "did not fire at its deadline")
		assert.Equal(t, start.Add(time.Second), v, "delivers the deadline")
		assert.Equal(t, 0, f.Waiters())

		f.Advance(time.Hour)
		_, ok = received(tm)
		assert.False(t, ok, "fired twice")
	})

	t.Run("deadline counts from the time of creation", func(t *testing.T) {
		f := clock.NewFake(start)
		f.Advance(time.Minute)
		tm := f.NewTimer(time.Second)
		f.Advance(999 * time.Millisecond)
		_, ok := received(tm)
		require.False(t, ok)
		f.Advance(time.Millisecond)
		v, ok := received(tm)
		require.True(t, ok)
		assert.Equal(t, start.Add(time.Minute+time.Second), v)
	})

	t.Run("an Advance past several deadlines fires them in deadline order", func(t *testing.T) {
		f := clock.NewFake(start)
		deadlines := []time.Duration{3 * time.Second, time.Second, 2 * time.Second, 2 * time.Second, 5 * time.Second}
		timers := make([]clock.Timer, len(deadlines))
		for i, d := range deadlines {
			timers[i] = f.NewTimer(d)
		}
		f.Advance(4 * time.Second)
		for i, d := range deadlines {
			v, ok := received(timers[i])
			if d > 4*time.Second {
				assert.False(t, ok, "timer %d (%v) fired before its deadline", i, d)
				continue
			}
			// Each fired timer sees the time of its own deadline, which it
			// could not if a later one had fired first.
			if assert.True(t, ok, "timer %d (%v) did not fire", i, d) {
				assert.Equal(t, start.Add(d), v, "timer %d", i)
			}
		}
		assert.Equal(t, start.Add(4*time.Second), f.Now(), "time ends at now+d")
		assert.Equal(t, 1, f.Waiters())
	})

	for _, d := range []time.Duration{0, -time.Second} {
		t.Run("d <= 0 fires at once/"+d.String(), func(t *testing.T) {
			f := clock.NewFake(start)
			tm := f.NewTimer(d)
			v, ok := received(tm)
			require.True(t, ok, "did not fire without Advance")
			assert.Equal(t, start, v, "delivers the current time")
			assert.Equal(t, 0, f.Waiters(), "never waits")
		})
	}
}

func TestFake_Timer_Stop(t *testing.T) {
	f := clock.NewFake(start)
	tm := f.NewTimer(time.Second)
	other := f.NewTimer(time.Second)
	defer other.Stop()

	assert.True(t, tm.Stop(), "stops an active timer")
	assert.Equal(t, 1, f.Waiters(), "no longer waiting")
	assert.False(t, tm.Stop(), "second Stop")

	f.Advance(time.Hour)
	_, ok := received(tm)
	assert.False(t, ok, "a stopped timer fired")
	_, ok = received(other)
	assert.True(t, ok, "stopping one timer stopped another")
}

func TestFake_Timer_Reset(t *testing.T) {
	t.Run("an active timer moves to the new deadline", func(t *testing.T) {
		f := clock.NewFake(start)
		tm := f.NewTimer(time.Second)
		f.Advance(500 * time.Millisecond)
		assert.True(t, tm.Reset(time.Second))
		assert.Equal(t, 1, f.Waiters())

		f.Advance(500 * time.Millisecond)
		_, ok := received(tm)
		require.False(t, ok, "fired at the old deadline")
		f.Advance(500 * time.Millisecond)
		v, ok := received(tm)
		require.True(t, ok)
		assert.Equal(t, start.Add(1500*time.Millisecond), v)
	})

	t.Run("a fired and received timer fires again", func(t *testing.T) {
		f := clock.NewFake(start)
		tm := f.NewTimer(time.Second)
		f.Advance(time.Second)
		_, ok := received(tm)
		require.True(t, ok)

		assert.False(t, tm.Reset(time.Second), "was not active")
		f.Advance(time.Second)
		v, ok := received(tm)
		require.True(t, ok)
		assert.Equal(t, start.Add(2*time.Second), v)
	})

	t.Run("a stopped timer fires again", func(t *testing.T) {
		f := clock.NewFake(start)
		tm := f.NewTimer(time.Second)
		require.True(t, tm.Stop())
		assert.False(t, tm.Reset(2*time.Second), "was not active")
		f.Advance(2 * time.Second)
		v, ok := received(tm)
		require.True(t, ok)
		assert.Equal(t, start.Add(2*time.Second), v)
	})

	t.Run("an unread value is replaced by the new one", func(t *testing.T) {
		f := clock.NewFake(start)
		tm := f.NewTimer(time.Second)
		f.Advance(time.Second) // fires; nobody reads it
		assert.True(t, tm.Reset(time.Second), "an unread value counts as active, as with time.Timer")
		_, ok := received(tm)
		require.False(t, ok, "the stale value survived Reset")

		f.Advance(time.Second)
		v, ok := received(tm)
		require.True(t, ok)
		assert.Equal(t, start.Add(2*time.Second), v, "the new deadline, not the stale one")
	})

	t.Run("d <= 0 fires at once", func(t *testing.T) {
		f := clock.NewFake(start)
		tm := f.NewTimer(time.Hour)
		assert.True(t, tm.Reset(-time.Second))
		v, ok := received(tm)
		require.True(t, ok)
		assert.Equal(t, start, v)
		assert.Equal(t, 0, f.Waiters())
	})

	t.Run("the classic drain pattern does not block", func(t *testing.T) {
		f := clock.NewFake(start)
		tm := f.NewTimer(time.Second)
		f.Advance(time.Second) // fires; nobody reads it
		if !tm.Stop() {
			// The pattern now does <-tm.C(), which blocks forever unless a
			// value is there.
			_, ok := received(tm)
			require.True(t, ok, "Stop reported false but left no value: <-C() would block forever")
		}
		tm.Reset(time.Second)
		f.Advance(time.Second)
		_, ok := received(tm)
		assert.True(t, ok)
	})
}

func TestFake_BlockUntil(t *testing.T) {
	errCause := errors.New("test over")

	t.Run("returns at once when enough timers wait", func(t *testing.T) {
		f := clock.NewFake(start)
		ctx, cancel := context.WithCancelCause(t.Context())
		cancel(errCause) // so that any wait would return the cause, not nil
		require.NoError(t, f.BlockUntil(ctx, 0))
		require.NoError(t, f.BlockUntil(ctx, -1))
		a, b := f.NewTimer(time.Second), f.NewTimer(time.Second)
		defer a.Stop()
		defer b.Stop()
		assert.NoError(t, f.BlockUntil(ctx, 1))
		assert.NoError(t, f.BlockUntil(ctx, 2))
	})

	t.Run("does not return with too few timers", func(t *testing.T) {
		f := clock.NewFake(start)
		tm := f.NewTimer(time.Second)
		defer tm.Stop()
		ctx, cancel := context.WithCancelCause(t.Context())
		cancel(errCause)
		require.ErrorIs(t, f.BlockUntil(ctx, 2), errCause)
	})

	t.Run("counts neither stopped nor fired timers", func(t *testing.T) {
		f := clock.NewFake(start)
		stopped := f.NewTimer(time.Second)
		stopped.Stop()
		f.NewTimer(0)
		fired := f.NewTimer(time.Millisecond)
		f.Advance(time.Millisecond)
		_, ok := received(fired)
		require.True(t, ok)

		ctx, cancel := context.WithCancelCause(t.Context())
		cancel(errCause)
		assert.Equal(t, 0, f.Waiters())
		require.ErrorIs(t, f.BlockUntil(ctx, 1), errCause)
	})

	t.Run("waits for timers started by another goroutine", func(t *testing.T) {
		f := clock.NewFake(start)
		ctx, cancel := context.WithTimeout(t.Context(), generous)
		defer cancel()

		var got []time.Time
		done := make(chan struct{})
		go func() {
			defer close(done)
			// Like code under test: start timers, then wait on them.
			a := f.NewTimer(time.Second)
			b := f.NewTimer(2 * time.Second)
			got = append(got, <-a.C(), <-b.C())
		}()
		defer func() { f.Advance(time.Hour); <-done }() // ends the goroutine if a check fails
		require.NoError(t, f.BlockUntil(ctx, 2))
		assert.Equal(t, 2, f.Waiters())
		f.Advance(2 * time.Second)
		<-done
		assert.Equal(t, []time.Time{start.Add(time.Second), start.Add(2 * time.Second)}, got)
	})

	t.Run("wakes when the count is reached", func(t *testing.T) {
		f := clock.NewFake(start)
		ctx, cancel := context.WithTimeout(t.Context(), generous)
		defer cancel()
		res := make(chan error, 1)
		go func() { res <- f.BlockUntil(ctx, 2) }()

		a := f.NewTimer(time.Second)
		defer a.Stop()
		select {
		case err := <-res:
			t.Fatalf("returned with one timer of two: %v", err)
		default:
		}
		b := f.NewTimer(time.Second)
		defer b.Stop()
		require.NoError(t, <-res)
	})

	t.Run("returns ctx's cause when ctx ends while waiting", func(t *testing.T) {
		f := clock.NewFake(start)
		ctx, cancel := context.WithCancelCause(t.Context())
		res := make(chan error, 1)
		go func() { res <- f.BlockUntil(ctx, 1) }()
		cancel(errCause)
		err := <-res
		require.ErrorIs(t, err, errCause)
	})

	t.Run("returns context.Canceled for a plain cancel", func(t *testing.T) {
		f := clock.NewFake(start)
		ctx, cancel := context.WithCancel(t.Context())
		res := make(chan error, 1)
		go func() { res <- f.BlockUntil(ctx, 1) }()
		cancel()
		require.ErrorIs(t, <-res, context.Canceled)
	})

	t.Run("returns context.DeadlineExceeded past the deadline", func(t *testing.T) {
		f := clock.NewFake(start)
		ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
		defer cancel()
		require.ErrorIs(t, f.BlockUntil(ctx, 1), context.DeadlineExceeded)
	})
}
