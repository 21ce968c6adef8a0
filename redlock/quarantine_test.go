package redlock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/clock"
	"github.com/quorumlock/quorumlock/internal/testcluster"
	"github.com/quorumlock/quorumlock/redlock"
)

// crashMajority locks name with a, then restarts three of five nodes
// without their data, as kill -9 does to Redis without persistence.
func crashMajority(t *testing.T, tc *testcluster.Cluster, a *redlock.Client, name string) *redlock.Lock {
	t.Helper()
	l, err := a.TryLock(context.Background(), name)
	require.NoError(t, err)
	require.NoError(t, a.Close())
	for i := range 3 {
		require.NoError(t, tc.Servers[i].Crash())
	}
	return l
}

func TestQuarantine(t *testing.T) {
	t.Run("nodes restarted without their data do not grant a held lock", func(t *testing.T) {
		fake := clock.NewFake(time.Unix(1000, 0))
		tc := testcluster.New(t, testcluster.Options{Clock: fake})
		const ttl = 10 * time.Second
		newClient := func() *redlock.Client {
			c, err := redlock.New(tc.Nodes, redlock.WithTTL(ttl), redlock.WithNodeTimeout(500*time.Millisecond), redlock.WithClock(fake))
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })
			return c
		}
		held := crashMajority(t, tc, newClient(), "q")
		b := newClient()
		_, err := b.TryLock(context.Background(), "q")
		require.ErrorIs(t, err, redlock.ErrNotObtained, "no second holder while the first holds it")
		var qe interface{ Error() string }
		require.ErrorAs(t, err, &qe)
		assert.ErrorContains(t, err, "quarantine")
		require.NoError(t, b.Close())

		fake.Advance(ttl + time.Second) // the crashed nodes are now older than the quarantine
		require.ErrorIs(t, held.Unlock(context.Background()), redlock.ErrNotHeld,
			"the crash took the key from three nodes, and Unlock says so")
		l, err := b.TryLock(context.Background(), "q")
		require.NoError(t, err, "out of quarantine, the nodes vote again")
		require.NoError(t, l.Unlock(context.Background()))
	})

	t.Run("without quarantine the same fault gives a second holder", func(t *testing.T) {
		tc := testcluster.New(t, testcluster.Options{})
		opts := []redlock.ClientOption{redlock.WithQuarantine(0), redlock.WithNodeTimeout(500 * time.Millisecond)}
		a, err := redlock.New(tc.Nodes, opts...)
		require.NoError(t, err)
		held := crashMajority(t, tc, a, "q0")
		b, err := redlock.New(tc.Nodes, opts...)
		require.NoError(t, err)
		second, err := b.TryLock(context.Background(), "q0")
		require.NoError(t, err, "the fault the quarantine exists for")
		assert.NotEqual(t, held.Token(), second.Token())
		require.NoError(t, b.Close())
	})

	t.Run("a client that saw the nodes before they restarted quarantines them, whatever their uptime says", func(t *testing.T) {
		servers := clock.NewFake(time.Unix(1000, 0)) // the servers' clocks, for their uptime
		tc := testcluster.New(t, testcluster.Options{Clock: servers})
		const ttl = 10 * time.Second
		clientClock := clock.NewFake(time.Unix(5000, 0))
		newClient := func(nodes []*redlock.Node) *redlock.Client {
			c, err := redlock.New(nodes, redlock.WithTTL(ttl), redlock.WithNodeTimeout(500*time.Millisecond), redlock.WithClock(clientClock))
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })
			return c
		}
		a := newClient(tc.Nodes)
		b := newClient(tc.Nodes) // b's nodes saw the servers, through a's lock
		held := crashMajority(t, tc, a, "qc")
		// Each restarted server's clock steps an hour forward: by its
		// uptime it is far out of quarantine.
		servers.Advance(time.Hour)

		_, err := b.TryLock(context.Background(), "qc")
		require.ErrorIs(t, err, redlock.ErrNotObtained, "a second holder while the first holds it")
		assert.ErrorContains(t, err, "restarted, or lost its data")
		require.NoError(t, b.Close())

		// A client whose nodes never saw the servers before the restart
		// can only trust their uptime: this is what the quarantine cannot
		// protect (see the package documentation).
		var fresh []*redlock.Node
		for _, s := range tc.Servers {
			n, err := redlock.ParseURL(s.URL())
			require.NoError(t, err)
			t.Cleanup(func() { _ = n.Close() })
			fresh = append(fresh, n)
		}
		c := newClient(fresh)
		second, err := c.TryLock(context.Background(), "qc")
		require.NoError(t, err, "a client new to the nodes, misled by their uptime")
		require.NoError(t, second.Unlock(context.Background()))
		require.NoError(t, c.Close())

		clientClock.Advance(ttl + time.Second) // b's quarantine of the nodes ends
		require.ErrorIs(t, held.Unlock(context.Background()), redlock.ErrNotHeld)
		l, err := b.TryLock(context.Background(), "qc")
		require.NoError(t, err, "out of quarantine by the client's clock, the nodes vote again")
		require.NoError(t, l.Unlock(context.Background()))
	})

	t.Run("a node that refuses INFO is refused while the quarantine is on", func(t *testing.T) {
		tc := testcluster.New(t, testcluster.Options{Servers: 3})
		for _, s := range tc.Servers {
			s.DenyInfo(true)
		}
		c, err := redlock.New(tc.Nodes, redlock.WithNodeTimeout(500*time.Millisecond))
		require.NoError(t, err)
		_, err = c.TryLock(context.Background(), "noinfo")
		require.ErrorIs(t, err, redlock.ErrNotObtained)
		assert.ErrorContains(t, err, "unprobed")
		require.NoError(t, c.Close())

		off, err := redlock.New(tc.Nodes, redlock.WithQuarantine(0), redlock.WithNodeTimeout(500*time.Millisecond))
		require.NoError(t, err)
		l, err := off.TryLock(context.Background(), "noinfo")
		require.NoError(t, err, "without a quarantine an unprobed node is a warning")
		require.NoError(t, l.Unlock(context.Background()))
		findings, err := off.Vet(context.Background())
		require.NoError(t, err)
		require.Len(t, findings, 3)
		for _, f := range findings {
			assert.Equal(t, redlock.RiskUnprobed, f.Risk)
			assert.False(t, f.Refused)
		}
		require.NoError(t, off.Close())
	})
}

