//go:build integration

package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/redlock"
)

// suiteNodeTimeout is the node timeout of the suite's clients, unless a test
// sets its own. The library's 50ms default is for production nodes that
// answer within a millisecond; here every client runs under the race
// detector on a machine that may be busy, and a test about something else
// must not fail because three nodes took 60ms. Tests about timeouts set
// theirs explicitly, large enough that waiting for one shows.
const suiteNodeTimeout = time.Second

// inspectTimeout bounds each inspection command (GET, PTTL, DEL, ...) the
// suite sends on its own connections.
const inspectTimeout = 10 * time.Second

// keyPrefix starts every key the suite writes, so that stray keys are easy
// to find (redis-cli --scan --pattern 'quorumlock-it:*').
const keyPrefix = "quorumlock-it:"

// doNode sends one command to node i on a fresh connection, bypassing any
// client pool, so that inspection never depends on the code under test.
func doNode(ctx context.Context, i int, cmd string, args ...any) (any, error) {
	c, err := redis.DialURLContext(ctx, nodeURLs[i],
		redis.DialConnectTimeout(inspectTimeout),
		redis.DialReadTimeout(inspectTimeout),
		redis.DialWriteTimeout(inspectTimeout))
	if err != nil {
		return nil, fmt.Errorf("node %d (%s): %w", i, hostOf(nodeURLs[i]), err)
	}
	defer c.Close()
	reply, err := redis.DoContext(c, ctx, cmd, args...)
	if err != nil {
		return nil, fmt.Errorf("node %d (%s): %s: %w", i, hostOf(nodeURLs[i]), cmd, err)
	}
	return reply, nil
}

// inspect sends one command to node i, bounded by inspectTimeout.
func inspect(i int, cmd string, args ...any) (any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), inspectTimeout)
	defer cancel()
	return doNode(ctx, i, cmd, args...)
}

// hostOf returns the host:port of a node URL.
func hostOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	return u.Host
}

// keyOn returns the value of key on node i, and whether it exists.
func keyOn(t *testing.T, i int, key string) (string, bool) {
	t.Helper()
	v, err := redis.String(inspect(i, "GET", key))
	if errors.Is(err, redis.ErrNil) {
		return "", false
	}
	require.NoError(t, err)
	return v, true
}

// pttlOn returns the remaining time to live of key on node i: negative if
// the key has no expiry (-1ms) or does not exist (-2ms).
func pttlOn(t *testing.T, i int, key string) time.Duration {
	t.Helper()
	ms, err := redis.Int64(inspect(i, "PTTL", key))
	require.NoError(t, err)
	return time.Duration(ms) * time.Millisecond
}

// expiries returns, for each node listed (all if none), the absolute
// expiry of key there by the node's clock, in Unix milliseconds (Redis 7's
// PEXPIRETIME): -1 if the key has no expiry, -2 if it does not exist.
// Unlike a PTTL, it does not move while the test waits, so it can be
// compared before and after an operation however slowly the test runs.
func expiries(t *testing.T, key string, among ...int) []int64 {
	t.Helper()
	if len(among) == 0 {
		among = allNodes()
	}
	at := make([]int64, len(among))
	for j, i := range among {
		ms, err := redis.Int64(inspect(i, "PEXPIRETIME", key))
		require.NoError(t, err)
		at[j] = ms
	}
	return at
}

// existing counts how many of keys exist on node i.
func existing(t *testing.T, i int, keys ...string) int {
	t.Helper()
	args := make([]any, len(keys))
	for j, k := range keys {
		args[j] = k
	}
	n, err := redis.Int(inspect(i, "EXISTS", args...))
	require.NoError(t, err)
	return n
}

// holders returns the nodes, among those listed (all if none), on which key
// holds value.
func holders(t *testing.T, key, value string, among ...int) []int {
	t.Helper()
	if len(among) == 0 {
		among = allNodes()
	}
	var got []int
	for _, i := range among {
		if v, ok := keyOn(t, i, key); ok && v == value {
			got = append(got, i)
		}
	}
	return got
}

// present returns the nodes, among those listed (all if none), on which key
// exists with any value.
func present(t *testing.T, key string, among ...int) []int {
	t.Helper()
	if len(among) == 0 {
		among = allNodes()
	}
	var got []int
	for _, i := range among {
		if _, ok := keyOn(t, i, key); ok {
			got = append(got, i)
		}
	}
	return got
}

func allNodes() []int {
	idx := make([]int, len(nodeURLs))
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// except returns every node index but those listed.
func except(skip ...int) []int {
	var idx []int
	for _, i := range allNodes() {
		if !slices.Contains(skip, i) {
			idx = append(idx, i)
		}
	}
	return idx
}

var unsafeKeyChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// lockName returns a lock name unique to this test run and deletes its key
// from every reachable node when the test ends. The key is the name itself:
// clients are made without a key prefix.
func lockName(t *testing.T) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := keyPrefix + unsafeKeyChars.ReplaceAllString(t.Name(), "_") + ":" + hex.EncodeToString(b[:])
	t.Cleanup(func() { deleteEverywhere(name) })
	return name
}

// deleteEverywhere deletes keys on every node it can reach, best effort: a
// node down at cleanup time lets its keys expire.
func deleteEverywhere(keys ...string) {
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	for i := range nodeURLs {
		_, _ = inspect(i, "DEL", args...)
	}
}

// nodes returns a redlock node for each URL, closed when the test ends.
func nodes(t *testing.T, urls []string) []*redlock.Node {
	t.Helper()
	ns := make([]*redlock.Node, len(urls))
	for i, u := range urls {
		n, err := redlock.ParseURL(u)
		require.NoError(t, err)
		t.Cleanup(func() { _ = n.Close() })
		ns[i] = n
	}
	return ns
}

// newClient returns a client on urls (the cluster's nodes if none are
// given), with the suite's node timeout unless opts set another, whose
// background work is waited for when the test ends, before its nodes are
// closed and before goleak looks.
func newClient(t *testing.T, urls []string, opts ...redlock.ClientOption) *redlock.Client {
	t.Helper()
	if urls == nil {
		urls = nodeURLs
	}
	opts = append([]redlock.ClientOption{redlock.WithNodeTimeout(suiteNodeTimeout)}, opts...)
	c, err := redlock.New(nodes(t, urls), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() }) // runs before the nodes' Close
	return c
}

// eventually polls cond every 20ms until it is true, or fails the test
// naming what it waited for once within has passed. It reports whether
// cond became true.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) bool {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Errorf("waited %v for %s", within, what)
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
