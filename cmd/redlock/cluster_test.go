//go:build integration

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/internal/compose"
)

// The cluster tests run the built command against real Redis masters: the
// compose cluster of scripts/cluster.sh (127.0.0.1:7001..7005, or from
// REDLOCK_CLUSTER_PORT_BASE), or the nodes in REDLOCK_NODES. Run them from
// this directory, so that go test streams their progress lines, with
//
//	REDLOCK_REQUIRE_CLUSTER=1 go test -race -count=1 -tags integration -run '^TestCluster'
//
// With REDLOCK_REQUIRE_CLUSTER=1 an unreachable cluster fails them; without
// it they skip, saying why.

// clusterTimeout bounds each command the tests send to a node themselves.
const clusterTimeout = 10 * time.Second

// clusterNodes returns the cluster's URLs after checking that every node
// answers PING, or fails or skips the test.
func clusterNodes(t *testing.T) []string {
	t.Helper()
	var urls []string
	if raw := strings.TrimSpace(os.Getenv(nodesEnv)); raw != "" {
		for _, u := range strings.Split(raw, ",") {
			urls = append(urls, strings.TrimSpace(u))
		}
	} else {
		var err error
		if urls, err = compose.URLs(os.Getenv); err != nil {
			t.Fatal(err)
		}
	}
	var (
		wg   sync.WaitGroup
		errs = make([]error, len(urls))
	)
	for i, u := range urls {
		wg.Go(func() { _, errs[i] = clusterDo(u, "PING") })
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			continue
		}
		if os.Getenv("REDLOCK_REQUIRE_CLUSTER") == "1" {
			t.Fatalf("node %d of the cluster is unreachable and REDLOCK_REQUIRE_CLUSTER=1: %v", i+1, err)
		}
		t.Skipf("SKIP: node %d of the cluster is unreachable: %v; start it with scripts/cluster.sh up, "+
			"or set REDLOCK_REQUIRE_CLUSTER=1 to fail instead", i+1, err)
	}
	return urls
}

// clusterDo sends one command to the node at url on a fresh connection.
func clusterDo(url, cmd string, args ...any) (any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	c, err := redis.DialURLContext(ctx, url, redis.DialConnectTimeout(clusterTimeout),
		redis.DialReadTimeout(clusterTimeout), redis.DialWriteTimeout(clusterTimeout))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return redis.DoContext(c, ctx, cmd, args...)
}

// uniqueName returns a lock name no other run uses, in the integration
// suite's key space, and deletes it from the nodes at urls at the end.
func uniqueName(t *testing.T, urls []string, what string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "quorumlock-it:cmd:" + what + ":" + hex.EncodeToString(b)
	t.Cleanup(func() {
		for _, u := range urls {
			_, _ = clusterDo(u, "DEL", name)
		}
	})
	return name
}

// clusterEnv returns the environment for the command, and the cluster's
// URLs.
func clusterEnv(t *testing.T) ([]string, []string) {
	urls := clusterNodes(t)
	return append(os.Environ(), nodesEnv+"="+strings.Join(urls, ",")), urls
}

// clusterHeartbeat writes a line to stderr every 20 seconds until t ends,
// naming t and what report says of its progress.
func clusterHeartbeat(t *testing.T, report func() string) {
	start := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				fmt.Fprintf(os.Stderr, "cmd/redlock: %s running for %v: %s\n",
					t.Name(), time.Since(start).Round(time.Second), report())
			}
		}
	})
	t.Cleanup(func() { close(done); wg.Wait() })
}

// Ten redlock run processes started at once on the real cluster each
// increment a number in a file with a read, a pause and a write.
func TestCluster_contention(t *testing.T) {
	env, urls := clusterEnv(t)
	name := uniqueName(t, urls, "contention")
	counter := filepath.Join(t.TempDir(), "counter")
	require.NoError(t, os.WriteFile(counter, []byte("0\n"), 0o644))
	clusterHeartbeat(t, func() string {
		b, _ := os.ReadFile(counter)
		return fmt.Sprintf("counter at %s of 10", strings.TrimSpace(string(b)))
	})
	runContentionOn(t, append(env, "COUNTER="+counter), name, counter, 10)

	// Every run released the lock; a release that timed out on a node
	// leaves a key there until its ttl (5s) runs out. The node timeout is
	// generous, so that a slow answer does not count as a missing node.
	const want, within = "verdict: free on 5 of 5 nodes (quorum 3)", time.Minute
	var r result
	for start := time.Now(); ; time.Sleep(200 * time.Millisecond) {
		r = runBinary(t, env, "status", "--node-timeout=5s", name)
		known := r.code == exitOK || r.code == exitFalse || r.code == exitSplit // held, free, split
		if !known || strings.Contains(r.stdout, want) || time.Since(start) > within {
			break
		}
	}
	assert.Equal(t, exitFalse, r.code, "status of a free lock exits 1; stderr: %s", r.stderr)
	assert.Contains(t, r.stdout, want, "within %v of the last run", within)
}

// A lock whose keys vanish from the cluster is lost: the program is
// terminated and redlock exits 76.
func TestCluster_lost(t *testing.T) {
	env, urls := clusterEnv(t)
	name := uniqueName(t, urls, "lost")
	dir := t.TempDir()
	// --wait: on a busy machine the first attempt may time out on nodes.
	cmd, stdout, stderr := command(t, append(env, "DIR="+dir), "run", "--wait", "30s", "--ttl", "2s", "--grace", "1s",
		name, "--", "sh", "-c", `trap 'echo TERM > "$DIR/signal"; exit 143' TERM; echo started > "$DIR/started"; sleep 30 & wait`)
	start := time.Now()
	require.NoError(t, cmd.Start())
	waitFile(t, filepath.Join(dir, "started"))
	for _, u := range urls {
		_, err := clusterDo(u, "DEL", name)
		require.NoError(t, err)
	}
	r := wait(t, cmd, stdout, stderr, start)
	assert.Equal(t, exitLost, r.code, "stderr: %s", r.stderr)
	assert.Contains(t, r.stderr, `redlock: lock "`+name+`" lost: `)
	assert.Equal(t, "TERM\n", waitFile(t, filepath.Join(dir, "signal")))
}
