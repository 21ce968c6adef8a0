package redlock_test

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/internal/testcluster"
	"github.com/quorumlock/quorumlock/redlock"
)

// logBuffer collects a logger's JSON records.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// logger returns a logger of every level into b.
func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (b *logBuffer) text() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// records returns the records whose message is msg.
func (b *logBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(b.text()) {
		var r map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &r), "a JSON record")
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// one returns the only record with message msg whose attribute key is
// value.
func (b *logBuffer) one(t *testing.T, msg, key string, value any) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, r := range b.records(t, msg) {
		if r[key] == value {
			found = append(found, r)
		}
	}
	require.Len(t, found, 1, "records %q with %s=%v", msg, key, value)
	return found[0]
}

// tokenRand is crypto/rand that remembers what it gave, encoded as lock
// tokens are, so that a test can look for every token drawn.
type tokenRand struct {
	mu    sync.Mutex
	drawn []string
}

func (r *tokenRand) Read(p []byte) (int, error) {
	n, err := cryptorand.Read(p)
	r.mu.Lock()
	r.drawn = append(r.drawn, base64.RawURLEncoding.EncodeToString(p[:n]))
	r.mu.Unlock()
	return n, err
}

func (r *tokenRand) tokens() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.drawn...)
}

// assertNoSecrets checks that no token drawn by r nor any of passwords
// appears in the log.
func assertNoSecrets(t *testing.T, log string, r *tokenRand, passwords ...string) {
	t.Helper()
	var tokens []string
	for _, tok := range r.tokens() {
		if len(tok) == 22 { // 16 bytes: a lock token; waiter ids are 8
			tokens = append(tokens, tok)
		}
	}
	require.NotEmpty(t, tokens, "tokens drawn")
	for n, line := range strings.Split(log, "\n") {
		for i, tok := range tokens {
			if strings.Contains(line, tok) {
				t.Errorf("log line %d holds token %d of the %d drawn", n+1, i+1, len(tokens))
			}
		}
		for i, pw := range passwords {
			if strings.Contains(line, pw) {
				t.Errorf("log line %d holds password %d", n+1, i+1)
			}
		}
	}
}

