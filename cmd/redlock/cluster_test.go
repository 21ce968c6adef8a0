//go:build integration

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The cluster tests run the built command against real Redis masters: the
// compose cluster on 127.0.0.1:7001..7005, or the nodes in REDLOCK_NODES.
// Run them with
//
//	REDLOCK_REQUIRE_CLUSTER=1 go test -race -count=1 -tags integration -run '^TestCluster' ./cmd/redlock
//
// With REDLOCK_REQUIRE_CLUSTER=1 an unreachable cluster fails them; without
// it they skip, saying why.

const defaultClusterNodes = "redis://127.0.0.1:7001,redis://127.0.0.1:7002,redis://127.0.0.1:7003," +
	"redis://127.0.0.1:7004,redis://127.0.0.1:7005"

// clusterNodes returns the cluster's URLs after checking that every node
// answers PING, or fails or skips the test.
func clusterNodes(t *testing.T) []string {
	t.Helper()
	raw := strings.TrimSpace(os.Getenv(nodesEnv))
	if raw == "" {
		raw = defaultClusterNodes
	}
	urls := strings.Split(raw, ",")
	var (
		wg   sync.WaitGroup
		errs = make([]error, len(urls))
	)
	for i, u := range urls {
		wg.Go(func() { _, errs[i] = clusterDo(strings.TrimSpace(u), "PING") })
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
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := redis.DialURLContext(ctx, url, redis.DialReadTimeout(3*time.Second), redis.DialWriteTimeout(3*time.Second))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.Do(cmd, args...)
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

// Ten redlock run processes started at once on the real cluster each
// increment a number in a file with a read, a pause and a write.
func TestCluster_contention(t *testing.T) {
	env, urls := clusterEnv(t)
	name := uniqueName(t, urls, "contention")
	counter := filepath.Join(t.TempDir(), "counter")
	require.NoError(t, os.WriteFile(counter, []byte("0\n"), 0o644))
	runContentionOn(t, append(env, "COUNTER="+counter), name, counter, 10)

	r := runBinary(t, env, "status", name)
	assert.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	assert.Contains(t, r.stdout, "verdict: free on 5 of 5 nodes (quorum 3)")
}

// A lock whose keys vanish from the cluster is lost: the program is
// terminated and redlock exits 76.
func TestCluster_lost(t *testing.T) {
	env, urls := clusterEnv(t)
	name := uniqueName(t, urls, "lost")
	dir := t.TempDir()
	cmd, stdout, stderr := command(t, append(env, "DIR="+dir), "run", "--ttl", "2s", "--grace", "1s", name, "--",
		"sh", "-c", `trap 'echo TERM > "$DIR/signal"; exit 143' TERM; echo started > "$DIR/started"; sleep 30 & wait`)
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
