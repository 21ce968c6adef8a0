package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/quorumlock/quorumlock/internal/testcluster"
)

// binary is the redlock command built once for the tests that run it as a
// process of its own.
var binary string

// TestMain builds the command (with the race detector if the tests have
// it), runs the tests, and checks that none left a goroutine behind.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "redlock-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "redlock")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the redlock command: %v\n%s", err, out)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// testNodes are the in-process cluster's servers, whose keys expire in
// real time, and their URLs.
type testNodes struct {
	*testcluster.Cluster
	servers []*miniredis.Miniredis // Servers[i].Redis(), to read and change data
	urls    string                 // for --nodes and REDLOCK_NODES
}

func startNodes(t *testing.T, n int) *testNodes {
	t.Helper()
	c := testcluster.New(t, testcluster.Options{Servers: n, RealTimeTTL: true})
	tn := &testNodes{Cluster: c}
	var urls []string
	for _, s := range c.Servers {
		urls = append(urls, s.URL())
		tn.servers = append(tn.servers, s.Redis())
	}
	tn.urls = strings.Join(urls, ",")
	return tn
}

// holding returns the indexes of the servers that have key.
func (tn *testNodes) holding(key string) []int { return tn.Keys(key) }

// env is the test's environment with REDLOCK_NODES pointing at tn.
func (tn *testNodes) env() []string {
	return append(environ(), nodesEnv+"="+tn.urls)
}

// environ is the test's environment without the variables that name
// nodes, which the tests set themselves.
func environ() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, nodesEnv+"=") || strings.HasPrefix(kv, nodesFileEnv+"=")
	})
}

// result is what one redlock invocation did.
type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

// testNodeTimeout replaces the 50ms default node timeout in the tests'
// run and status commands: a loaded machine running the tests with the
// race detector can take longer than 50ms to answer, and these tests are
// about the command, not about slow nodes.
const testNodeTimeout = "--node-timeout=500ms"

// withNodeTimeout puts testNodeTimeout after a run or status subcommand; a
// --node-timeout given later in args overrides it.
func withNodeTimeout(args []string) []string {
	if len(args) > 0 && (args[0] == "run" || args[0] == "status") {
		return append([]string{args[0], testNodeTimeout}, args[1:]...)
	}
	return args
}

// runInProcess calls run with args (see withNodeTimeout), no stdin and env.
func runInProcess(env []string, args ...string) result {
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run(withNodeTimeout(args), nil, &stdout, &stderr, env)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
}

// command returns the built command with args (see withNodeTimeout) and
// env, bounded by a minute; start it, then finish it with wait.
func command(t *testing.T, env []string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, binary, withNodeTimeout(args)...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

// wait waits for a started command and returns its result.
func wait(t *testing.T, cmd *exec.Cmd, stdout, stderr *bytes.Buffer, start time.Time) result {
	t.Helper()
	err := cmd.Wait()
	if cmd.ProcessState == nil {
		require.NoError(t, err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
}

// runBinary runs the built command to completion.
func runBinary(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd, stdout, stderr := command(t, env, args...)
	start := time.Now()
	require.NoError(t, cmd.Start())
	return wait(t, cmd, stdout, stderr, start)
}

// waitFile waits up to ten seconds for path to have content, and returns
// it.
func waitFile(t *testing.T, path string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil && len(b) > 0 {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear: %v", path, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func writeFile(path string) error { return os.WriteFile(path, nil, 0o644) }

// tail is the last n lines of s, for short failure messages.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}

// A syncBuffer is a bytes.Buffer safe for one writer and readers in other
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
