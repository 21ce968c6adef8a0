package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gomodule/redigo/redis"
)

// errNoRedis: redis-server is not on PATH.
var errNoRedis = errors.New("redis-server not found on PATH (Debian: apt-get install redis-server)")

// A server is one redis-server process that the program started.
type server struct {
	addr string
	pid  int
}

// startServers starts n redis-server processes on free loopback ports,
// each with an append-only file (appendfsync everysec) in a folder under
// dir, and waits until each answers PING.
func startServers(ctx context.Context, r *reaper, n int, dir string) ([]*server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errNoRedis
	}
	var servers []*server
	for i := range n {
		var s *server
		// A port found free can be taken before the server binds it: retry.
		for try := 1; ; try++ {
			s, err = startServer(ctx, r, bin, fmt.Sprintf("%s/node%d-%d", dir, i+1, try))
			if err == nil || try == 3 || ctx.Err() != nil {
				break
			}
		}
		if err != nil {
			return servers, fmt.Errorf("node %d: %w", i+1, err)
		}
		servers = append(servers, s)
	}
	return servers, nil
}

func startServer(ctx context.Context, r *reaper, bin, dir string) (*server, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	if err := l.Close(); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--dir", dir, "--save", "",
		"--appendonly", "yes", "--appendfsync", "everysec", "--daemonize", "no")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := r.start(cmd); err != nil {
		return nil, fmt.Errorf("starting redis-server: %w", err)
	}
	s := &server{addr: addr, pid: cmd.Process.Pid}
	if err := waitPing(ctx, r, s, 10*time.Second); err != nil {
		r.stop(s.pid, syscall.SIGKILL, time.Second)
		return nil, err
	}
	return s, nil
}

// waitPing waits until s answers PING within 200 ms, for at most bound.
func waitPing(ctx context.Context, r *reaper, s *server, bound time.Duration) error {
	deadline := time.Now().Add(bound)
	for {
		err := ping(ctx, s.addr, 200*time.Millisecond)
		if err == nil {
			return nil
		}
		if r.exited(s.pid) {
			return fmt.Errorf("redis-server on %s exited at start", s.addr)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("redis-server on %s did not answer PING within %v: %w", s.addr, bound, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ping sends one PING over a new connection, bounded by timeout.
func ping(ctx context.Context, addr string, timeout time.Duration) error {
	_, err := command(ctx, addr, timeout, "PING")
	return err
}

// command sends one command over a new connection, bounded by timeout.
func command(ctx context.Context, addr string, timeout time.Duration, cmd string, args ...any) (any, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := redis.DialContext(ctx, "tcp", addr,
		redis.DialReadTimeout(timeout), redis.DialWriteTimeout(timeout))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.Do(cmd, args...)
}

// uptime returns the server's uptime_in_seconds, as INFO reports it: the
// figure the library's restart quarantine reads.
func uptime(ctx context.Context, addr string) (time.Duration, error) {
	text, err := redis.String(command(ctx, addr, time.Second, "INFO", "server"))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(text) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "uptime_in_seconds:"); ok {
			s, err := strconv.Atoi(v)
			if err != nil {
				return 0, fmt.Errorf("INFO uptime_in_seconds %q: %w", v, err)
			}
			return time.Duration(s) * time.Second, nil
		}
	}
	return 0, errors.New("INFO reports no uptime_in_seconds")
}

// connectionsReceived returns the sum over addrs of the connections each
// server has accepted since it started (INFO total_connections_received),
// counting the connection that asked: between two calls, the servers
// accepted the difference less len(addrs) connections from others.
func connectionsReceived(ctx context.Context, addrs []string) (int64, error) {
	var sum int64
	for _, a := range addrs {
		text, err := redis.String(command(ctx, a, time.Second, "INFO", "stats"))
		if err != nil {
			return 0, fmt.Errorf("INFO stats of %s: %w", a, err)
		}
		found := false
		for line := range strings.Lines(text) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_connections_received:"); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return 0, fmt.Errorf("INFO total_connections_received %q of %s: %w", v, a, err)
				}
				sum, found = sum+n, true
			}
		}
		if !found {
			return 0, fmt.Errorf("INFO of %s reports no total_connections_received", a)
		}
	}
	return sum, nil
}

// serverVersion returns the redis_version a server reports, or "?".
func serverVersion(ctx context.Context, addr string) string {
	text, err := redis.String(command(ctx, addr, time.Second, "INFO", "server"))
	if err != nil {
		return "?"
	}
	for line := range strings.Lines(text) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return v
		}
	}
	return "?"
}

// freeze stops s with SIGSTOP and returns a function that resumes it with
// SIGCONT and waits until it answers PING again (a resumed server first
// works through what queued up while it was stopped). The function is
// called at the latest after bound, even if the caller never calls it; it
// may be called more than once.
func freeze(ctx context.Context, r *reaper, s *server, bound time.Duration) (thaw func() error, err error) {
	if err := syscall.Kill(s.pid, syscall.SIGSTOP); err != nil {
		return nil, fmt.Errorf("SIGSTOP redis-server %d: %w", s.pid, err)
	}
	cont := func() { _ = syscall.Kill(s.pid, syscall.SIGCONT) }
	safety := time.AfterFunc(bound, cont)
	return func() error {
		safety.Stop()
		cont()
		return waitPing(context.WithoutCancel(ctx), r, s, 30*time.Second)
	}, nil
}
