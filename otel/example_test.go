package otel_test

import (
	"context"
	"fmt"
	"log"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/quorumlock/quorumlock/internal/testcluster"
	"github.com/quorumlock/quorumlock/otel"
	"github.com/quorumlock/quorumlock/redlock"
)

// A client's measurements on OpenTelemetry instruments, read here with a
// manual reader; a program would rather give its MeterProvider (with a
// periodic reader and an exporter), or go.opentelemetry.io/otel's global
// one. The nodes are three in-process servers.
func ExampleNew() {
	cluster, err := testcluster.Start(testcluster.Options{Servers: 3})
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()

	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(context.Background())

	metrics, err := otel.New(provider)
	if err != nil {
		log.Fatal(err)
	}
	client, err := redlock.New(cluster.Nodes, redlock.WithMetrics(metrics))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	ctx := context.Background()
	lock, err := client.Lock(ctx, "reports:daily")
	if err != nil {
		log.Fatal(err)
	}
	if err := lock.Unlock(ctx); err != nil {
		log.Fatal(err)
	}
	client.Close() // let the slower nodes' commands finish

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		log.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range data.DataPoints {
					outcome, _ := dp.Attributes.Value(otel.KeyOutcome)
					fmt.Printf("%s %s=%s: %d\n", m.Name, otel.KeyOutcome, outcome.AsString(), dp.Value)
				}
			case metricdata.Histogram[float64]:
				if m.Name == "redlock.node.duration" {
					acquires := uint64(0) // one per node
					for _, dp := range data.DataPoints {
						if op, _ := dp.Attributes.Value(otel.KeyOperation); op.AsString() == "acquire" {
							acquires += dp.Count
						}
					}
					fmt.Printf("%s, acquire: %d recorded, in %s\n", m.Name, acquires, m.Unit)
					continue
				}
				fmt.Printf("%s: %d recorded, in %s\n", m.Name, data.DataPoints[0].Count, m.Unit)
			}
		}
	}
	// Output:
	// redlock.lock.attempts redlock.outcome=granted: 1
	// redlock.lock.wait.duration: 1 recorded, in s
	// redlock.lock.releases redlock.outcome=ok: 1
	// redlock.node.duration, acquire: 3 recorded, in s
}