func TestLock_Extend_heals(t *testing.T) {
	tc := testcluster.New(t, testcluster.Options{})
	c, err := redlock.New(tc.Nodes, redlock.WithNodeTimeout(500*time.Millisecond))
	require.NoError(t, err)
	ctx := context.Background()
	l, err := c.TryLock(ctx, "heal")
	require.NoError(t, err)
	require.NoError(t, c.Close())
	require.NoError(t, tc.Servers[4].Crash())
	assert.Equal(t, []int{0, 1, 2, 3}, tc.Holders(l.Key(), l.Token()))

	require.NoError(t, l.Extend(ctx))
	require.NoError(t, c.Close()) // the heal runs in the background
	assert.Equal(t, []int{0, 1, 2, 3, 4}, tc.Holders(l.Key(), l.Token()), "the crashed node holds the lock again")
	require.NoError(t, l.Unlock(ctx))
	require.NoError(t, c.Close())
	assert.Empty(t, tc.Keys(l.Key()))
}

func TestLock_Hold_maxHold(t *testing.T) {
	_, fake, l := holdSetup(t, redlock.WithMaxHold(5*time.Second))
	held, stop := l.Hold(context.Background())
	defer stop()
	for fake.Since(time.Unix(0, 0)) < 5*time.Second {
		waitTimers(t, fake, 3) // renewal, lost deadline, max hold
		before := l.Until()
		fake.Advance(maxRenew)
		if fake.Since(time.Unix(0, 0)) < 5*time.Second {
			require.Eventually(t, func() bool { return l.Until().After(before) }, 10*time.Second, time.Millisecond,
				"renewal before the bound")
		}
	}
	select {
	case <-held.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("held not cancelled at the max hold bound")
	}
	cause := context.Cause(held)
	require.ErrorIs(t, cause, redlock.ErrMaxHold)
	assert.NotErrorIs(t, cause, redlock.ErrLost, "the lock is still held, just no longer renewed")
	assert.True(t, fake.Now().Before(l.Until()), "still valid when the hold ends")
	assert.True(t, errors.Is(l.Unlock(context.Background()), nil))
}

// After a restart that kept the data, the first script to run may be
// another client's, in another database, which finds the new run id in its
// own database only: a client on the first database still sees the
// server's new incarnation, by its LASTSAVE, or with LASTSAVE renamed away
// by reading INFO in every script, and quarantines it.
func TestQuarantine_restartSeenInEveryDatabase(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"LASTSAVE", nil},
		{"LASTSAVE renamed away", []string{"--rename-command", "LASTSAVE", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) { restartSeenInEveryDatabase(t, tc.args...) })
	}
}

func restartSeenInEveryDatabase(t *testing.T, args ...string) {
	addr, restart := restartableRedis(t, args...)
	ctx := context.Background()
	const ttl, quarantine = time.Second, 2 * time.Second
	newClient := func(db string) *redlock.Client {
		n, err := redlock.ParseURL("redis://" + addr + "/" + db)
		require.NoError(t, err)
		t.Cleanup(func() { _ = n.Close() })
		c, err := redlock.New([]*redlock.Node{n}, redlock.WithTTL(ttl), redlock.WithQuarantine(quarantine),
			redlock.WithNodeTimeout(500*time.Millisecond))
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	a := newClient("0")
	var l *redlock.Lock
	require.Eventually(t, func() bool { // until the fresh server is out of quarantine
		var err error
		l, err = a.TryLock(ctx, "warm")
		return err == nil
	}, time.Minute, 100*time.Millisecond, "a first lock, once the server has been up for %v", quarantine)
	require.NoError(t, l.Unlock(ctx))
	require.NoError(t, a.Close())

	restart() // LASTSAVE counts seconds: the restart may fall in the second of the last check, or later

	b := newClient("1")
	_, err := b.TryLock(ctx, "other") // the first scripts after the restart, by their source, in database 1
	require.ErrorIs(t, err, redlock.ErrNotObtained, "the restarted server is in quarantine for b too")

	_, err = a.TryLock(ctx, "x")
	require.ErrorIs(t, err, redlock.ErrNotObtained, "a grant of the server restarted just now")
	assert.ErrorContains(t, err, "restarted, or lost its data")
}
