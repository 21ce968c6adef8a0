package redlock_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/internal/testcluster"
	"github.com/quorumlock/quorumlock/redlock"
	"github.com/quorumlock/quorumlock/redlock/observe"
)

// tally records what a client's Metrics report, as counts by key.
type tally struct {
	mu     sync.Mutex
	counts map[string]int
	waits  []time.Duration // per Acquire, in order
}

func (ta *tally) add(format string, args ...any) {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	if ta.counts == nil {
		ta.counts = map[string]int{}
	}
	ta.counts[fmt.Sprintf(format, args...)]++
}

// count returns how often key was reported.
func (ta *tally) count(key string) int {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	return ta.counts[key]
}

// with returns the counts of the keys starting with prefix.
func (ta *tally) with(prefix string) map[string]int {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	out := map[string]int{}
	for k, n := range ta.counts {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			out[k] = n
		}
	}
	return out
}

func (ta *tally) metrics() observe.Metrics {
	return observe.Metrics{
		Attempt: func(_ context.Context, name string, o observe.AttemptOutcome) { ta.add("attempt %s %s", name, o) },
		Acquire: func(_ context.Context, name string, acquired bool, attempts int, wait time.Duration) {
			ta.add("acquire %s %t %d", name, acquired, attempts)
			ta.mu.Lock()
			ta.waits = append(ta.waits, wait)
			ta.mu.Unlock()
		},
		Extend:  func(_ context.Context, name string, o observe.Outcome) { ta.add("extend %s %s", name, o) },
		Lost:    func(_ context.Context, name string, c observe.LossCause) { ta.add("lost %s %s", name, c) },
		Release: func(_ context.Context, name string, o observe.Outcome) { ta.add("release %s %s", name, o) },
		NodeError: func(_ context.Context, node string, op observe.Op, c observe.ErrorClass) {
			ta.add("error %s %s %s", node, op, c)
		},
		NodeLatency: func(_ context.Context, node string, op observe.Op, d time.Duration) {
			ta.add("latency %s %s", node, op)
		},
	}
}