// TestWithLogger runs clients through a node refusing credentials, nodes
// down, contention, a lost lock and failed releases, and checks the
// records, their attributes, and that no token or password is logged.
func TestWithLogger(t *testing.T) {
	c := newCluster(t, 5)
	var lb logBuffer
	var rnd tokenRand
	ctx := context.Background()

	// Node 0 needs a password, given in its URL; node 3 has no
	// append-only file, a warning.
	c.servers[0].RequireAuth("s3cret-pw")
	n0, err := redlock.ParseURL("redis://:s3cret-pw@" + c.nodes[0].Addr())
	require.NoError(t, err)
	defer n0.Close()
	c.Servers[3].SetInfo("aof_enabled", "0")
	nodes := []*redlock.Node{n0, c.nodes[1], c.nodes[2], c.nodes[3], c.nodes[4]}
	client, err := redlock.New(nodes, redlock.WithLogger(lb.logger()), redlock.WithRand(&rnd),
		redlock.WithNodeTimeout(500*time.Millisecond), redlock.WithRetryDelay(time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	defer client.Close()

	a, err := client.TryLock(ctx, "log:a")
	require.NoError(t, err)
	require.NoError(t, a.Extend(ctx))
	c.fastForward(time.Minute)
	require.ErrorIs(t, a.Extend(ctx), redlock.ErrLost)
	require.ErrorIs(t, a.Unlock(ctx), redlock.ErrNotHeld)

	b, err := client.TryLock(ctx, "log:b")
	require.NoError(t, err)
	require.NoError(t, client.Close())
	for _, i := range []int{2, 3, 4} {
		c.faults[i].SetDown(true)
	}
	require.Error(t, b.Unlock(ctx))
	require.NoError(t, client.Close())
	for _, i := range []int{2, 3} {
		c.faults[i].SetDown(false)
	}
	_, err = client.Lock(ctx, "log:b", redlock.WithRetryLimit(2)) // held on 2, 3 and 4, which is down
	require.ErrorIs(t, err, redlock.ErrNotObtained)
	require.NoError(t, client.Close())

	// A second client, whose node 1 has a wrong password.
	c.servers[1].RequireAuth("r1ght-pw")
	n1, err := redlock.ParseURL("redis://:wr0ng-pw@" + c.nodes[1].Addr())
	require.NoError(t, err)
	defer n1.Close()
	other, err := redlock.New([]*redlock.Node{n0, n1, c.nodes[2]}, redlock.WithLogger(lb.logger()), redlock.WithRand(&rnd),
		redlock.WithNodeTimeout(500*time.Millisecond))
	require.NoError(t, err)
	d, err := other.TryLock(ctx, "log:d")
	require.NoError(t, err)
	require.NoError(t, d.Unlock(ctx))
	require.NoError(t, other.Close())

	r := lb.one(t, "redlock: lock acquired", "lock", "log:a")
	assert.Equal(t, "DEBUG", r["level"])
	assert.Equal(t, a.Fingerprint(), r["fingerprint"])
	assert.EqualValues(t, 1, r["attempts"])
	assert.Contains(t, r, "wait")
	assert.Positive(t, r["validity"], "validity, in ns")

	r = lb.one(t, "redlock: lock extended", "lock", "log:a")
	assert.Equal(t, "DEBUG", r["level"])
	assert.Equal(t, a.Fingerprint(), r["fingerprint"])

	r = lb.one(t, "redlock: lock lost", "lock", "log:a")
	assert.Equal(t, "WARN", r["level"])
	assert.Equal(t, a.Fingerprint(), r["fingerprint"])
	assert.Equal(t, "gone", r["cause"])
	assert.Contains(t, r["error"], "no longer hold its token")

	r = lb.one(t, "redlock: lock not held at release", "lock", "log:a")
	assert.Equal(t, "WARN", r["level"])
	assert.Equal(t, a.Fingerprint(), r["fingerprint"])

	r = lb.one(t, "redlock: lock release unconfirmed", "lock", "log:b")
	assert.Equal(t, "WARN", r["level"])
	assert.Equal(t, b.Fingerprint(), r["fingerprint"])
	assert.Contains(t, r["error"], "3 of 5 nodes failed")

	r = lb.one(t, "redlock: lock not obtained", "lock", "log:b")
	assert.Equal(t, "INFO", r["level"], "a Lock that retried")
	assert.EqualValues(t, 3, r["attempts"])
	assert.Equal(t, "busy", r["reason"])
	assert.Contains(t, r["error"], "not obtained")

	r = lb.one(t, "redlock: lock released", "lock", "log:d")
	assert.Equal(t, "DEBUG", r["level"])
	assert.Equal(t, d.Fingerprint(), r["fingerprint"])

	failed := lb.records(t, "redlock: node command failed")
	classes := map[string]bool{}
	for _, r := range failed {
		assert.Equal(t, "DEBUG", r["level"])
		classes[r["node"].(string)+" "+r["op"].(string)+" "+r["class"].(string)] = true
	}
	assert.True(t, classes[c.nodes[1].Addr()+" acquire auth"], "the wrong password: %v", classes)
	assert.True(t, classes[c.nodes[4].Addr()+" acquire refused"], "the node down: %v", classes)
	assert.True(t, classes[c.nodes[2].Addr()+" release refused"], "b's release: %v", classes)

	r = lb.one(t, "redlock: node vetting", "node", c.nodes[3].Addr())
	assert.Equal(t, "WARN", r["level"])
	assert.Equal(t, "no-persistence", r["risk"])
	assert.Equal(t, false, r["refused"])

	assertNoSecrets(t, lb.text(), &rnd, "s3cret-pw", "r1ght-pw", "wr0ng-pw")
}

// TestWithLogger_hold checks the records of a hold that reaches its max
// hold, and of one that cannot renew before its margin.
func TestWithLogger_hold(t *testing.T) {
	var lb logBuffer
	var rnd tokenRand
	_, fake, l := holdSetup(t, redlock.WithLogger(lb.logger()), redlock.WithRand(&rnd), redlock.WithMaxHold(2*time.Second))
	held, stop := l.Hold(context.Background())
	defer stop()
	waitTimers(t, fake, 3) // renewal, margin, max hold
	fake.Advance(2 * time.Second)
	<-held.Done()
	require.ErrorIs(t, context.Cause(held), redlock.ErrMaxHold)
	r := lb.one(t, "redlock: hold reached its max hold; renewal stops", "lock", l.Name())
	assert.Equal(t, "INFO", r["level"])
	assert.Equal(t, l.Fingerprint(), r["fingerprint"])
	assert.Equal(t, float64(2*time.Second), r["max_hold"])
	require.NoError(t, l.Unlock(context.Background()))

	c, fake, l := holdSetup(t, redlock.WithLogger(lb.logger()), redlock.WithRand(&rnd))
	held, stop = l.Hold(context.Background())
	defer stop()
	waitTimers(t, fake, 2)
	for _, i := range []int{0, 1, 2} {
		c.faults[i].SetDown(true)
	}
	fake.Advance(maxRenew) // the renewal fails: 3 of 5 unreachable
	waitTimers(t, fake, 2)
	fake.Advance(l.Until().Sub(fake.Now()))
	<-held.Done()
	require.ErrorIs(t, context.Cause(held), redlock.ErrLost)
	r = lb.one(t, "redlock: lock lost", "lock", l.Name())
	assert.Equal(t, "WARN", r["level"])
	assert.Equal(t, "not-renewed", r["cause"])
	assert.NotEmpty(t, lb.records(t, "redlock: lock extension unconfirmed"))

	assertNoSecrets(t, lb.text(), &rnd)
}

// TestWithLogger_levels checks that a handler's level filters the records:
// at Info, no Debug record is made.
func TestWithLogger_levels(t *testing.T) {
	c := newCluster(t, 3)
	c.faults[2].SetDown(true)
	var buf logBuffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	client := c.client(t, redlock.WithLogger(logger))
	l, err := client.TryLock(context.Background(), "levels")
	require.NoError(t, err)
	require.NoError(t, l.Unlock(context.Background()))
	require.NoError(t, client.Close())
	assert.Empty(t, buf.text())
	assert.Positive(t, c.faults[2].Calls(testcluster.OpOther), "the node down was asked")
}
