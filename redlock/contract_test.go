package redlock_test

import (
	"context"
	"net"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/clock"
	"github.com/quorumlock/quorumlock/internal/testcluster"
	"github.com/quorumlock/quorumlock/redlock"
)

// Regression tests for contract holes found by probing the library.

func TestLock_Unlock_whileExtending(t *testing.T) {
	c := newCluster(t, 5)
	client := c.client(t, redlock.WithTTL(30*time.Second), redlock.WithNodeTimeout(20*time.Second))
	l, err := client.TryLock(context.Background(), "unlock-while-extending")
	require.NoError(t, err)
	var releases []func()
	for i := range 3 {
		releases = append(releases, c.faults[i].Block(testcluster.OpExtend))
	}
	extended := make(chan error, 1)
	go func() { extended <- l.Extend(context.Background()) }()
	require.Eventually(t, func() bool { return c.faults[2].Calls(testcluster.OpExtend) > 0 },
		10*time.Second, time.Millisecond, "waiting for the extension to reach the blocked nodes")
	unlocked := make(chan error, 1)
	go func() { unlocked <- l.Unlock(context.Background()) }()
	require.Eventually(t, func() bool { return l.Until().IsZero() },
		10*time.Second, time.Millisecond, "waiting for Unlock to begin")
	for _, release := range releases {
		release()
	}
	require.ErrorIs(t, <-extended, redlock.ErrNotHeld, "an extension that ends after Unlock began does not count")
	require.NoError(t, <-unlocked)
	assert.True(t, l.Until().IsZero(), "Until stays zero after Unlock, though an Extend was in flight")
	require.NoError(t, client.Close())
	assert.Empty(t, c.keys(l.Key()), "released everywhere")
}

func TestLock_Unlock_replyLost(t *testing.T) {
	t.Run("within validity: the resent release counts", func(t *testing.T) {
		c := newCluster(t, 5)
		client := c.client(t)
		l, err := client.TryLock(context.Background(), "reply-lost")
		require.NoError(t, err)
		for i := range 3 {
			c.faults[i].LoseReplies(testcluster.OpRelease, 1)
		}
		require.NoError(t, l.Unlock(context.Background()), "a quorum held the token; the first copies removed it")
		require.NoError(t, client.Close())
		assert.Empty(t, c.keys(l.Key()))
		for i := range 3 {
			assert.Equal(t, 2, c.faults[i].Ran(testcluster.OpRelease), "node %d: sent, reply lost, sent again", i)
		}
	})

	t.Run("after validity: unknown, not ErrNotHeld", func(t *testing.T) {
		c := newCluster(t, 5)
		fake := clock.NewFake(time.Unix(1000, 0))
		client := c.client(t, redlock.WithClock(fake), redlock.WithTTL(time.Second))
		l, err := client.TryLock(context.Background(), "reply-lost-late")
		require.NoError(t, err)
		fake.Advance(2 * time.Second) // the keys stay: the servers' clocks did not move
		for i := range 3 {
			c.faults[i].LoseReplies(testcluster.OpRelease, 1)
		}
		err = l.Unlock(context.Background())
		require.Error(t, err)
		assert.NotErrorIs(t, err, redlock.ErrNotHeld, "three nodes may have released it: unknown")
		assert.ErrorContains(t, err, "unknown")
	})
}

// silentPeer accepts TCP connections and never says anything, as a frozen
// TLS terminator or a black-holed port would.
func silentPeer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

func TestParseURL_rediss_boundedByNodeTimeout(t *testing.T) {
	var nodes []*redlock.Node
	for range 3 {
		n, err := redlock.ParseURL("rediss://" + silentPeer(t))
		require.NoError(t, err)
		t.Cleanup(func() { _ = n.Close() })
		nodes = append(nodes, n)
	}
	const timeout = 200 * time.Millisecond
	client, err := redlock.New(nodes, redlock.WithNodeTimeout(timeout))
	require.NoError(t, err)

	start := time.Now()
	st, err := client.Status(context.Background(), "tls")
	require.NoError(t, err)
	for _, ns := range st.Nodes {
		assert.Error(t, ns.Err, "node %s answered through a silent TLS peer", ns.Addr)
	}
	_, err = client.TryLock(context.Background(), "tls")
	require.ErrorIs(t, err, redlock.ErrNotObtained)
	require.NoError(t, client.Close())
	// The handshake alone would take 10s without the node timeout.
	assert.Less(t, time.Since(start), 5*time.Second,
		"Status, TryLock and Close over silent TLS peers, each bounded by the %v node timeout", timeout)
}

