package redlock

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type ctxKey struct{}

func TestOpContext(t *testing.T) {
	t.Run("a deadline of its own, whatever the parent does", func(t *testing.T) {
		parent, cancel := context.WithCancelCause(context.WithValue(context.Background(), ctxKey{}, "v"))
		op := newOpContext(parent, time.Hour)
		defer op.cancel()
		cancel(errors.New("caller gave up"))
		deadline, ok := op.Deadline()
		assert.True(t, ok)
		assert.WithinDuration(t, time.Now().Add(time.Hour), deadline, time.Minute)
		assert.NoError(t, op.Err(), "the parent's cancellation does not reach it")
		select {
		case <-op.Done():
			t.Fatal("done with the parent")
		default:
		}
		assert.Equal(t, "v", op.Value(ctxKey{}), "values pass through")
		assert.Nil(t, context.Cause(op), "the parent's cause is hidden, as WithoutCancel does")
	})

	t.Run("Done closes at the deadline", func(t *testing.T) {
		op := newOpContext(context.Background(), time.Millisecond)
		defer op.cancel()
		select {
		case <-op.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("Done not closed after the deadline")
		}
		require.ErrorIs(t, op.Err(), context.DeadlineExceeded)
		require.ErrorIs(t, context.Cause(op), context.DeadlineExceeded)
	})

	t.Run("Err after the deadline, before anyone asked for Done", func(t *testing.T) {
		op := newOpContext(context.Background(), -time.Second)
		require.ErrorIs(t, op.Err(), context.DeadlineExceeded)
		select {
		case <-op.Done():
		default:
			t.Fatal("Done must be closed once Err is not nil")
		}
	})

	t.Run("cancel ends it, and its timer, once", func(t *testing.T) {
		op := newOpContext(context.Background(), time.Hour)
		done := op.Done() // arms the timer
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(op.cancel)
		}
		wg.Wait()
		<-done
		require.ErrorIs(t, op.Err(), context.Canceled)
		assert.False(t, op.timer.Stop(), "the timer was stopped by cancel")
	})
}

func TestBackground(t *testing.T) {
	var b background
	b.wait() // nothing running: returns at once

	release := make(chan struct{})
	b.goDo(func() { <-release })
	waited := make(chan struct{})
	go func() {
		b.wait()
		close(waited)
	}()
	b.goDo(func() {}) // work may start while wait is waiting
	select {
	case <-waited:
		t.Fatal("wait returned while work was running")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Fatal("wait did not return after the work ended")
	}
}
