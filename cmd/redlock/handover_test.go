package main

import (
	"context"
	"errors"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A signal before the program may start ends the wait, once: the wait's
// context is cancelled with the signal as its cause, and the program may
// not start.
func TestHandover_signalWhileWaiting(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	h := newHandover(cancel)
	assert.True(t, h.interrupt(syscall.SIGTERM))
	assert.True(t, h.interrupt(syscall.SIGINT), "a later signal is dropped, not the program's")
	intr, ok := errors.AsType[interrupted](context.Cause(ctx))
	require.True(t, ok, "cause: %v", context.Cause(ctx))
	assert.Equal(t, syscall.SIGTERM, intr.sig)
	assert.Equal(t, os.Signal(syscall.SIGTERM), h.interruption())
	assert.False(t, h.begin(), "the program does not start after an interruption")
	ran := false
	h.whileWaiting(func() { ran = true })
	assert.True(t, ran, "still waiting, as far as reports go")
}

// Once the program may start, signals are the program's and the wait's
// context, from which the hold derives, is never cancelled.
func TestHandover_signalOnceStarted(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	h := newHandover(cancel)
	require.True(t, h.begin())
	require.True(t, h.begin(), "begin twice is harmless")
	assert.False(t, h.interrupt(syscall.SIGINT))
	require.NoError(t, ctx.Err())
	assert.Nil(t, h.interruption())
	select {
	case <-h.begun:
	default:
		t.Fatal("begun is not closed")
	}
	h.whileWaiting(func() { t.Error("a report after the program may start") })
}

// watch passes the program's signals on and drops none while the
// program runs; it returns when done is closed.
func TestHandover_watch(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	h := newHandover(cancel)
	sigs, forward, done := make(chan os.Signal), make(chan os.Signal, 1), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { h.watch(sigs, forward, done) })
	require.True(t, h.begin())
	for _, sig := range []os.Signal{syscall.SIGINT, syscall.SIGHUP, syscall.SIGTERM} {
		sigs <- sig
		select {
		case got := <-forward:
			assert.Equal(t, sig, got)
		case <-time.After(10 * time.Second):
			t.Fatalf("%v was not passed on", sig)
		}
	}
	sigs <- syscall.SIGINT // forward is not read: watch must still return on done
	close(done)
	wg.Wait()
	assert.NoError(t, ctx.Err(), "no signal cancelled the wait")
}

// A signal racing the grant either ends the wait or reaches the program,
// never both and never neither, whatever the order.
func TestHandover_race(t *testing.T) {
	for range 200 {
		_, cancel := context.WithCancelCause(context.Background())
		h := newHandover(cancel)
		var wg sync.WaitGroup
		var ended, begun bool
		wg.Go(func() { ended = h.interrupt(syscall.SIGINT) })
		wg.Go(func() { begun = h.begin() })
		wg.Wait()
		cancel(nil)
		require.NotEqual(t, ended, begun, "the signal ended the wait: %v, the program began: %v", ended, begun)
	}
}
