//go:build unix

package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Ten processes started at once each increment a number in a file with a
// read, a pause and a write: only mutual exclusion makes the total ten.
func TestRun_contention(t *testing.T) {
	tn := startNodes(t, 5)
	counter := filepath.Join(t.TempDir(), "counter")
	require.NoError(t, os.WriteFile(counter, []byte("0\n"), 0o644))
	runContentionOn(t, append(tn.env(), "COUNTER="+counter), "counter", counter, 10)
	assert.Empty(t, tn.holding("counter"), "every release removed the keys")
}

// runContentionOn starts n redlock run processes at once, each taking the
// lock name to increment the number in counter, and checks that the number
// is n at the end.
func runContentionOn(t *testing.T, env []string, name, counter string, n int) {
	t.Helper()
	const increment = `n=$(cat "$COUNTER"); sleep 0.1; echo $((n + 1)) > "$COUNTER"`
	results := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		cmd, stdout, stderr := command(t, env, "run", "--wait", "30s", "--ttl", "5s", name, "--", "sh", "-c", increment)
		wg.Go(func() {
			<-start
			began := time.Now()
			if err := cmd.Start(); err != nil {
				results[i] = result{code: -1, stderr: err.Error()}
				return
			}
			_ = cmd.Wait()
			results[i] = result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String(), took: time.Since(began)}
		})
	}
	close(start)
	wg.Wait()
	for i, r := range results {
		assert.Equal(t, 0, r.code, "process %d: %s", i, r.stderr)
	}
	got, err := os.ReadFile(counter)
	require.NoError(t, err)
	assert.Equal(t, strconv.Itoa(n), strings.TrimSpace(string(got)))
}

// The program's exit status is passed through, 128+N if signal N killed
// it, and it sees the lock's name and fingerprint.
func TestRun_exitStatus(t *testing.T) {
	tn := startNodes(t, 5)
	tests := []struct {
		name   string
		script string
		code   int
		stdout *regexp.Regexp
	}{
		{name: "success", script: `echo "$REDLOCK_NAME $REDLOCK_FINGERPRINT"`, code: 0,
			stdout: regexp.MustCompile(`^job [0-9a-f]{8}\n$`)},
		{name: "failure", script: "exit 7", code: 7},
		{name: "killed by SIGTERM", script: "kill -TERM $$", code: 128 + int(syscall.SIGTERM)},
		{name: "killed by SIGKILL", script: "kill -KILL $$", code: 128 + int(syscall.SIGKILL)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runInProcess(tn.env(), "run", "job", "--", "sh", "-c", tt.script)
			assert.Equal(t, tt.code, r.code, "stderr: %s", r.stderr)
			assert.Empty(t, r.stderr)
			if tt.stdout != nil {
				assert.Regexp(t, tt.stdout, r.stdout)
			}
			assert.Empty(t, tn.holding("job"), "released")
		})
	}
}

func TestRun_notObtained(t *testing.T) {
	tn := startNodes(t, 5)
	for _, s := range tn.servers[:3] {
		require.NoError(t, s.Set("busy", "another owner's token"))
	}
	marker := filepath.Join(t.TempDir(), "ran")
	for _, wait := range []time.Duration{0, 300 * time.Millisecond} {
		t.Run(fmt.Sprintf("wait %v", wait), func(t *testing.T) {
			r := runBinary(t, tn.env(), "run", "--wait", wait.String(), "busy", "--", "touch", marker)
			assert.Equal(t, exitNotObtained, r.code, "stderr: %s", r.stderr)
			assert.Regexp(t, `^redlock: lock "busy" not obtained, nothing was run: redlock: not obtained: "busy": [0-2] of 5 nodes granted it, 3 needed: .*held by another owner`, r.stderr)
			assert.NoFileExists(t, marker)
			assert.GreaterOrEqual(t, r.took, wait)
			for _, s := range tn.servers[:3] {
				v, err := s.Get("busy")
				require.NoError(t, err)
				assert.Equal(t, "another owner's token", v, "the other owner's keys are untouched")
			}
			assert.Len(t, tn.holding("busy"), 3, "the attempt's own keys were undone")
		})
	}
	t.Run("quiet", func(t *testing.T) {
		r := runBinary(t, tn.env(), "run", "--quiet", "busy", "--", "touch", marker)
		assert.Equal(t, exitNotObtained, r.code)
		assert.Empty(t, r.stderr)
		assert.NoFileExists(t, marker)
	})
	t.Run("nodes down", func(t *testing.T) {
		tn := startNodes(t, 5)
		for _, s := range tn.servers[:3] {
			s.Close()
		}
		r := runBinary(t, tn.env(), "run", "x", "--", "touch", marker)
		assert.Equal(t, exitNotObtained, r.code, "stderr: %s", r.stderr)
		assert.Contains(t, r.stderr, "connection refused")
		assert.NoFileExists(t, marker)
	})
}

