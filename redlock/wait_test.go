package redlock_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/internal/testcluster"
	"github.com/quorumlock/quorumlock/redlock"
)

// queued returns how many waiters the lock key's queue holds on server s.
func queued(s *testcluster.Server, key string) int {
	members, err := s.Redis().ZMembers(redlock.Reserved + "q:" + key)
	if err != nil {
		return 0
	}
	return len(members)
}

func TestClient_Lock_firstComeFirstServed(t *testing.T) {
	tc := testcluster.New(t, testcluster.Options{RealTimeTTL: true})
	newClient := func() *redlock.Client {
		c, err := redlock.New(tc.Nodes, redlock.WithNodeTimeout(2*time.Second))
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	ctx := context.Background()
	hc := newClient()
	holder, err := hc.TryLock(ctx, "fifo")
	require.NoError(t, err)
	require.NoError(t, hc.Close()) // the holder's key is on every node

	const waiters = 4
	order := make(chan int, waiters)
	release := make(chan struct{})
	for w := range waiters {
		c := newClient() // each waiter a client of its own, as on other hosts
		go func() {
			lctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			l, err := c.Lock(lctx, "fifo")
			if err != nil {
				order <- -1
				return
			}
			order <- w
			<-release
			_ = l.Unlock(context.WithoutCancel(ctx))
		}()
		// The next waiter comes once this one is queued on every node.
		require.Eventually(t, func() bool {
			for _, s := range tc.Servers {
				if queued(s, "fifo") < w+1 {
					return false
				}
			}
			return true
		}, 20*time.Second, 5*time.Millisecond, "waiting for waiter %d to queue on every node: %v", w, func() (n []int) {
			for _, s := range tc.Servers {
				n = append(n, queued(s, "fifo"))
			}
			return n
		}())
	}

	require.NoError(t, holder.Unlock(ctx))
	var got []int
	for range waiters {
		select {
		case w := <-order:
			got = append(got, w)
			release <- struct{}{}
		case <-time.After(2 * time.Minute):
			t.Fatalf("waited 2m for the next grant; order so far %v", got)
		}
	}
	assert.Equal(t, []int{0, 1, 2, 3}, got, "waiters are served in the order they queued, across clients")
	require.Eventually(t, func() bool {
		for _, s := range tc.Servers {
			if queued(s, "fifo") > 0 {
				return false
			}
		}
		return true
	}, time.Minute, 5*time.Millisecond, "waiting for every waiter to leave the queues")
}

func TestClient_TryLock_respectsQueue(t *testing.T) {
	c := newCluster(t, 3)
	client := c.client(t)
	ctx := context.Background()
	// Another client's waiter, queued on every node and alive for a while.
	for _, s := range c.Servers {
		alive := time.Now().Add(time.Hour).UnixMilli()
		_, err := s.Redis().ZAdd(redlock.Reserved+"q:queue", 1, "other")
		require.NoError(t, err)
		s.Redis().HSet(redlock.Reserved+"w:queue", "other", fmt.Sprint(alive))
	}
	_, err := client.TryLock(ctx, "queue")
	require.ErrorIs(t, err, redlock.ErrNotObtained, "a free lock with a live waiter queued is the waiter's")
	assert.ErrorContains(t, err, "earlier waiters are queued")

	// The waiter stops showing it is alive: it is dropped, and the lock is
	// free for anyone.
	for _, s := range c.Servers {
		s.Redis().HSet(redlock.Reserved+"w:queue", "other", fmt.Sprint(time.Now().Add(-time.Second).UnixMilli()))
	}
	l, err := client.TryLock(ctx, "queue")
	require.NoError(t, err)
	require.NoError(t, l.Unlock(ctx))
	require.NoError(t, client.Close())
	for i, s := range c.Servers {
		assert.Zero(t, queued(s, "queue"), "node %d: the dead waiter was dropped", i)
	}
}

// A key with no expiry, which only another hand than the library's sets,
// is held by another owner, not free and queued for.
func TestClient_TryLock_keyWithoutExpiry(t *testing.T) {
	c := newCluster(t, 5)
	client := c.client(t)
	for _, s := range c.servers[:3] {
		require.NoError(t, s.Set("forever", "another owner's token"))
	}
	_, err := client.TryLock(context.Background(), "forever")
	require.ErrorIs(t, err, redlock.ErrNotObtained)
	assert.ErrorContains(t, err, "held by another owner")
	assert.NotContains(t, err.Error(), "earlier waiters are queued")
}
