package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// requireRedis skips the test when redis-server is not installed, unless
// REDLOCK_REQUIRE_REDIS=1 (as in CI), which makes that a failure.
func requireRedis(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("REDLOCK_REQUIRE_REDIS") == "1" {
			t.Fatal("redis-server not installed and REDLOCK_REQUIRE_REDIS=1: apt-get install redis-server")
		}
		t.Skip("redis-server not installed; apt-get install redis-server (REDLOCK_REQUIRE_REDIS=1 makes this a failure)")
	}
}

// logWriter sends progress lines to the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestScenariosRunAgainstRealServers runs every scenario once, briefly,
// on five real redis-server processes (after quorumlock's quarantine, so
// it takes about 20s), and checks that each produced measurements, that
// the table shows every scenario, and that the servers are gone after.
func TestScenariosRunAgainstRealServers(t *testing.T) {
	requireRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	prog := newProgress(logWriter{t})
	cfg := config{reps: 1, duration: 300 * time.Millisecond, allocPairs: 50}
	res, err := run(ctx, cfg, newReaper(), prog)
	prog.close()
	if err != nil {
		t.Fatalf("run: %v", err)
	}

	for _, k := range []string{
		seqKey(scHealthy, libQ), seqKey(scHealthy, libR), seqKey(scHealthy, libQFence), seqKey(scHealthy, libFloor),
		seqKey(scSlow, libQ), seqKey(scSlow, libR), seqKey(scProxied, libQ), seqKey(scFrozen, libQ), seqKey(scFrozen, libR),
	} {
		rs := res.sequential[k]
		if len(rs) != 1 {
			t.Errorf("%s: %d results, want 1", k, len(rs))
			continue
		}
		if r := rs[0]; r.pairs == 0 || r.p50 <= 0 || r.p50 > r.p99 || r.rate <= 0 {
			t.Errorf("%s: %d pairs, p50 %v, p99 %v, %.1f/s; want pairs and 0 < p50 <= p99", k, r.pairs, r.p50, r.p99, r.rate)
		}
	}
	for _, lib := range []string{libQ, libR} {
		// redsync's pools must open connections for 32 goroutines;
		// quorumlock pipelines them over the few it has.
		wantDials := lib == libR
		if ps := res.par[lib]; len(ps) != 1 || ps[0].cycles == 0 || ps[0].cpuPerCycle <= 0 || ps[0].dials < 0 || (wantDials && ps[0].dials == 0) {
			t.Errorf("parallel %s: %d runs; want one with cycles, CPU per cycle and connections opened", lib, len(ps))
		}
		if cs := res.cont[lib]; len(cs) != 1 || cs[0].grants == 0 || cs[0].fewest > cs[0].most || cs[0].p50 <= 0 ||
			cs[0].held < holdFor || cs[0].between <= 0 {
			t.Errorf("contended %s: %d runs; want one with grants, fewest <= most, a wait, holds of at least %v and time between them",
				lib, len(cs), holdFor)
		}
	}
	for _, lib := range []string{libQ, libR, libQFence} {
		if as := res.allocs[lib]; len(as) != 1 || as[0].allocs <= 0 || as[0].dials < 0 {
			t.Errorf("allocations %s: %d runs; want one with allocations and connections counted", lib, len(as))
		}
	}

	var buf bytes.Buffer
	writeReport(&buf, res, "cd bench && go run .")
	for i := 1; i <= 8; i++ {
		if !strings.Contains(buf.String(), fmt.Sprintf("| %d. ", i)) {
			t.Errorf("the table has no row for scenario %d", i)
		}
	}
	for _, addr := range res.addrs {
		if err := ping(context.Background(), addr, time.Second); err == nil {
			t.Errorf("redis-server on %s still answers after the run", addr)
		}
	}
}
