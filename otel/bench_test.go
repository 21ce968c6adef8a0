package otel_test

import (
	"context"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/quorumlock/quorumlock/otel"
	"github.com/quorumlock/quorumlock/redlock/observe"
)

// BenchmarkMetrics measures what a TryLock and Unlock on five nodes records
// through the adapter into the SDK: an attempt, a wait, a release and ten
// node latencies.
func BenchmarkMetrics(b *testing.B) {
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer provider.Shutdown(context.Background())
	m, err := otel.New(provider)
	if err != nil {
		b.Fatal(err)
	}
	nodes := []string{"10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379", "10.0.0.4:6379", "10.0.0.5:6379"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		m.Attempt(ctx, "bench", observe.AttemptGranted)
		m.Acquire(ctx, "bench", true, 1, time.Millisecond)
		for _, n := range nodes {
			m.NodeLatency(ctx, n, observe.OpAcquire, 300*time.Microsecond)
			m.NodeLatency(ctx, n, observe.OpRelease, 300*time.Microsecond)
		}
		m.Release(ctx, "bench", observe.OutcomeOK)
	}
}
