package redlock_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/clock"
	"github.com/quorumlock/quorumlock/redlock"
	"github.com/quorumlock/quorumlock/redlock/observe"
)

// The ACL rights the library needs, as docs/operations.md names them, for a
// client whose key prefix is "app:": the locks' keys, the library's own
// keys and channels, and the commands its scripts run.
const (
	aclKeys     = "~app:* ~{quorumlock}:*"
	aclChannels = "&{quorumlock}:*"
	aclCommands = "-@all +evalsha +eval +info +subscribe +unsubscribe " +
		"+get +set +del +exists +pttl +pexpire +time +lastsave +publish +zadd +zrange +zrem +zscore +hget +hset +hdel"
)

// aclNodes starts n redis-server processes with a user that has the
// rights given, and returns a node for each, logged in as that user.
func aclNodes(t *testing.T, n int, rights ...string) []*redlock.Node {
	t.Helper()
	pw := make([]byte, 12)
	_, err := rand.Read(pw)
	require.NoError(t, err)
	password := hex.EncodeToString(pw)
	var nodes []*redlock.Node
	for range n {
		addr := startRedis(t)
		c, err := redis.Dial("tcp", addr)
		require.NoError(t, err)
		args := []any{"SETUSER", "app", "on", ">" + password, "resetkeys", "resetchannels"}
		for _, r := range rights {
			for _, f := range splitFields(r) {
				args = append(args, f)
			}
		}
		_, err = c.Do("ACL", args...)
		require.NoError(t, err, "ACL SETUSER")
		require.NoError(t, c.Close())
		node, err := redlock.ParseURL("redis://app:" + password + "@" + addr)
		require.NoError(t, err)
		t.Cleanup(func() { _ = node.Close() })
		nodes = append(nodes, node)
	}
	return nodes
}

func splitFields(s string) []string {
	var out []string
	start := -1
	for i, r := range s + " " {
		switch {
		case r == ' ' && start >= 0:
			out = append(out, s[start:i])
			start = -1
		case r != ' ' && start < 0:
			start = i
		}
	}
	return out
}

// A Redis user with exactly the rights docs/operations.md names can do everything:
// lock, wait, be handed a lock, fence, extend, read status, take a permit,
// and vet the nodes without a finding.
func TestACL_documentedRights(t *testing.T) {
	nodes := aclNodes(t, 3, aclKeys, aclChannels, aclCommands)
	// Fresh servers: no quarantine, or the test would wait for it.
	opts := []redlock.ClientOption{redlock.WithKeyPrefix("app:"), redlock.WithQuarantine(0), redlock.WithNodeTimeout(2 * time.Second)}
	holder, err := redlock.New(nodes, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = holder.Close() })
	ctx := context.Background()

	findings, err := holder.Vet(ctx)
	require.NoError(t, err)
	for _, f := range findings {
		t.Errorf("finding: %s", f)
	}

	var attempts atomic.Int64
	fake := clock.NewFake(time.Now()) // never advances: only a hand-off ends the wait
	waiter, err := redlock.New(nodes, append(opts, redlock.WithClock(fake), redlock.WithMetrics(observe.Metrics{
		Attempt: func(context.Context, string, observe.AttemptOutcome) { attempts.Add(1) },
	}))...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = waiter.Close() })

	held, err := holder.TryLock(ctx, "job", redlock.WithTTL(time.Minute))
	require.NoError(t, err)
	got := make(chan error, 1)
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	go func() {
		l, err := waiter.Lock(waitCtx, "job")
		if err == nil {
			err = l.Unlock(ctx)
		}
		got <- err
	}()
	require.NoError(t, fake.BlockUntil(waitCtx, 1), "the waiter did not queue and wait within a minute")
	before := attempts.Load()
	require.NoError(t, held.Unlock(ctx), "the holder's Unlock, with a waiter queued")
	require.NoError(t, <-got, "the waiter's Lock and Unlock")
	assert.Zero(t, attempts.Load()-before, "attempts by the waiter after the holder's Unlock: it should have been handed the lock")

	fenced, err := holder.TryLock(ctx, "fenced", redlock.WithFencing())
	require.NoError(t, err)
	assert.NotZero(t, fenced.Fence())
	require.NoError(t, fenced.Extend(ctx))
	st, err := holder.Status(ctx, "fenced")
	require.NoError(t, err)
	assert.Equal(t, redlock.VerdictHeld, st.Verdict)
	require.NoError(t, fenced.Unlock(ctx))

	// A semaphore's waiter is woken, not handed the slot, and takes it with
	// an attempt of its own.
	permit, err := sem(holder, "pool", 1).TryAcquire(ctx)
	require.NoError(t, err)
	other, err := redlock.New(nodes, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Close() })
	go func() {
		p, err := sem(other, "pool", 1).Acquire(waitCtx)
		if err == nil {
			err = p.Unlock(ctx)
		}
		got <- err
	}()
	require.Eventually(t, func() bool {
		st, err := sem(holder, "pool", 1).Status(ctx)
		return err == nil && st[0].Verdict == redlock.VerdictHeld
	}, time.Minute, 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond) // the waiter queues
	require.NoError(t, permit.Unlock(ctx))
	require.NoError(t, <-got, "the semaphore's waiter")
}

// A user without the channels may not publish or subscribe: Unlock still
// succeeds with a waiter queued, the waiter still gets the lock when it
// tries again, and vetting says what is missing, as a warning.
func TestACL_withoutChannels(t *testing.T) {
	nodes := aclNodes(t, 3, aclKeys, aclCommands)
	opts := []redlock.ClientOption{redlock.WithKeyPrefix("app:"), redlock.WithQuarantine(0), redlock.WithNodeTimeout(2 * time.Second)}
	client, err := redlock.New(nodes, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	ctx := context.Background()

	held, err := client.TryLock(ctx, "job", redlock.WithTTL(time.Minute))
	require.NoError(t, err)
	var attempts atomic.Int64
	waiter, err := redlock.New(nodes, append(opts, redlock.WithMetrics(observe.Metrics{
		Attempt: func(context.Context, string, observe.AttemptOutcome) { attempts.Add(1) },
	}))...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = waiter.Close() })
	got := make(chan error, 1)
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	go func() {
		l, err := waiter.Lock(waitCtx, "job")
		if err == nil {
			err = l.Unlock(ctx)
		}
		got <- err
	}()
	for attempts.Load() < 2 { // queued, with an offer
		select {
		case err := <-got:
			t.Fatalf("the waiter's Lock returned while the lock was held: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	require.NoError(t, held.Unlock(ctx), "the holder's Unlock with a waiter queued, its publish refused")
	require.NoError(t, <-got, "the waiter, which finds the lock free when it tries again")

	findings, err := client.Vet(ctx)
	require.NoError(t, err)
	var notify int
	for _, f := range findings {
		if f.Risk == redlock.RiskNoNotify {
			notify++
			assert.False(t, f.Refused, "%s", f)
			assert.Contains(t, f.Detail, "refused")
		} else {
			t.Errorf("unexpected finding: %s", f)
		}
	}
	assert.Equal(t, 3, notify, "nodes found unable to notify waiters")
	var ne *redlock.NodeError
	assert.False(t, errors.As(err, &ne))
}
