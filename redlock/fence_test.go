package redlock_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/clock"
	"github.com/quorumlock/quorumlock/internal/history"
	"github.com/quorumlock/quorumlock/internal/testcluster"
	"github.com/quorumlock/quorumlock/redlock"
)

func TestLock_Fence(t *testing.T) {
	t.Run("without fencing a lock has no token", func(t *testing.T) {
		c := newCluster(t, 3)
		l, err := c.client(t).TryLock(context.Background(), "plain")
		require.NoError(t, err)
		assert.Zero(t, l.Fence())
		require.NoError(t, l.Unlock(context.Background()))
		assert.Empty(t, c.Keys(redlock.Reserved+"fence"), "no high-water mark without fencing")
		assert.Empty(t, c.Keys(redlock.Reserved+"f:plain"), "no counter without fencing")
	})

	t.Run("tokens increase strictly over successive grants with nodes failing and restarting", func(t *testing.T) {
		fake := clock.NewFake(time.Unix(1000, 0)) // the servers' uptime
		tc := testcluster.New(t, testcluster.Options{Clock: fake})
		// The client's clock times the quarantine of the nodes whose
		// restarts it sees; the servers' clock their uptime.
		client, err := redlock.New(tc.Nodes, redlock.WithFencing(), redlock.WithNodeTimeout(2*time.Second), redlock.WithClock(fake))
		require.NoError(t, err)
		t.Cleanup(func() { _ = client.Close() })
		ctx := context.Background()
		var last uint64
		const rounds = 200
		for round := range rounds {
			// One node down (it comes back next round), one restarted with
			// its data, one paused and resumed; then time passes beyond
			// the restarted node's quarantine.
			tc.Servers[(round+4)%5].Conn().SetDown(false)
			tc.Servers[round%5].Conn().SetDown(true)
			require.NoError(t, tc.Servers[(round+2)%5].Restart())
			tc.Servers[(round+3)%5].Conn().Pause()()
			fake.Advance(11 * time.Second)
			tc.FastForward(11 * time.Second) // keys a down node kept expire
			l, err := client.Lock(ctx, "fenced", redlock.WithWait(time.Minute))
			require.NoError(t, err, "round %d", round)
			require.Greater(t, l.Fence(), last, "round %d: fence %d after %d", round, l.Fence(), last)
			last = l.Fence()
			require.NoError(t, l.Unlock(ctx))
			// Every node has answered before time passes: a restart seen
			// late would be quarantined from then on.
			require.NoError(t, client.Close())
		}
		assert.Equal(t, uint64(rounds), last, "one grant per round, each one higher")
	})

	t.Run("a holder whose lock was taken over writes stale; the fenced resource refuses it", func(t *testing.T) {
		c := newCluster(t, 5)
		client := c.client(t, redlock.WithFencing())
		ctx := context.Background()
		a, err := client.TryLock(ctx, "taken")
		require.NoError(t, err)
		require.NoError(t, client.Close()) // every node has answered
		// Out of the model: a third party deletes the key on a majority
		// while a still believes it holds the lock.
		for i := range 3 {
			c.servers[i].Del(a.Key())
		}
		b, err := client.TryLock(ctx, "taken")
		require.NoError(t, err, "the deleted majority grants a second holder")
		assert.Greater(t, b.Fence(), a.Fence(), "the second holder's token is higher")

		var res history.Fence
		assert.True(t, res.Write(b.Fence()), "the current holder writes")
		assert.False(t, res.Write(a.Fence()), "the stale holder is refused")
		assert.Equal(t, b.Fence(), res.Highest())
		require.NoError(t, b.Unlock(ctx))
		_ = a.Unlock(ctx)
	})

	t.Run("the fence keys are reserved", func(t *testing.T) {
		c := newCluster(t, 3)
		_, err := c.client(t).TryLock(context.Background(), redlock.Reserved+"fence")
		require.ErrorIs(t, err, redlock.ErrInvalidArgument)
		assert.ErrorContains(t, err, "reserved")
	})
}

// On real Redis servers: a lock's fence counter is its key's, whatever
// prefix a client gives, and what fencing leaves on a node is bounded by
// the locks in use.
func TestLock_Fence_onRedis(t *testing.T) {
	var nodes []*redlock.Node
	var addrs []string
	for range 3 {
		addr := startRedis(t)
		addrs = append(addrs, addr)
		n, err := redlock.ParseURL("redis://" + addr)
		require.NoError(t, err)
		t.Cleanup(func() { _ = n.Close() })
		nodes = append(nodes, n)
	}
	ctx := context.Background()
	newClient := func(opts ...redlock.ClientOption) *redlock.Client {
		// Fresh servers: no quarantine, or the test would wait for it.
		c, err := redlock.New(nodes, append([]redlock.ClientOption{redlock.WithFencing(), redlock.WithQuarantine(0),
			redlock.WithNodeTimeout(2 * time.Second)}, opts...)...)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}

	t.Run("one counter per key, whatever the prefix", func(t *testing.T) {
		prefixed, plain := newClient(redlock.WithKeyPrefix("app:")), newClient()
		var last uint64
		take := func(c *redlock.Client, name string) {
			t.Helper()
			l, err := c.TryLock(ctx, name)
			require.NoError(t, err)
			assert.Equal(t, "app:x", l.Key())
			assert.Greater(t, l.Fence(), last, "a later grant of the key app:x")
			last = l.Fence()
			require.NoError(t, l.Unlock(ctx))
		}
		for range 3 {
			take(prefixed, "x")
		}
		take(plain, "app:x")
		take(prefixed, "x")
	})

	t.Run("nothing kept per name once its locks are released", func(t *testing.T) {
		c := newClient()
		const names = 2000
		var last uint64
		for i := range names {
			l, err := c.TryLock(ctx, fmt.Sprintf("order-%d", i))
			require.NoError(t, err)
			last = max(last, l.Fence())
			require.NoError(t, l.Unlock(ctx))
		}
		require.NoError(t, c.Close()) // every node has answered
		for _, addr := range addrs {
			conn, err := redis.Dial("tcp", addr)
			require.NoError(t, err)
			keys, err := redis.Strings(conn.Do("KEYS", "*"))
			require.NoError(t, err)
			high, err := redis.String(conn.Do("GET", redlock.Reserved+"fence"))
			require.NoError(t, err, "the node's high-water mark of fences")
			_ = conn.Close()
			assert.ElementsMatch(t, []string{redlock.Reserved + "incarnation", redlock.Reserved + "fence"}, keys,
				"keys left on %s after %d fenced names were locked and released", addr, names)
			assert.Equal(t, strconv.FormatUint(last, 10), high, "the high-water mark on %s", addr)
		}
	})
}
