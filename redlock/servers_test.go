package redlock_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/redlock"
)

// redisServers starts n redis-server processes on free loopback ports, or
// skips the benchmark when Debian's redis-server is not installed. Benchmarks
// use real servers so that allocation counts are the client's alone.
func redisServers(tb testing.TB, n int) []*redlock.Node {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Skip("redis-server not installed; apt-get install redis-server")
	}
	var nodes []*redlock.Node
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(tb, err)
		addr := l.Addr().String()
		_, port, _ := net.SplitHostPort(addr)
		require.NoError(tb, l.Close())
		cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tb.TempDir())
		require.NoError(tb, cmd.Start())
		tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		node, err := redlock.ParseURL("redis://" + addr)
		require.NoError(tb, err)
		tb.Cleanup(func() { _ = node.Close() })
		waitPing(tb, addr)
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
			tb.Fatal(fmt.Errorf("redis-server at %s did not answer: %w", addr, err))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