func TestClient_undoNeedsNoCachedScript(t *testing.T) {
	c := newCluster(t, 5)
	ctx := context.Background()
	holder := c.client(t)
	held, err := holder.TryLock(ctx, "other")
	require.NoError(t, err)
	require.NoError(t, holder.Close())
	for _, s := range c.Servers {
		require.NoError(t, s.Restart()) // durable: keys stay, scripts go
	}
	// A failed attempt caches the acquiring script again, but no release.
	client := c.client(t, redlock.WithNodeTimeout(300*time.Millisecond))
	_, err = client.TryLock(ctx, "other")
	require.ErrorIs(t, err, redlock.ErrNotObtained)
	require.NoError(t, client.Close())

	var resumes []func()
	for i := range 3 {
		resumes = append(resumes, c.faults[i].Pause())
	}
	_, err = client.TryLock(ctx, "late")
	require.ErrorIs(t, err, redlock.ErrNotObtained, "three nodes paused")
	require.Eventually(t, func() bool { return c.faults[2].Calls(testcluster.OpRelease) > 0 },
		10*time.Second, time.Millisecond, "waiting for the undo to reach the paused nodes")
	for _, resume := range resumes {
		resume() // the queued SETs run, then the releases queued after them
	}
	require.NoError(t, client.Close())
	assert.Empty(t, c.keys("late"), "no late SET outlives the undo")
	require.NoError(t, held.Unlock(ctx))
}

// The options a client only can take are ClientOptions, which no call
// takes: giving one to a call does not compile.
func TestOption_clientOnly(t *testing.T) {
	option := reflect.TypeFor[redlock.Option]()
	for name, fn := range map[string]any{
		"WithNodeTimeout": redlock.WithNodeTimeout, "WithClock": redlock.WithClock, "WithRand": redlock.WithRand,
		"WithQuarantine": redlock.WithQuarantine, "WithAcceptRisks": redlock.WithAcceptRisks,
		"WithLogger": redlock.WithLogger, "WithMetrics": redlock.WithMetrics,
	} {
		out := reflect.TypeOf(fn).Out(0)
		assert.False(t, out.AssignableTo(option), "%s returns %v, which a call's ...Option takes", name, out)
		assert.True(t, out.AssignableTo(reflect.TypeFor[redlock.ClientOption]()), "%s: New does not take it", name)
	}
	assert.True(t, option.AssignableTo(reflect.TypeFor[redlock.ClientOption]()), "New does not take call options as defaults")
}

func TestOption_scope(t *testing.T) {
	c := newCluster(t, 3)
	client := c.client(t)
	ctx := context.Background()
	cases := []struct {
		name string
		call func(opt redlock.Option) error
		opt  redlock.Option
		want string
	}{
		{"wait per TryLock", tryLockWith(client, ctx), redlock.WithWait(time.Second), "WithWait cannot be given to TryLock"},
		{"retry limit per TryLock", tryLockWith(client, ctx), redlock.WithRetryLimit(1), "WithRetryLimit cannot be given to TryLock"},
		{"ttl per Status", statusWith(client, ctx), redlock.WithTTL(time.Second), "WithTTL cannot be given to Status"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(tc.opt)
			require.ErrorIs(t, err, redlock.ErrInvalidArgument)
			assert.ErrorContains(t, err, tc.want)
		})
	}
	assert.Empty(t, c.keys("scoped"), "no attempt was made")

	t.Run("options a call accepts take effect there", func(t *testing.T) {
		l, err := client.TryLock(ctx, "scoped", redlock.WithTTL(2*time.Second), redlock.WithKeyPrefix("p:"))
		require.NoError(t, err)
		assert.Equal(t, "p:scoped", l.Key())
		require.NoError(t, client.Close())
		for _, s := range c.servers {
			assert.Equal(t, 2*time.Second, s.TTL("p:scoped"))
		}
		st, err := client.Status(ctx, "scoped", redlock.WithKeyPrefix("p:"))
		require.NoError(t, err)
		assert.Equal(t, redlock.VerdictHeld, st.Verdict)
		require.NoError(t, l.Unlock(ctx))
	})
}

