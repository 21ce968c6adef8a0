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
// when the test ends, before goleak looks. Its node timeout is 500ms unless
// opts say otherwise: tests about timeouts set their own, and the others
// must not fail because a loaded machine running the race detector took
// longer than the 50ms default for a round-trip.
func (c *cluster) client(tb testing.TB, opts ...redlock.Option) *redlock.Client {
	tb.Helper()
	opts = append([]redlock.Option{redlock.WithNodeTimeout(500 * time.Millisecond)}, opts...)
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

// faultPool wraps a pool to make its node fail, or execute SET late.
type faultPool struct {
	inner *redis.Pool

	mu      sync.Mutex
	down    bool          // every command fails with errDown
	gate    chan struct{} // if not nil, slowCmd waits for it to close before it runs
	slowCmd string
	sets    int // SET commands that reached the server
	evalsha int // EVALSHA commands sent, slow or not
}

func (p *faultPool) evals() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.evalsha
}

func (p *faultPool) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
}

// slowSET makes every SET on this node wait, before it reaches the server,
// until open is called; if the command's timeout passes first, it fails with
// a timeout and never runs.
func (p *faultPool) slowSET() (open func()) { return p.slow("SET") }

// slow makes every cmd on this node wait, as slowSET does for SET.
func (p *faultPool) slow(cmd string) (open func()) {
	gate := make(chan struct{})
	p.mu.Lock()
	p.gate, p.slowCmd = gate, cmd
	p.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(gate) }) }
}

func (p *faultPool) setCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sets
}

func (p *faultPool) GetContext(ctx context.Context) (redis.Conn, error) {
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		return nil, errDown
	}
	conn, err := p.inner.GetContext(ctx)
	if err != nil {
		return nil, err
	}
	return &faultConn{Conn: conn, pool: p}, nil
}

type faultConn struct {
	redis.Conn
	pool *faultPool
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "injected: i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func (c *faultConn) DoWithTimeout(timeout time.Duration, cmd string, args ...any) (any, error) {
	c.pool.mu.Lock()
	gate, slowCmd := c.pool.gate, c.pool.slowCmd
	if cmd == "EVALSHA" {
		c.pool.evalsha++
	}
	c.pool.mu.Unlock()
	if gate != nil && cmd == slowCmd {
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case <-gate:
		case <-t.C:
			return nil, timeoutErr{}
		}
	}
	if cmd == "SET" {
		c.pool.mu.Lock()
		c.pool.sets++
		c.pool.mu.Unlock()
	}
	return redis.DoWithTimeout(c.Conn, timeout, cmd, args...)
}

func (c *faultConn) ReceiveWithTimeout(timeout time.Duration) (any, error) {
	return redis.ReceiveWithTimeout(c.Conn, timeout)
}
