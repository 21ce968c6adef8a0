//go:build integration

// Package integration tests the redlock client against a real five-node Redis
// cluster (docker-compose.yml, started by scripts/cluster.sh up), injecting
// faults through the docker CLI (pause, kill, restart) and through an
// in-process toxiproxy (latency, partitions, connection resets).
//
// Environment:
//
//	REDLOCK_NODES            comma-separated redis:// URLs of the nodes, as the
//	                         redlock command reads it; unset or blank: the
//	                         compose cluster on 127.0.0.1:7001..7005
//	REDLOCK_REQUIRE_CLUSTER  1: an unreachable cluster or docker CLI fails the
//	                         suite (as in CI); unset: the tests skip
//	COMPOSE_PROJECT_NAME     compose project of the cluster (default quorumlock)
package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/quorumlock/quorumlock/redlock"
)

// defaultNodes is the compose cluster: service redisN listens on 700N.
var defaultNodes = []string{
	"redis://127.0.0.1:7001",
	"redis://127.0.0.1:7002",
	"redis://127.0.0.1:7003",
	"redis://127.0.0.1:7004",
	"redis://127.0.0.1:7005",
}

// keyPrefix starts every key the suite writes, so that stray keys are easy
// to find (redis-cli --scan --pattern 'quorumlock-it:*').
const keyPrefix = "quorumlock-it:"

// pingTimeout bounds the reachability check of each node in TestMain.
const pingTimeout = 3 * time.Second

var (
	nodeURLs     []string // from REDLOCK_NODES
	defaultSet   bool     // nodeURLs are the compose defaults, in order
	requireNodes bool     // REDLOCK_REQUIRE_CLUSTER=1
	clusterErr   error    // why the cluster is unusable, or nil
)

func TestMain(m *testing.M) {
	flag.Parse()
	requireNodes = os.Getenv("REDLOCK_REQUIRE_CLUSTER") == "1"
	nodeURLs, defaultSet, clusterErr = nodesFromEnv()
	if clusterErr == nil {
		clusterErr = pingAll(pingTimeout)
	}
	if clusterErr != nil {
		if requireNodes {
			fmt.Fprintf(os.Stderr, "integration: FAIL: the cluster is unusable and REDLOCK_REQUIRE_CLUSTER=1: %v\n"+
				"integration: start it with scripts/cluster.sh up\n", clusterErr)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "integration: SKIP: the cluster is unusable: %v\n"+
			"integration: start it with scripts/cluster.sh up, or set REDLOCK_REQUIRE_CLUSTER=1 to fail instead\n",
			clusterErr)
		// Tests skip one by one with the reason; examples cannot skip, so
		// they are left out unless -skip was given.
		if f := flag.Lookup("test.skip"); f != nil && f.Value.String() == "" {
			_ = f.Value.Set("^Example")
		}
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// nodesFromEnv reads REDLOCK_NODES and reports whether it names the compose
// defaults.
func nodesFromEnv() (urls []string, isDefault bool, err error) {
	raw, set := os.LookupEnv("REDLOCK_NODES")
	if !set || strings.TrimSpace(raw) == "" {
		return defaultNodes, true, nil
	}
	for i, u := range strings.Split(raw, ",") {
		if u = strings.TrimSpace(u); u == "" {
			return nil, false, fmt.Errorf("REDLOCK_NODES: URL %d of the list is empty", i+1)
		}
		urls = append(urls, u)
	}
	if len(urls) != len(defaultNodes) {
		return nil, false, fmt.Errorf("REDLOCK_NODES names %d nodes; the suite is written for %d",
			len(urls), len(defaultNodes))
	}
	for _, u := range urls {
		if _, err := redlock.ParseURL(u); err != nil {
			return nil, false, fmt.Errorf("REDLOCK_NODES: %w", err)
		}
	}
	isDefault = len(urls) == len(defaultNodes)
	for i := range urls {
		isDefault = isDefault && strings.TrimSuffix(urls[i], "/") == defaultNodes[i]
	}
	return urls, isDefault, nil
}

// pingAll PINGs every node in parallel, each bounded by timeout.
func pingAll(timeout time.Duration) error {
	errs := make([]error, len(nodeURLs))
	var wg sync.WaitGroup
	for i := range nodeURLs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			errs[i] = ping(ctx, i)
		})
	}
	wg.Wait()
	var msgs []string
	for _, err := range errs {
		if err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d nodes do not answer PING: %s", len(msgs), len(nodeURLs), strings.Join(msgs, "; "))
}

// ping sends PING to node i on a fresh connection.
func ping(ctx context.Context, i int) error {
	_, err := doNode(ctx, i, "PING")
	return err
}

// needCluster stops the test when the cluster is unusable: a skip, or a
// failure under REDLOCK_REQUIRE_CLUSTER=1 (TestMain exits before then).
func needCluster(t *testing.T) {
	t.Helper()
	if clusterErr == nil {
		return
	}
	if requireNodes {
		t.Fatalf("cluster unusable (REDLOCK_REQUIRE_CLUSTER=1): %v", clusterErr)
	}
	t.Skipf("cluster unusable: %v", clusterErr)
}

// doNode sends one command to node i on a fresh connection, bypassing any
// client pool, so that inspection never depends on the code under test.
func doNode(ctx context.Context, i int, cmd string, args ...any) (any, error) {
	c, err := redis.DialURLContext(ctx, nodeURLs[i],
		redis.DialConnectTimeout(2*time.Second),
		redis.DialReadTimeout(2*time.Second),
		redis.DialWriteTimeout(2*time.Second))
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
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := redis.String(doNode(ctx, i, "GET", key))
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
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ms, err := redis.Int64(doNode(ctx, i, "PTTL", key))
	require.NoError(t, err)
	return time.Duration(ms) * time.Millisecond
}

// existing counts how many of keys exist on node i.
func existing(t *testing.T, i int, keys ...string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	args := make([]any, len(keys))
	for j, k := range keys {
		args[j] = k
	}
	n, err := redis.Int(doNode(ctx, i, "EXISTS", args...))
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
		if !contains(skip, i) {
			idx = append(idx, i)
		}
	}
	return idx
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
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
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	for i := range nodeURLs {
		_, _ = doNode(ctx, i, "DEL", args...)
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
// given) whose background work is waited for when the test ends, before its
// nodes are closed and before goleak looks.
func newClient(t *testing.T, urls []string, opts ...redlock.Option) *redlock.Client {
	t.Helper()
	if urls == nil {
		urls = nodeURLs
	}
	c, err := redlock.New(nodes(t, urls), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() }) // runs before the nodes' Close
	return c
}

// waitFor polls cond every 20ms until it is true or within has passed, and
// reports whether it became true.
func waitFor(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
