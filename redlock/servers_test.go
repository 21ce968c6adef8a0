package redlock_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/redlock"
)

// startRedis starts a redis-server process on a free loopback port with
// args added to its command line, and returns its address. Without
// Debian's redis-server it skips the test, unless REDLOCK_REQUIRE_REDIS=1
// (as in CI), which makes that a failure.
func startRedis(tb testing.TB, args ...string) string {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("REDLOCK_REQUIRE_REDIS") == "1" {
			tb.Fatal("redis-server not installed and REDLOCK_REQUIRE_REDIS=1: apt-get install redis-server")
		}
		tb.Skip("redis-server not installed; apt-get install redis-server")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	addr := l.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	require.NoError(tb, l.Close())
	dir := tb.TempDir()
	argv := append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--dir", dir,
		"--appendonly", "yes", "--appendfsync", "no"}, args...)
	cmd := exec.Command(bin, argv...)
	require.NoError(tb, cmd.Start())
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitPing(tb, addr)
	return addr
}

// redisServers starts n redis-server processes and returns a node for each.
// Benchmarks use real servers so that allocation counts are the client's
// alone.
func redisServers(tb testing.TB, n int) []*redlock.Node {
	tb.Helper()
	var nodes []*redlock.Node
	for range n {
		node, err := redlock.ParseURL("redis://" + startRedis(tb))
		require.NoError(tb, err)
		tb.Cleanup(func() { _ = node.Close() })
		nodes = append(nodes, node)
	}
	return nodes
}

func waitPing(tb testing.TB, addr string) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := redis.DialContext(context.Background(), "tcp", addr)
		if err == nil {
			_, err = c.Do("PING")
			_ = c.Close()
			if err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			tb.Fatal(fmt.Errorf("redis-server at %s did not answer PING within 10s: %w", addr, err))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// restartableRedis starts a redis-server with its data in an append-only
// file written on every command, and args added to its command line, and
// returns its address and a function
// that kills it (SIGKILL) and starts it again on the same port and files.
func restartableRedis(tb testing.TB, args ...string) (addr string, restart func()) {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("REDLOCK_REQUIRE_REDIS") == "1" {
			tb.Fatal("redis-server not installed and REDLOCK_REQUIRE_REDIS=1: apt-get install redis-server")
		}
		tb.Skip("redis-server not installed; apt-get install redis-server")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	addr = l.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	require.NoError(tb, l.Close())
	dir := tb.TempDir()
	var cmd *exec.Cmd
	start := func() {
		cmd = exec.Command(bin, append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--dir", dir,
			"--appendonly", "yes", "--appendfsync", "always"}, args...)...)
		require.NoError(tb, cmd.Start())
		waitPing(tb, addr)
	}
	start()
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return addr, func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		start()
	}
}
