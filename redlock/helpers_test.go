package redlock_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/redlock"
)

// cluster is n in-process Redis servers, each behind a fault-injecting pool.
type cluster struct {
	servers []*miniredis.Miniredis
	faults  []*faultPool
	nodes   []*redlock.Node
}

func newCluster(tb testing.TB, n int) *cluster {
	tb.Helper()
	c := &cluster{}
	for range n {
		s := miniredis.RunT(tb)
		addr := s.Addr()
		pool := &redis.Pool{
			MaxIdle: 64,
			DialContext: func(ctx context.Context) (redis.Conn, error) {
				return redis.DialContext(ctx, "tcp", addr)
			},
		}
		tb.Cleanup(func() { _ = pool.Close() })
		fp := &faultPool{inner: pool}
		node, err := redlock.NewNode(addr, fp)
		require.NoError(tb, err)
		c.servers = append(c.servers, s)
		c.faults = append(c.faults, fp)
		c.nodes = append(c.nodes, node)
	}
	return c
}

// client returns a client on the cluster whose background work is waited for
// when the test ends, before goleak looks.
func (c *cluster) client(tb testing.TB, opts ...redlock.Option) *redlock.Client {
	tb.Helper()
	cl, err := redlock.New(c.nodes, opts...)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = cl.Close() })
	return cl
}

// holders returns the indexes of servers on which key holds value.
func (c *cluster) holders(key, value string) []int {
	var idx []int
	for i, s := range c.servers {
		if v, err := s.Get(key); err == nil && v == value {
			idx = append(idx, i)
		}
	}
	return idx
}

// keys returns the indexes of servers on which key exists at all.
func (c *cluster) keys(key string) []int {
	var idx []int
	for i, s := range c.servers {
		if s.Exists(key) {
			idx = append(idx, i)
		}
	}
	return idx
}

// fastForward moves every server's expiry clock forward by d.
func (c *cluster) fastForward(d time.Duration) {
	for _, s := range c.servers {
		s.FastForward(d)
	}
}

var errDown = errors.New("injected: node down")

// faultPool wraps a pool to make its node fail or answer late.
type faultPool struct {
	inner *redis.Pool

	mu   sync.Mutex
	down bool          // every command fails with errDown
	gate chan struct{} // if not nil, replies wait until it is closed or the timeout passes
	sent chan string   // if not nil, receives each command name as it is sent
}

func (p *faultPool) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
}

// hold makes replies wait until the returned func is called.
func (p *faultPool) hold() (release func()) {
	gate := make(chan struct{})
	p.mu.Lock()
	p.gate = gate
	p.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(gate) }) }
}

func (p *faultPool) GetContext(ctx context.Context) (redis.Conn, error) {
	p.mu.Lock()
	down, gate := p.down, p.gate
	p.mu.Unlock()
	if down {
		return nil, errDown
	}
	conn, err := p.inner.GetContext(ctx)
	if err != nil {
		return nil, err
	}
	return &faultConn{Conn: conn, gate: gate}, nil
}

// faultConn runs each command at once and delays its reply until its gate
// opens, like a node whose answers are slow; if the timeout passes first it
// returns a timeout error, as a real connection would, and the command has
// still been executed: a late grant.
type faultConn struct {
	redis.Conn
	gate chan struct{}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "injected: i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func (c *faultConn) DoWithTimeout(timeout time.Duration, cmd string, args ...any) (any, error) {
	reply, err := redis.DoWithTimeout(c.Conn, timeout, cmd, args...)
	if c.gate == nil {
		return reply, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.gate:
		return reply, err
	case <-t.C:
		return nil, timeoutErr{}
	}
}

func (c *faultConn) ReceiveWithTimeout(timeout time.Duration) (any, error) {
	return redis.ReceiveWithTimeout(c.Conn, timeout)
}