// When the lock is lost, the program (its whole process group) gets
// SIGTERM, then SIGKILL after the grace period, and redlock exits 76.
func TestRun_lost(t *testing.T) {
	// The program records that it started and which signal stopped it;
	// its child sleep is in the same process group.
	const trapping = `trap 'echo TERM > "$DIR/signal"; exit 143' TERM; echo started > "$DIR/started"; sleep 30 & wait`
	const ignoring = `trap '' TERM; echo started > "$DIR/started"; sleep 30`
	tests := []struct {
		name   string
		script string
		lose   func(tn *testNodes)
		reason string // in the message
		killed bool   // by SIGKILL after the grace period
	}{
		{name: "keys deleted", script: trapping, reason: "nodes no longer hold its token",
			lose: func(tn *testNodes) {
				for _, s := range tn.servers {
					s.Del("job")
				}
			}},
		{name: "majority of nodes down", script: trapping, reason: "not renewed within",
			lose: func(tn *testNodes) {
				for _, s := range tn.servers[:3] {
					s.Close()
				}
			}},
		{name: "program ignores SIGTERM", script: ignoring, reason: "nodes no longer hold its token", killed: true,
			lose: func(tn *testNodes) {
				for _, s := range tn.servers {
					s.Del("job")
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := startNodes(t, 5)
			dir := t.TempDir()
			const grace = 500 * time.Millisecond
			cmd, stdout, stderr := command(t, append(tn.env(), "DIR="+dir),
				"run", "--ttl", "1s", "--grace", grace.String(), "job", "--", "sh", "-c", tt.script)
			start := time.Now()
			require.NoError(t, cmd.Start())
			waitFile(t, filepath.Join(dir, "started"))
			require.Len(t, tn.holding("job"), 5)
			lostAt := time.Now()
			tt.lose(tn)
			r := wait(t, cmd, stdout, stderr, start)

			assert.Equal(t, exitLost, r.code, "stderr: %s", r.stderr)
			assert.Regexp(t, `^redlock: lock "job" lost: redlock: lock lost: "job": .*`+tt.reason, r.stderr)
			assert.Contains(t, r.stderr, "SIGTERM now, SIGKILL in 500ms")
			if tt.killed {
				assert.GreaterOrEqual(t, time.Since(lostAt), grace, "SIGKILL only after the grace period")
				assert.Less(t, time.Since(lostAt), 20*time.Second, "killed, not left to finish its 30s sleep")
				assert.NoFileExists(t, filepath.Join(dir, "signal"))
			} else {
				assert.Equal(t, "TERM\n", waitFile(t, filepath.Join(dir, "signal")))
				assert.Less(t, time.Since(lostAt), 5*time.Second)
			}
		})
	}
}

// SIGINT and SIGTERM sent to redlock reach the program, whose status
// redlock returns after releasing the lock.
func TestRun_forwardsSignals(t *testing.T) {
	tn := startNodes(t, 5)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			script := fmt.Sprintf(`trap 'kill $! 2>/dev/null; echo %d > "$DIR/signal"; exit 3' %s; echo started > "$DIR/started"; sleep 30 & wait`,
				sig, strings.TrimPrefix(signame(sig), "SIG"))
			cmd, stdout, stderr := command(t, append(tn.env(), "DIR="+dir), "run", "job", "--", "sh", "-c", script)
			start := time.Now()
			require.NoError(t, cmd.Start())
			waitFile(t, filepath.Join(dir, "started"))
			require.NoError(t, cmd.Process.Signal(sig))
			r := wait(t, cmd, stdout, stderr, start)
			assert.Equal(t, 3, r.code, "stderr: %s", r.stderr)
			assert.Equal(t, fmt.Sprintf("%d\n", sig), waitFile(t, filepath.Join(dir, "signal")))
			assert.Empty(t, tn.holding("job"), "released; stderr: %s", r.stderr)
		})
	}
	t.Run("while waiting", func(t *testing.T) {
		for _, s := range tn.servers {
			require.NoError(t, s.Set("busy", "another owner's token"))
		}
		commands := func() (n int) {
			for _, s := range tn.servers {
				n += s.CommandCount()
			}
			return n
		}
		before := commands()
		cmd, stdout, stderr := command(t, tn.env(), "run", "--wait", "30s", "busy", "--", "true")
		start := time.Now()
		require.NoError(t, cmd.Start())
		// Once it tries the lock, it has set up its signal handling.
		require.Eventually(t, func() bool { return commands() > before }, 10*time.Second, 5*time.Millisecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
		r := wait(t, cmd, stdout, stderr, start)
		assert.Equal(t, 128+int(syscall.SIGINT), r.code, "stderr: %s", r.stderr)
		assert.Contains(t, r.stderr, `redlock run: interrupted by interrupt while waiting for "busy"; nothing was run`)
		assert.Less(t, r.took, 10*time.Second)
	})
}

