package redlocktest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gomodule/redigo/redis"
)

// A kind is a sort of Redis server the suite runs every check against.
type kind struct {
	name string
	// missing says why servers of this kind cannot be started here, or "".
	missing func() string
	start   func(tb testing.TB, password string) backing
}

// A backing is a running server, which the suite reads and reconfigures
// directly, not through the backend under test.
type backing interface {
	addr() string
	// get returns the value of key, and whether it exists.
	get(tb testing.TB, key string) (string, bool)
	// setPassword makes the server require password from new connections.
	setPassword(tb testing.TB, password string)
	// isReal reports whether this is a redis-server process.
	isReal() bool
	// publish publishes message on channel and returns how many
	// subscribers the server delivered it to.
	publish(tb testing.TB, channel, message string) int
	// numSub returns how many connections the server counts as
	// subscribed to channel.
	numSub(tb testing.TB, channel string) int
}

// requireRedis names the variable that makes a missing redis-server a
// failure rather than a skip.
const requireRedis = "REDLOCK_REQUIRE_REDIS"

var kinds = []kind{
	{name: "miniredis", missing: func() string { return "" }, start: startMiniredis},
	{name: "redis-server", missing: redisMissing, start: startRedis},
}

func redisMissing() string {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return "redis-server is not installed (apt-get install redis-server)"
	}
	return ""
}

type mini struct{ mr *miniredis.Miniredis }

func startMiniredis(tb testing.TB, password string) backing {
	tb.Helper()
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		tb.Fatalf("starting miniredis: %v", err)
	}
	tb.Cleanup(mr.Close)
	if password != "" {
		mr.RequireAuth(password)
	}
	return mini{mr}
}

func (m mini) addr() string { return m.mr.Addr() }
func (m mini) isReal() bool { return false }

func (m mini) get(_ testing.TB, key string) (string, bool) {
	v, err := m.mr.Get(key)
	return v, err == nil
}

func (m mini) setPassword(_ testing.TB, password string) { m.mr.RequireAuth(password) }

func (m mini) publish(_ testing.TB, channel, message string) int {
	return m.mr.Publish(channel, message)
}

func (m mini) numSub(_ testing.TB, channel string) int {
	return m.mr.PubSubNumSub(channel)[channel]
}

// A redisProc is a redis-server process on a loopback port.
type redisProc struct {
	address  string
	password string
}

// startBound bounds how long a redis-server may take to answer PING.
const startBound = 15 * time.Second

func startRedis(tb testing.TB, password string) backing {
	tb.Helper()
	var errs []error
	for range 3 { // a free port found may be taken before the server binds it
		r, err := tryRedis(tb, password)
		if err == nil {
			return r
		}
		errs = append(errs, err)
	}
	tb.Fatalf("starting redis-server: %v", errors.Join(errs...))
	return nil
}

