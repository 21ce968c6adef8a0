//go:build integration

package integration

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/quorumlock/quorumlock/integration/internal/nemesis"
	"github.com/quorumlock/quorumlock/internal/compose"
)

// restoreTimeout bounds bringing the cluster back after a fault: unpausing
// or starting containers and waiting until every node answers PING.
const restoreTimeout = 2 * time.Minute

// A faults drives container faults on the compose cluster through the
// docker CLI. Node i is compose service redis<i+1>, which holds for the
// default REDLOCK_NODES only.
type faults struct {
	t         *testing.T
	ids       []string // container id of each node
	restarted bool     // some node was started again during the test
}

var (
	containersOnce sync.Once
	containerIDs   []string
	containersErr  error
)

// dockerFaults returns the fault helper, and registers a cleanup that
// brings every node back (unpaused, started, answering PING) however the
// test ends. Without the default node set or the docker CLI the test skips,
// or fails under REDLOCK_REQUIRE_CLUSTER=1 if the containers of the default
// node set cannot be found.
func dockerFaults(t *testing.T) *faults {
	t.Helper()
	needCluster(t)
	if !defaultSet {
		t.Skipf("docker faults need REDLOCK_NODES unset or naming the compose cluster (%s..%s, "+
			"see REDLOCK_CLUSTER_PORT_BASE), to map node i to service redis<i+1>",
			hostOf(composeURLs[0]), hostOf(composeURLs[len(composeURLs)-1]))
	}
	containersOnce.Do(func() { containerIDs, containersErr = nemesis.Containers(project, len(composeURLs)) })
	if containersErr != nil {
		if requireNodes {
			t.Fatalf("docker faults unavailable (REDLOCK_REQUIRE_CLUSTER=1): %v", containersErr)
		}
		t.Skipf("docker faults unavailable: %v", containersErr)
	}
	f := &faults{t: t, ids: containerIDs}
	t.Cleanup(f.restore)
	return f
}

func (f *faults) run(verb string, nodes []int) {
	f.t.Helper()
	for _, i := range nodes {
		_, err := nemesis.Docker(verb, f.ids[i])
		if err != nil {
			f.t.Fatalf("%s node %d (%s): %v", verb, i, compose.Service(i), err)
		}
		f.t.Logf("docker %s %s", verb, compose.Service(i))
	}
}

// pause freezes the nodes' processes (SIGSTOP-like, via the cgroup freezer):
// they still accept TCP connections but answer nothing.
func (f *faults) pause(nodes ...int) { f.t.Helper(); f.run("pause", nodes) }

// unpause resumes paused nodes.
func (f *faults) unpause(nodes ...int) { f.t.Helper(); f.run("unpause", nodes) }

// kill sends SIGKILL to the nodes; their ports refuse connections.
func (f *faults) kill(nodes ...int) { f.t.Helper(); f.run("kill", nodes) }

// start starts killed nodes and waits until they answer PING. The test's
// cleanup then waits until they are out of the library's quarantine.
func (f *faults) start(nodes ...int) {
	f.t.Helper()
	f.restarted = true
	f.run("start", nodes)
	if err := waitPing(nodes, restoreTimeout); err != nil {
		f.t.Fatal(err)
	}
}

// restore unpauses paused nodes, starts stopped ones and waits until every
// node answers PING; a failure here fails the test, since the next test
// would find a broken cluster.
func (f *faults) restore() {
	var errs []error
	for i, id := range f.ids {
		state, err := nemesis.Revive(id)
		switch {
		case err != nil:
			errs = append(errs, err)
		case state != "running":
			f.t.Logf("restored %s (was %s)", compose.Service(i), state)
		}
		if state != "running" && state != "paused" { // started again
			f.restarted = true
		}
	}
	errs = append(errs, waitPing(allNodes(), restoreTimeout))
	if f.restarted {
		// Restarted nodes do not vote until the library's quarantine has
		// passed: the next test must not start before.
		errs = append(errs, waitUptime(quarantineWait))
	}
	if err := errors.Join(errs...); err != nil {
		f.t.Errorf("restoring the cluster: %v", err)
	}
}

// waitPing waits until every listed node answers PING.
func waitPing(nodes []int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for _, i := range nodes {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err := ping(ctx, i)
			cancel()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("node %d (%s) did not answer PING within %v: %w", i, compose.Service(i), within, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}
