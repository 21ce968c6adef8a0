package redlock_test

import (
	"context"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/redlock"
)

// BenchmarkLockUnlock measures one TryLock and one Unlock over five real
// redis-server processes on loopback.
func BenchmarkLockUnlock(b *testing.B) {
	nodes := redisServers(b, 5)
	client, err := redlock.New(nodes)
	require.NoError(b, err)
	defer client.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		l, err := client.TryLock(ctx, "bench")
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Unlock(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// delayPool adds a fixed delay before every command of one node.
type delayPool struct {
	inner redlock.Pool
	delay time.Duration
}

func (p delayPool) GetContext(ctx context.Context) (redis.Conn, error) {
	conn, err := p.inner.GetContext(ctx)
	if err != nil {
		return nil, err
	}
	return delayConn{conn, p.delay}, nil
}

type delayConn struct {
	redis.Conn
	delay time.Duration
}

func (c delayConn) DoWithTimeout(timeout time.Duration, cmd string, args ...any) (any, error) {
	time.Sleep(c.delay)
	return redis.DoWithTimeout(c.Conn, timeout-c.delay, cmd, args...)
}

func (c delayConn) ReceiveWithTimeout(timeout time.Duration) (any, error) {
	return redis.ReceiveWithTimeout(c.Conn, timeout)
}

// BenchmarkLockUnlock_unevenNodes runs TryLock and Unlock over five real
// servers that answer 0, 1, 2, 10 and 20 ms late. Returning on a majority,
// each call costs about the 3rd-fastest node's 2 ms, so a pair costs about
// 4 ms; waiting for the slowest would cost 40 ms.
func BenchmarkLockUnlock_unevenNodes(b *testing.B) {
	servers := redisServers(b, 5)
	delays := []time.Duration{0, time.Millisecond, 2 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond}
	var nodes []*redlock.Node
	for i, n := range servers {
		addr := n.Addr()
		pool := &redis.Pool{MaxIdle: 16, DialContext: func(ctx context.Context) (redis.Conn, error) {
			return redis.DialContext(ctx, "tcp", addr)
		}}
		defer pool.Close()
		node, err := redlock.NewNode(addr, delayPool{pool, delays[i]})
		require.NoError(b, err)
		nodes = append(nodes, node)
	}
	client, err := redlock.New(nodes, redlock.WithNodeTimeout(100*time.Millisecond))
	require.NoError(b, err)
	defer client.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		l, err := client.TryLock(ctx, "bench-uneven")
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Unlock(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
