package redlock_test

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/redlock"
	"github.com/quorumlock/quorumlock/redlock/observe"
)

// BenchmarkLockUnlock_observed is BenchmarkLockUnlock with every Metrics
// func set, each adding to a counter, and a logger that takes Info and
// above, as in production: what observing costs on the happy path.
func BenchmarkLockUnlock_observed(b *testing.B) {
	nodes := redisServers(b, 5)
	var n atomic.Int64
	m := observe.Metrics{
		Attempt:     func(context.Context, string, observe.AttemptOutcome) { n.Add(1) },
		Acquire:     func(context.Context, string, bool, int, time.Duration) { n.Add(1) },
		Extend:      func(context.Context, string, observe.Outcome) { n.Add(1) },
		Lost:        func(context.Context, string, observe.LossCause) { n.Add(1) },
		Release:     func(context.Context, string, observe.Outcome) { n.Add(1) },
		NodeError:   func(context.Context, string, observe.Op, observe.ErrorClass) { n.Add(1) },
		NodeLatency: func(context.Context, string, observe.Op, time.Duration) { n.Add(1) },
	}
	logger := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	client, err := redlock.New(nodes, append(benchOptions, redlock.WithMetrics(m), redlock.WithLogger(logger))...)
	require.NoError(b, err)
	defer client.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		l, err := client.TryLock(ctx, "bench-observed")
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Unlock(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
