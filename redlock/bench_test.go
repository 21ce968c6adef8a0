package redlock_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/backend/redigo"
	"github.com/quorumlock/quorumlock/redlock"
)

// BenchmarkLockUnlock measures one TryLock and one Unlock over five real
// redis-server processes on loopback.
func BenchmarkLockUnlock(b *testing.B) {
	nodes := redisServers(b, 5)
	client, err := redlock.New(nodes, benchOptions...)
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

// benchOptions fit servers just started: no quarantine, which would keep
// them from voting for a ttl.
var benchOptions = []redlock.ClientOption{redlock.WithQuarantine(0)}

// delayConn adds a fixed delay before every command of one node.
type delayConn struct {
	redlock.Conn
	delay time.Duration
}

func (c delayConn) EvalSHA(ctx context.Context, sha string, keys []string, args []any) (any, error) {
	time.Sleep(c.delay)
	return c.Conn.EvalSHA(ctx, sha, keys, args)
}

func (c delayConn) Eval(ctx context.Context, src string, keys []string, args []any) (any, error) {
	time.Sleep(c.delay)
	return c.Conn.Eval(ctx, src, keys, args)
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
		conn, err := redigo.Open(redigo.Options{Addr: n.Addr()})
		require.NoError(b, err)
		node, err := redlock.NewNode(n.Addr(), delayConn{conn, delays[i]})
		require.NoError(b, err)
		defer node.Close()
		nodes = append(nodes, node)
	}
	client, err := redlock.New(nodes, append(benchOptions, redlock.WithNodeTimeout(100*time.Millisecond))...)
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

// BenchmarkServerMemory_fencedNames locks and releases, with fencing, a
// distinct name per iteration on three real servers, and reports what the
// servers keep for it afterwards: server-B/name is the growth of the first
// server's used_memory per name, once every release has been answered.
// Run it with -benchtime 100000x for the figure in docs/.
func BenchmarkServerMemory_fencedNames(b *testing.B) {
	nodes := redisServers(b, 3)
	client, err := redlock.New(nodes, append(benchOptions, redlock.WithFencing(), redlock.WithNodeTimeout(2*time.Second))...)
	require.NoError(b, err)
	defer client.Close()
	ctx := context.Background()
	warm, err := client.TryLock(ctx, "warm-up") // the scripts and the node's own keys
	require.NoError(b, err)
	require.NoError(b, warm.Unlock(ctx))
	before := usedMemory(b, nodes[0].Addr())
	i := 0
	for b.Loop() {
		l, err := client.TryLock(ctx, "order-"+strconv.Itoa(i))
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Unlock(ctx); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.StopTimer()
	require.NoError(b, client.Close())
	b.ReportMetric(float64(usedMemory(b, nodes[0].Addr())-before)/float64(i), "server-B/name")
}

// usedMemory returns the server's used_memory, from INFO memory.
func usedMemory(tb testing.TB, addr string) int64 {
	tb.Helper()
	c, err := redis.Dial("tcp", addr)
	require.NoError(tb, err)
	defer c.Close()
	info, err := redis.String(c.Do("INFO", "memory"))
	require.NoError(tb, err)
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			require.NoError(tb, err)
			return n
		}
	}
	tb.Fatal("INFO memory has no used_memory")
	return 0
}
