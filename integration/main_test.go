//go:build integration

// Package integration tests the redlock client against a real five-node Redis
// cluster (docker-compose.yml, started by scripts/cluster.sh up), injecting
// faults through the docker CLI (pause, kill, restart) and through an
// in-process toxiproxy (latency, partitions, connection resets).
//
// The suite is written for a busy machine: its clients get a node timeout of
// a second (see suiteNodeTimeout), every wait is bounded generously and says
// what it waited for, and a line on stderr tells every 20 seconds which test
// runs and how far it got (visible when go test streams output: run it from
// this directory with no package argument, as scripts/test.sh does).
//
// Environment:
//
//	REDLOCK_NODES              comma-separated redis:// URLs of the nodes, as
//	                           the redlock command reads it; unset or blank:
//	                           the compose cluster (below)
//	REDLOCK_CLUSTER_PORT_BASE  port of the compose cluster's redis1 on
//	                           127.0.0.1; redis2..5 take the next four
//	                           (default 7001)
//	COMPOSE_PROJECT_NAME       compose project of the cluster, for the docker
//	                           faults (default quorumlock)
//	REDLOCK_REQUIRE_CLUSTER    1: an unreachable cluster or docker CLI fails the
//	                           suite (as in CI); unset: the tests skip
package integration

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"go.uber.org/goleak"

	"github.com/quorumlock/quorumlock/integration/internal/nemesis"
	"github.com/quorumlock/quorumlock/internal/compose"
	"github.com/quorumlock/quorumlock/redlock"
)

// pingTimeout bounds the reachability check of each node in TestMain.
const pingTimeout = 10 * time.Second

var (
	composeURLs  []string // the compose cluster's nodes, redis1..redis5
	project      string   // the compose project
	nodeURLs     []string // the nodes under test: REDLOCK_NODES or composeURLs
	defaultSet   bool     // nodeURLs are composeURLs, in order
	requireNodes bool     // REDLOCK_REQUIRE_CLUSTER=1
	clusterErr   error    // why the cluster is unusable, or nil
)

func TestMain(m *testing.M) {
	flag.Parse()
	requireNodes = os.Getenv("REDLOCK_REQUIRE_CLUSTER") == "1"
	var err error
	if composeURLs, err = compose.URLs(os.Getenv); err == nil {
		project, err = compose.Project(os.Getenv)
	}
	if err == nil {
		nodeURLs, defaultSet, err = nodesFromEnv()
	}
	if err != nil { // a malformed variable fails the run, skipping nothing
		fmt.Fprintf(os.Stderr, "integration: FAIL: %v\n", err)
		os.Exit(2)
	}
	clusterErr = pingAll(pingTimeout)
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
	if clusterErr == nil {
		if err := waitUptime(quarantineWait); err != nil {
			fmt.Fprintf(os.Stderr, "integration: FAIL: %v\n", err)
			os.Exit(1)
		}
	}
	stop := heartbeat(os.Stderr, heartbeatEvery)
	code := m.Run()
	stop()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// quarantineWait is how long every node must have been up before the suite
// starts: the library does not count the votes of nodes that started less
// than its quarantine ago (the client's ttl plus drift, 10.1s by default),
// and a cluster just brought up is that young.
const quarantineWait = 11 * time.Second

// waitUptime waits until every node reports an uptime of at least d, saying
// what it waits for.
func waitUptime(d time.Duration) error {
	deadline := time.Now().Add(d + time.Minute)
	said := false
	for {
		youngest := time.Duration(-1)
		for i := range nodeURLs {
			ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
			text, err := redis.String(doNode(ctx, i, "INFO", "server"))
			cancel()
			if err != nil {
				return fmt.Errorf("reading the uptime of node %d: %w", i, err)
			}
			up, err := nemesis.Uptime(text)
			if err != nil {
				return fmt.Errorf("node %d: %w", i, err)
			}
			if youngest < 0 || up < youngest {
				youngest = up
			}
		}
		if youngest >= d {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the nodes were not up for %v within %v", d, d+time.Minute)
		}
		if !said {
			fmt.Fprintf(os.Stderr, "integration: waiting %v until every node has been up for %v (the library's quarantine)\n",
				(d - youngest).Round(time.Second), d)
			said = true
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// nodesFromEnv reads REDLOCK_NODES and reports whether it names the compose
// cluster's nodes.
func nodesFromEnv() (urls []string, isDefault bool, err error) {
	raw, set := os.LookupEnv("REDLOCK_NODES")
	if !set || strings.TrimSpace(raw) == "" {
		return composeURLs, true, nil
	}
	for i, u := range strings.Split(raw, ",") {
		if u = strings.TrimSpace(u); u == "" {
			return nil, false, fmt.Errorf("REDLOCK_NODES: URL %d of the list is empty", i+1)
		}
		urls = append(urls, u)
	}
	if len(urls) != len(composeURLs) {
		return nil, false, fmt.Errorf("REDLOCK_NODES names %d nodes; the suite is written for %d",
			len(urls), len(composeURLs))
	}
	for _, u := range urls {
		if _, err := redlock.ParseURL(u); err != nil {
			return nil, false, fmt.Errorf("REDLOCK_NODES: %w", err)
		}
	}
	isDefault = true
	for i := range urls {
		isDefault = isDefault && strings.TrimSuffix(urls[i], "/") == composeURLs[i]
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
// Otherwise it names the test to the heartbeat until the test ends.
func needCluster(t *testing.T) {
	t.Helper()
	if clusterErr != nil {
		if requireNodes {
			t.Fatalf("cluster unusable (REDLOCK_REQUIRE_CLUSTER=1): %v", clusterErr)
		}
		t.Skipf("cluster unusable: %v", clusterErr)
	}
	track(t, nil)
}