func tryRedis(tb testing.TB, password string) (*redisProc, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	_ = l.Close()
	dir := tb.TempDir()
	// The configuration is a file, so that the password is in no process
	// listing.
	conf := fmt.Sprintf("port %s\nbind 127.0.0.1\nsave \"\"\nappendonly no\ndir %s\nlogfile \"\"\n", port, dir)
	if password != "" {
		conf += "requirepass " + password + "\n"
	}
	path := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command("redis-server", path)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	r := &redisProc{address: addr, password: password}
	deadline := time.Now().Add(startBound)
	for {
		c, err := r.dial()
		if err == nil {
			_, err = c.Do("PING")
			_ = c.Close()
			if err == nil {
				tb.Cleanup(stop)
				return r, nil
			}
		}
		select {
		case werr := <-exited:
			exited <- werr
			stop()
			return nil, fmt.Errorf("redis-server on port %s exited: %v", port, werr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("redis-server on port %s did not answer PING within %v: %v", port, startBound, err)
		}
	}
}

func (r *redisProc) addr() string { return r.address }
func (r *redisProc) isReal() bool { return true }

// dial connects directly to the server, authenticated.
func (r *redisProc) dial() (redis.Conn, error) {
	return redis.Dial("tcp", r.address, redis.DialPassword(r.password),
		redis.DialConnectTimeout(5*time.Second), redis.DialReadTimeout(5*time.Second), redis.DialWriteTimeout(5*time.Second))
}

func (r *redisProc) do(tb testing.TB, cmd string, args ...any) any {
	tb.Helper()
	c, err := r.dial()
	if err != nil {
		tb.Fatalf("connecting to redis-server %s directly: %v", r.address, err)
	}
	defer c.Close()
	reply, err := c.Do(cmd, args...)
	if err != nil {
		tb.Fatalf("%s on redis-server %s directly: %v", cmd, r.address, err)
	}
	return reply
}

func (r *redisProc) get(tb testing.TB, key string) (string, bool) {
	tb.Helper()
	v, err := redis.String(r.do(tb, "GET", key), nil)
	return v, err == nil
}

func (r *redisProc) setPassword(tb testing.TB, password string) {
	tb.Helper()
	r.do(tb, "CONFIG", "SET", "requirepass", password)
	r.password = password
}

func (r *redisProc) publish(tb testing.TB, channel, message string) int {
	tb.Helper()
	n, err := redis.Int(r.do(tb, "PUBLISH", channel, message), nil)
	if err != nil {
		tb.Fatalf("PUBLISH on redis-server %s directly: %v", r.address, err)
	}
	return n
}

func (r *redisProc) numSub(tb testing.TB, channel string) int {
	tb.Helper()
	reply, err := redis.Values(r.do(tb, "PUBSUB", "NUMSUB", channel), nil)
	var n int
	if err == nil && len(reply) == 2 {
		n, err = redis.Int(reply[1], nil)
	}
	if err != nil || len(reply) != 2 {
		tb.Fatalf("PUBSUB NUMSUB on redis-server %s directly: %d values, %v", r.address, len(reply), err)
	}
	return n
}

// pubsubClients returns how many connections the server counts as in
// publish/subscribe mode.
func (r *redisProc) pubsubClients(tb testing.TB) int {
	tb.Helper()
	list, err := redis.String(r.do(tb, "CLIENT", "LIST", "TYPE", "pubsub"), nil)
	if err != nil {
		tb.Fatalf("CLIENT LIST on redis-server %s directly: %v", r.address, err)
	}
	return strings.Count(list, "\n")
}

// killPubSub closes every connection in publish/subscribe mode, and returns
// how many it closed.
func (r *redisProc) killPubSub(tb testing.TB) int {
	tb.Helper()
	n, err := redis.Int(r.do(tb, "CLIENT", "KILL", "TYPE", "pubsub"), nil)
	if err != nil {
		tb.Fatalf("CLIENT KILL on redis-server %s directly: %v", r.address, err)
	}
	return n
}

// newPassword returns a random password for a test server.
func newPassword(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		tb.Fatalf("making a password: %v", err)
	}
	return hex.EncodeToString(b)
}

// RedisServer starts a redis-server process on a free loopback port for a
// test or benchmark, stopped when tb ends, and returns its host:port. When
// redis-server is not installed it skips tb, or fails it if the environment
// variable REDLOCK_REQUIRE_REDIS is 1.
func RedisServer(tb testing.TB) string {
	tb.Helper()
	if why := redisMissing(); why != "" {
		skipMissing(tb, why)
	}
	return startRedis(tb, "").addr()
}

// skipMissing skips tb because a server cannot be started for the reason
// why, or fails it if REDLOCK_REQUIRE_REDIS is 1.
func skipMissing(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv(requireRedis) == "1" {
		tb.Fatalf("%s, and %s=1 requires it", why, requireRedis)
	}
	tb.Skipf("%s; set %s=1 to make this a failure", why, requireRedis)
}