func tryLockWith(c *redlock.Client, ctx context.Context) func(redlock.Option) error {
	return func(o redlock.Option) error { _, err := c.TryLock(ctx, "scoped", o); return err }
}

func statusWith(c *redlock.Client, ctx context.Context) func(redlock.Option) error {
	return func(o redlock.Option) error { _, err := c.Status(ctx, "scoped", o); return err }
}

func TestQuarantine_coversLongerTTLs(t *testing.T) {
	tc := testcluster.New(t, testcluster.Options{Servers: 3})
	ctx := context.Background()
	c, err := redlock.New(tc.Nodes)
	require.NoError(t, err)
	_, err = c.TryLock(ctx, "long", redlock.WithTTL(60*time.Second))
	require.ErrorIs(t, err, redlock.ErrInvalidArgument, "a ttl the default quarantine does not cover")
	assert.ErrorContains(t, err, "longer than the quarantine")

	_, err = redlock.New(tc.Nodes, redlock.WithTTL(30*time.Second), redlock.WithQuarantine(10*time.Second))
	require.ErrorIs(t, err, redlock.ErrInvalidArgument, "a quarantine shorter than the client's ttl")

	covered, err := redlock.New(tc.Nodes, redlock.WithQuarantine(time.Minute), redlock.WithNodeTimeout(500*time.Millisecond))
	require.NoError(t, err)
	l, err := covered.TryLock(ctx, "long", redlock.WithTTL(60*time.Second))
	require.NoError(t, err)
	require.NoError(t, l.Unlock(ctx))
	require.NoError(t, covered.Close())
}

func TestFencing_refusesNodesWithoutPersistence(t *testing.T) {
	tc := testcluster.New(t, testcluster.Options{Servers: 3})
	for _, s := range tc.Servers {
		s.SetInfo("aof_enabled", "0")
	}
	c, err := redlock.New(tc.Nodes, redlock.WithNodeTimeout(500*time.Millisecond))
	require.NoError(t, err)
	ctx := context.Background()
	l, err := c.TryLock(ctx, "nopersist")
	require.NoError(t, err, "without fencing the quarantine covers a node without persistence")
	require.NoError(t, l.Unlock(ctx))
	require.NoError(t, c.Close())
	_, err = c.TryLock(ctx, "nopersist", redlock.WithFencing())
	require.ErrorIs(t, err, redlock.ErrNotObtained, "fence counters must survive restarts")
	assert.ErrorContains(t, err, "no-persistence")
	require.NoError(t, c.Close())
}

func TestClient_Do_fnUnlocks(t *testing.T) {
	c := newCluster(t, 3)
	client := c.client(t)
	err := client.Do(context.Background(), "do-unlock", func(ctx context.Context) error {
		return redlock.HeldLock(ctx).Unlock(context.WithoutCancel(ctx))
	})
	require.NoError(t, err, "a function that unlocks its own lock is not reported as having lost it")
	require.NoError(t, client.Close())
	assert.Empty(t, c.keys("do-unlock"))
}

func TestLock_Unlock_afterRestartWithoutData(t *testing.T) {
	c := newCluster(t, 5)
	client := c.client(t)
	ctx := context.Background()
	l, err := client.TryLock(ctx, "crashed")
	require.NoError(t, err)
	require.NoError(t, client.Close())
	for i := range 3 {
		require.NoError(t, c.Servers[i].Crash()) // the release meets closed connections, and a server that forgot it all
	}
	err = l.Unlock(ctx)
	require.Error(t, err, "three nodes lost the key in a restart: the lock was not shown held until released")
	assert.NotErrorIs(t, err, redlock.ErrNotHeld, "whether the resent releases found no key because a first copy removed it is unknown")
}
