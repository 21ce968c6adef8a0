//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/redlock"
)

// A signal that comes once the program runs goes to the program and
// leaves the hold alone: the program carries on, exits 0 on its own, and
// the lock was held throughout.
func TestRun_signalOnceRunningKeepsHold(t *testing.T) {
	tn := startNodes(t, 5)
	dir := t.TempDir()
	script := `trap 'echo INT >> "$DIR/signals"' INT; trap 'echo TERM >> "$DIR/signals"' TERM
echo "$REDLOCK_FINGERPRINT" > "$DIR/started"
while [ ! -e "$DIR/go" ]; do sleep 0.01; done`
	cmd, stdout, stderr := command(t, append(tn.env(), "DIR="+dir), "run", "job", "--", "sh", "-c", script)
	start := time.Now()
	require.NoError(t, cmd.Start())
	fp := strings.TrimSpace(waitFile(t, filepath.Join(dir, "started")))
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	assert.Equal(t, "INT\n", waitFile(t, filepath.Join(dir, "signals")))
	st := runBinary(t, tn.env(), "status", "job")
	assert.Equal(t, exitOK, st.code, "status after the signal: %s", st.stderr)
	assert.Contains(t, st.stdout, "verdict: held by "+fp)
	require.NoError(t, writeFile(filepath.Join(dir, "go")))
	r := wait(t, cmd, stdout, stderr, start)
	assert.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	assert.Empty(t, r.stderr)
	got, err := os.ReadFile(filepath.Join(dir, "signals"))
	require.NoError(t, err)
	assert.Equal(t, "INT\n", string(got), "no SIGTERM: the hold did not end")
	assert.Empty(t, tn.holding("job"), "released")
}

// With --fence the program gets a fencing token that grows from one
// holder to the next; without it, none, even one it inherited.
func TestRun_fence(t *testing.T) {
	tn := startNodes(t, 3)
	env := append(tn.env(), "REDLOCK_FENCE=99")
	fence := func(args ...string) string {
		t.Helper()
		r := runInProcess(env, append(append([]string{"run"}, args...), "job", "--", "sh", "-c", `echo "${REDLOCK_FENCE-none}"`)...)
		require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
		return strings.TrimSpace(r.stdout)
	}
	first, err := strconv.ParseUint(fence("--fence"), 10, 64)
	require.NoError(t, err)
	second, err := strconv.ParseUint(fence("--fence"), 10, 64)
	require.NoError(t, err)
	assert.Greater(t, second, first)
	assert.Equal(t, "none", fence())
}

// With --max-hold the program is stopped when it has held the lock that
// long, and redlock exits 79.
func TestRun_maxHold(t *testing.T) {
	tn := startNodes(t, 3)
	dir := t.TempDir()
	r := runBinary(t, append(tn.env(), "DIR="+dir), "run", "--ttl", "3s", "--max-hold", "300ms", "--grace", "200ms", "job", "--",
		"sh", "-c", `trap 'echo TERM > "$DIR/signal"; exit 143' TERM; sleep 30 & wait`)
	assert.Equal(t, exitMaxHold, r.code, "stderr: %s", r.stderr)
	assert.Contains(t, r.stderr, `redlock: lock "job" held for --max-hold 300ms: redlock: maximum hold time reached`)
	assert.Contains(t, r.stderr, "SIGTERM now, SIGKILL in 200ms")
	assert.Equal(t, "TERM\n", waitFile(t, filepath.Join(dir, "signal")))
	assert.GreaterOrEqual(t, r.took, 300*time.Millisecond)
	assert.Empty(t, tn.holding("job"), "released")
}

// --verbose says, while it waits, who holds the lock and for how long
// yet; -w, -q and -v are --wait, --quiet and --verbose.
func TestRun_verbose(t *testing.T) {
	tn := startNodes(t, 5)
	const other = "another owner's token"
	for _, s := range tn.servers[:3] {
		require.NoError(t, s.Set("busy", other))
		s.SetTTL("busy", time.Minute)
	}
	marker := filepath.Join(t.TempDir(), "ran")
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- dispatch(withNodeTimeout([]string{"run", "-w", "1m", "-v", "busy", "--", "touch", marker}),
			stdio{out: &stdout, err: &stderr, env: tn.env()})
	}()
	want := "held by " + redlock.Fingerprint(other) + " on 3 of 5 nodes, for "
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), want) },
		30*time.Second, 10*time.Millisecond, "a report of the holder; stderr: %s", stderr.String())
	assert.Regexp(t, `redlock run: waiting for "busy" \([0-9.]+s so far\): held by [0-9a-f]{8} on 3 of 5 nodes, for [0-9.]+s more unless renewed\n`,
		stderr.String())
	for _, s := range tn.servers[:3] {
		s.Del("busy")
	}
	select {
	case got := <-code:
		assert.Equal(t, exitOK, got, "stderr: %s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("run did not take the lock once it was free")
	}
	assert.FileExists(t, marker)

	t.Run("not obtained", func(t *testing.T) {
		for _, s := range tn.servers[:3] {
			require.NoError(t, s.Set("busy", other))
		}
		r := runInProcess(tn.env(), "run", "-v", "busy", "--", "touch", marker+"2")
		assert.Equal(t, exitNotObtained, r.code, "stderr: %s", r.stderr)
		assert.Contains(t, r.stderr, `redlock run: "busy" is held by `+redlock.Fingerprint(other)+" on 3 of 5 nodes, with no expiry")

		r = runInProcess(tn.env(), "run", "-q", "-w", "200ms", "busy", "--", "touch", marker+"2")
		assert.Equal(t, exitNotObtained, r.code)
		assert.Empty(t, r.stderr, "quiet")
		assert.GreaterOrEqual(t, r.took, 200*time.Millisecond, "waited")
		assert.NoFileExists(t, marker+"2")
	})
}
