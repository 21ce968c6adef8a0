package redlock_test

import (
	"context"
	"testing"

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
