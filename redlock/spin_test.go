package redlock_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/redlock"
	"github.com/quorumlock/quorumlock/redlock/observe"
)

// When the holder's key is gone from one node only (it expired there
// early, or the holder cannot reach it), a waiter is granted there and
// nowhere else on each attempt, and the attempt's undo frees the key
// there again. The undo must not wake the waiter, which would try again at
// once, over and over: it waits its turn, trying again at its usual pace
// (at least every half second), until the holder releases.
func TestClient_Lock_noSpinOnOwnUndo(t *testing.T) {
	addrs := make([]string, 5)
	var nodes []*redlock.Node
	for i := range addrs {
		addrs[i] = startRedis(t)
		n, err := redlock.ParseURL("redis://" + addrs[i])
		require.NoError(t, err)
		t.Cleanup(func() { _ = n.Close() })
		nodes = append(nodes, n)
	}
	opts := []redlock.ClientOption{redlock.WithQuarantine(0), redlock.WithNodeTimeout(2 * time.Second)}
	del := func(key string) {
		c, err := redis.Dial("tcp", addrs[0])
		require.NoError(t, err)
		defer c.Close()
		_, err = c.Do("DEL", key)
		require.NoError(t, err)
	}
	const wait = 2 * time.Second
	for _, tc := range []struct {
		name string
		take func(ctx context.Context, c *redlock.Client) (*redlock.Lock, error)
	}{
		{"lock", func(ctx context.Context, c *redlock.Client) (*redlock.Lock, error) { return c.Lock(ctx, "spin") }},
		{"fenced lock", func(ctx context.Context, c *redlock.Client) (*redlock.Lock, error) {
			return c.Lock(ctx, "spin-fenced", redlock.WithFencing())
		}},
		{"semaphore", func(ctx context.Context, c *redlock.Client) (*redlock.Lock, error) {
			p, err := sem(c, "spin-sem", 1).Acquire(ctx)
			if err != nil {
				return nil, err
			}
			return p.Lock, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			holder, err := redlock.New(nodes, opts...)
			require.NoError(t, err)
			t.Cleanup(func() { _ = holder.Close() })
			held, err := tc.take(ctx, holder)
			require.NoError(t, err)
			require.NoError(t, holder.Close()) // its key is on every node

			var attempts atomic.Int64
			waiter, err := redlock.New(nodes, append(opts, redlock.WithMetrics(observe.Metrics{
				Attempt: func(context.Context, string, observe.AttemptOutcome) { attempts.Add(1) },
			}))...)
			require.NoError(t, err)
			t.Cleanup(func() { _ = waiter.Close() })
			wctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := tc.take(wctx, waiter)
				done <- err
			}()
			for attempts.Load() < 2 { // queued on every node
				select {
				case err := <-done:
					t.Fatalf("the waiter returned while the lock was held: %v", err)
				case <-time.After(10 * time.Millisecond):
				}
			}
			del(held.Key()) // the holder's key is gone from one node
			before := attempts.Load()
			time.Sleep(wait)
			n := attempts.Load() - before
			cancel()
			require.ErrorIs(t, <-done, redlock.ErrNotObtained, "the lock is held on four of five nodes")
			t.Logf("%d attempts in %v", n, wait)
			assert.Less(t, n, int64(20), "attempts while waiting %v for a lock held on four of five nodes", wait)
			require.NoError(t, held.Unlock(ctx))
		})
	}
}
