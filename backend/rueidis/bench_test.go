package rueidis_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/rueidis"

	qrueidis "github.com/quorumlock/quorumlock/backend/rueidis"
	"github.com/quorumlock/quorumlock/redlock"
	"github.com/quorumlock/quorumlock/redlocktest"
)

// BenchmarkLockUnlock measures one TryLock and one Unlock over five real
// redis-server processes on loopback, as redlock's benchmark of the same
// name does for redigo, with rueidis's defaults.
func BenchmarkLockUnlock(b *testing.B) {
	var nodes []*redlock.Node
	for range 5 {
		addr := redlocktest.RedisServer(b)
		rc, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, ForceSingleClient: true})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(rc.Close)
		conn, err := qrueidis.New(rc)
		if err != nil {
			b.Fatal(err)
		}
		node, err := redlock.NewNode(addr, conn)
		if err != nil {
			b.Fatal(err)
		}
		nodes = append(nodes, node)
	}
	// A node timeout far above the default keeps a busy machine from failing
	// the loop; it changes no allocation.
	client, err := redlock.New(nodes, append(redlocktest.LibraryOptions, redlock.WithNodeTimeout(2*time.Second))...)
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	// TryLock returns on a majority and Unlock too, so a slow node may still
	// hold the previous lock for a moment: the loop takes turns among names,
	// made beforehand, as a busy machine can make that a majority.
	names := make([]string, 64)
	for i := range names {
		names[i] = "bench-" + strconv.Itoa(i)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l, err := client.TryLock(ctx, names[i%len(names)])
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Unlock(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