func signame(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}

// A program that ran while the lock was lost, unnoticed until the release,
// makes redlock exit 76 if it succeeded; a failure keeps its own status.
func TestRun_notHeldAtRelease(t *testing.T) {
	for _, tt := range []struct {
		exit, code int
	}{{0, exitLost}, {5, 5}} {
		t.Run(fmt.Sprintf("program exits %d", tt.exit), func(t *testing.T) {
			tn := startNodes(t, 5)
			dir := t.TempDir()
			script := fmt.Sprintf(`echo started > "$DIR/started"; while [ ! -e "$DIR/go" ]; do sleep 0.01; done; exit %d`, tt.exit)
			cmd, stdout, stderr := command(t, append(tn.env(), "DIR="+dir), "run", "--ttl", "10s", "job", "--", "sh", "-c", script)
			start := time.Now()
			require.NoError(t, cmd.Start())
			waitFile(t, filepath.Join(dir, "started"))
			for _, s := range tn.servers {
				s.Del("job") // long before the first renewal, at ttl/3
			}
			require.NoError(t, os.WriteFile(filepath.Join(dir, "go"), nil, 0o644))
			r := wait(t, cmd, stdout, stderr, start)
			assert.Equal(t, tt.code, r.code, "stderr: %s", r.stderr)
			assert.Contains(t, r.stderr, `redlock: lock "job" was not held by a quorum when the program exited; it may have run unprotected: redlock: lock not held: "job": `)
		})
	}
}

// A node that accepts connections and never answers, one of five, costs
// the command nothing once a quorum has confirmed the release: it exits
// without waiting on the frozen node for the node timeout, half an hour
// here. (The ttl stays below the servers' uptime, an hour, less the
// restart quarantine's drift allowance, so that their grants count.)
func TestRun_frozenNodeDoesNotDelayExit(t *testing.T) {
	tn := startNodes(t, 4)
	frozen := freeze(t)
	env := append(environ(), nodesEnv+"="+tn.urls+",redis://"+frozen.addr())
	done := make(chan result, 1)
	go func() {
		done <- runInProcess(env, "run", "--ttl", "50m", "--node-timeout", "30m", "job", "--", "true")
	}()
	select {
	case r := <-done:
		assert.Equal(t, 0, r.code, "stderr: %s", r.stderr)
		assert.Empty(t, tn.holding("job"), "released on the four nodes that answer")
	case <-time.After(time.Minute):
		frozen.close() // fails the calls waiting on it, so that the command ends
		r := <-done
		t.Fatalf("redlock run with one of five nodes frozen did not exit within a minute of starting "+
			"(it waited on the frozen node for its node timeout, 30m); once unfrozen it exited %d: %s", r.code, r.stderr)
	}
}

// A frozenNode accepts connections and reads what is sent, but never
// answers, as a Redis stopped with SIGSTOP behind a listening socket
// would.
type frozenNode struct {
	ln     net.Listener
	wg     sync.WaitGroup
	once   sync.Once
	mu     sync.Mutex
	conns  []net.Conn
	closed bool
}

// freeze starts a frozen node on 127.0.0.1, closed when t ends.
func freeze(t *testing.T) *frozenNode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f := &frozenNode{ln: ln}
	f.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed
			}
			f.mu.Lock()
			if f.closed {
				_ = c.Close()
			}
			f.conns = append(f.conns, c)
			f.mu.Unlock()
			f.wg.Go(func() { _, _ = io.Copy(io.Discard, c) })
		}
	})
	t.Cleanup(f.close)
	return f
}

func (f *frozenNode) addr() string { return f.ln.Addr().String() }

// close stops listening, closes the connections and waits for the
// goroutines that served them.
func (f *frozenNode) close() {
	f.once.Do(func() {
		_ = f.ln.Close()
		f.mu.Lock()
		f.closed = true
		for _, c := range f.conns {
			_ = c.Close()
		}
		f.mu.Unlock()
		f.wg.Wait()
	})
}