// TestWithMetrics runs a client through a node down, a timeout, refused
// credentials, contention, a lost lock and failed releases, and checks that
// the metrics count what happened.
func TestWithMetrics(t *testing.T) {
	c := newCluster(t, 5)
	var ta tally
	client := c.client(t, redlock.WithMetrics(ta.metrics()), redlock.WithRetryDelay(time.Millisecond, time.Millisecond))
	ctx := context.Background()
	node := func(i int) string { return c.nodes[i].Addr() }
	calls4 := func() int {
		n := 0
		for op := range testcluster.OpOther + 1 {
			n += c.faults[4].Calls(op)
		}
		return n
	}

	a, err := client.TryLock(ctx, "a")
	require.NoError(t, err)
	require.NoError(t, a.Extend(ctx))
	c.fastForward(time.Minute) // the keys expire on every node
	require.ErrorIs(t, a.Extend(ctx), redlock.ErrLost)
	require.ErrorIs(t, a.Unlock(ctx), redlock.ErrNotHeld)
	require.NoError(t, client.Close())

	c.faults[4].SetDown(true) // from here on: every command refused
	before := calls4()
	b, err := client.TryLock(ctx, "b")
	require.NoError(t, err)
	require.NoError(t, client.Close()) // every node has answered, and been probed if need be
	for _, i := range []int{1, 2, 3} {
		c.faults[i].SetDown(true)
	}
	err = b.Unlock(ctx) // only node 0 answers: unknown; b stays on 1, 2, 3
	require.Error(t, err)
	require.NotErrorIs(t, err, redlock.ErrNotHeld)
	require.NoError(t, client.Close()) // the release is done on every node
	for _, i := range []int{1, 2, 3} {
		c.faults[i].SetDown(false)
	}
	_, err = client.Lock(ctx, "b", redlock.WithRetryLimit(1))
	require.ErrorIs(t, err, redlock.ErrNotObtained, "b's keys left on three nodes")
	require.NoError(t, client.Close()) // no straggler of that wait meets the block below

	open := c.faults[3].Block(testcluster.OpAcquire)
	l, err := client.TryLock(ctx, "c") // granted by 0, 1 and 2; node 3 times out
	require.NoError(t, err)
	require.NoError(t, l.Unlock(ctx))
	require.NoError(t, client.Close()) // node 3's timeout is in
	open()

	c.servers[2].RequireAuth("s3cret")
	l, err = client.TryLock(ctx, "d") // granted by 0, 1 and 3; node 2 refuses the credentials
	require.NoError(t, err)
	require.NoError(t, l.Unlock(ctx))
	require.NoError(t, client.Close())

	assert.Equal(t, map[string]int{
		"attempt a granted": 1, "attempt b granted": 1, "attempt b busy": 2, "attempt c granted": 1, "attempt d granted": 1,
	}, ta.with("attempt "))
	assert.Equal(t, map[string]int{
		"acquire a true 1": 1, "acquire b true 1": 1, "acquire b false 2": 1, "acquire c true 1": 1, "acquire d true 1": 1,
	}, ta.with("acquire "))
	assert.Equal(t, map[string]int{"extend a ok": 1, "extend a lost": 1}, ta.with("extend "))
	assert.Equal(t, map[string]int{"lost a gone": 1}, ta.with("lost "))
	assert.Equal(t, map[string]int{
		"release a lost": 1, "release b unknown": 1, "release c ok": 1, "release d ok": 1,
	}, ta.with("release "))
	ta.mu.Lock()
	for i, w := range ta.waits {
		assert.Positive(t, w, "wait of acquisition %d", i)
	}
	ta.mu.Unlock()

	// Once node 4 was down: 5 attempts; releases of 3 unlocks and of the 2
	// failed attempts; 1 waiter leaving b's queue. Nodes 1, 2 and 3 were
	// down for b's release only.
	want := map[string]int{
		"error " + node(4) + " acquire refused": 5,
		"error " + node(4) + " release refused": 5,
		"error " + node(4) + " leave refused":   1,
		"error " + node(3) + " acquire timeout": 1,
		"error " + node(2) + " acquire auth":    1,
		"error " + node(2) + " release auth":    1,
	}
	for _, i := range []int{1, 2, 3} {
		want["error "+node(i)+" release refused"] = 1
	}
	assert.Equal(t, want, ta.with("error "))
	assert.Equal(t, 11, calls4()-before, "commands sent to node 4 while down")
	for i := range 5 {
		assert.Equal(t, 6, ta.count("latency "+node(i)+" acquire"), "node %d's acquire commands", i)
		assert.Equal(t, 2, ta.count("latency "+node(i)+" extend"), "node %d's extend commands", i)
	}
	for i := range 4 {
		assert.Positive(t, ta.count("latency "+node(i)+" info"), "node %d probed", i)
	}
}

// TestWithMetrics_holdAndStatus checks a hold that cannot renew before its
// margin, which loses the lock, and Status's reads.
func TestWithMetrics_holdAndStatus(t *testing.T) {
	var ta tally
	c, fake, l := holdSetup(t, redlock.WithMetrics(ta.metrics()))
	held, stop := l.Hold(context.Background())
	defer stop()
	waitTimers(t, fake, 2)
	for _, i := range []int{0, 1, 2} {
		c.faults[i].SetDown(true)
	}
	fake.Advance(maxRenew) // the renewal fails: 3 of 5 unreachable
	waitTimers(t, fake, 2) // its retry and the margin are armed
	fake.Advance(l.Until().Sub(fake.Now()))
	select {
	case <-held.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("held not cancelled at the margin")
	}
	require.ErrorIs(t, context.Cause(held), redlock.ErrLost)
	stop()
	name := l.Name()
	assert.Equal(t, 1, ta.count("lost "+name+" not-renewed"))
	assert.Positive(t, ta.count("extend "+name+" unknown"), "renewals left unconfirmed")
	assert.Zero(t, ta.count("extend "+name+" ok"))

	client, err := redlock.New(c.nodes, redlock.WithMetrics(ta.metrics()))
	require.NoError(t, err)
	_, err = client.Status(context.Background(), name)
	require.NoError(t, err)
	for i := range c.nodes {
		assert.Equal(t, 1, ta.count("latency "+c.nodes[i].Addr()+" status"), "node %d read", i)
	}
	assert.Equal(t, 1, ta.count("error "+c.nodes[0].Addr()+" status refused"))
}

func TestWithMetrics_empty(t *testing.T) {
	c := newCluster(t, 3)
	client := c.client(t, redlock.WithMetrics(observe.Metrics{}))
	l, err := client.TryLock(context.Background(), "empty")
	require.NoError(t, err, "a Metrics with no func set records nothing and costs nothing")
	require.NoError(t, l.Unlock(context.Background()))
}
