package otel_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/quorumlock/quorumlock/clock"
	"github.com/quorumlock/quorumlock/internal/testcluster"
	"github.com/quorumlock/quorumlock/otel"
	"github.com/quorumlock/quorumlock/redlock"
)

// meter is a MeterProvider whose measurements a test collects at will.
type meter struct {
	reader   *sdkmetric.ManualReader
	provider *sdkmetric.MeterProvider
}

func newMeter(t *testing.T) *meter {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	m := &meter{reader: reader, provider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))}
	t.Cleanup(func() { _ = m.provider.Shutdown(context.Background()) })
	return m
}

// A point is what one instrument recorded under one attribute set: a
// counter's sum or a histogram's count.
type point struct {
	unit  string
	value int64
}

// collect returns the adapter's instruments' points, by instrument name and
// attribute set (encoded as k=v,k=v in key order).
func (m *meter) collect(t *testing.T) map[string]map[string]point {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, m.reader.Collect(context.Background(), &rm))
	out := map[string]map[string]point{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otel.ScopeName {
			continue
		}
		for _, mt := range sm.Metrics {
			points := map[string]point{}
			switch data := mt.Data.(type) {
			case metricdata.Sum[int64]:
				assert.True(t, data.IsMonotonic, "%s is a counter", mt.Name)
				for _, dp := range data.DataPoints {
					points[dp.Attributes.Encoded(attribute.DefaultEncoder())] = point{mt.Unit, dp.Value}
				}
			case metricdata.Histogram[float64]:
				for _, dp := range data.DataPoints {
					points[dp.Attributes.Encoded(attribute.DefaultEncoder())] = point{mt.Unit, int64(dp.Count)}
				}
			default:
				t.Errorf("%s: unexpected aggregation %T", mt.Name, mt.Data)
			}
			out[mt.Name] = points
		}
	}
	return out
}

// values returns the points' values, without their unit, which must be unit.
func values(t *testing.T, points map[string]point, unit string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for attrs, p := range points {
		assert.Equal(t, unit, p.unit, "unit of the point %s", attrs)
		out[attrs] = p.value
	}
	return out
}

// TestNew runs a client through a node down, a lock lost, a release left
// unknown and contention, and checks every instrument's points.
func TestNew(t *testing.T) {
	tc := testcluster.New(t, testcluster.Options{Servers: 5})
	mt := newMeter(t)
	m, err := otel.New(mt.provider)
	require.NoError(t, err)
	fake := clock.NewFake(time.Unix(0, 0))
	client, err := redlock.New(tc.Nodes, redlock.WithMetrics(m), redlock.WithClock(fake),
		redlock.WithNodeTimeout(500*time.Millisecond))
	require.NoError(t, err)
	defer client.Close()
	ctx := context.Background()
	faults := func(i int) *testcluster.Conn { return tc.Servers[i].Conn() }
	faults(4).SetDown(true)

	a, err := client.TryLock(ctx, "a")
	require.NoError(t, err)
	require.NoError(t, a.Extend(ctx))
	fake.Advance(a.TTL()) // past its validity
	require.ErrorIs(t, a.Extend(ctx), redlock.ErrLost)
	require.NoError(t, a.Unlock(ctx), "the nodes still held it")

	b, err := client.TryLock(ctx, "b")
	require.NoError(t, err)
	require.NoError(t, client.Close())
	for _, i := range []int{1, 2, 3} {
		faults(i).SetDown(true)
	}
	require.Error(t, b.Unlock(ctx), "only node 0 answers")
	require.NoError(t, client.Close())
	for _, i := range []int{1, 2, 3} {
		faults(i).SetDown(false)
	}
	_, err = client.Lock(ctx, "b", redlock.WithRetryLimit(1))
	require.ErrorIs(t, err, redlock.ErrNotObtained, "b is still held on nodes 1 to 3")
	require.NoError(t, client.Close())

	got := mt.collect(t)
	assert.Equal(t, map[string]int64{"redlock.outcome=granted": 2, "redlock.outcome=busy": 2},
		values(t, got["redlock.lock.attempts"], "{attempt}"))
	assert.Equal(t, map[string]int64{"redlock.outcome=acquired": 2, "redlock.outcome=not_obtained": 1},
		values(t, got["redlock.lock.wait.duration"], "s"))
	assert.Equal(t, map[string]int64{"redlock.outcome=ok": 1, "redlock.outcome=lost": 1},
		values(t, got["redlock.lock.extensions"], "{extension}"))
	assert.Equal(t, map[string]int64{"redlock.loss.cause=expired": 1},
		values(t, got["redlock.lock.losses"], "{loss}"))
	assert.Equal(t, map[string]int64{"redlock.outcome=ok": 1, "redlock.outcome=unknown": 1},
		values(t, got["redlock.lock.releases"], "{release}"))

	node := func(i int) string { return "redlock.node=" + tc.Nodes[i].Addr() }
	// Node 4, down throughout: 4 attempts, 1 extension (the second found
	// the validity lapsed before asking), the releases of 2 unlocks and of
	// 2 failed attempts, 1 waiter leaving b's queue.
	want := map[string]int64{
		"error.type=refused," + node(4) + ",redlock.operation=acquire": 4,
		"error.type=refused," + node(4) + ",redlock.operation=extend":  1,
		"error.type=refused," + node(4) + ",redlock.operation=release": 4,
		"error.type=refused," + node(4) + ",redlock.operation=leave":   1,
	}
	for _, i := range []int{1, 2, 3} {
		want["error.type=refused,"+node(i)+",redlock.operation=release"] = 1
	}
	assert.Equal(t, want, values(t, got["redlock.node.errors"], "{error}"))

	durations := values(t, got["redlock.node.duration"], "s")
	for i := range 5 {
		assert.Equal(t, int64(4), durations[node(i)+",redlock.operation=acquire"], "node %d's acquire commands", i)
		assert.Equal(t, int64(1), durations[node(i)+",redlock.operation=extend"], "node %d's extend commands", i)
	}
	for attrs := range durations {
		assert.True(t, strings.HasPrefix(attrs, "redlock.node="), "a duration point without a node: %s", attrs)
	}
}

func TestWithLockName(t *testing.T) {
	tc := testcluster.New(t, testcluster.Options{Servers: 3})
	mt := newMeter(t)
	group := func(name string) string { g, _, _ := strings.Cut(name, ":"); return g }
	m, err := otel.New(mt.provider, otel.WithLockName(group))
	require.NoError(t, err)
	client, err := redlock.New(tc.Nodes, redlock.WithMetrics(m), redlock.WithNodeTimeout(500*time.Millisecond))
	require.NoError(t, err)
	defer client.Close()
	for _, name := range []string{"orders:1", "orders:2", "users:7"} {
		l, err := client.TryLock(context.Background(), name)
		require.NoError(t, err)
		require.NoError(t, l.Extend(context.Background()))
		require.NoError(t, l.Unlock(context.Background()))
	}
	require.NoError(t, client.Close())

	got := mt.collect(t)
	want := map[string]int64{"redlock.lock.name=orders,redlock.outcome=%s": 2, "redlock.lock.name=users,redlock.outcome=%s": 1}
	for instrument, outcome := range map[string]string{"redlock.lock.attempts": "granted", "redlock.lock.wait.duration": "acquired",
		"redlock.lock.extensions": "ok", "redlock.lock.releases": "ok"} {
		points := map[string]int64{}
		for attrs, p := range got[instrument] {
			points[attrs] = p.value
		}
		expect := map[string]int64{}
		for k, v := range want {
			expect[strings.Replace(k, "%s", outcome, 1)] = v
		}
		assert.Equal(t, expect, points, instrument)
	}
	for attrs := range got["redlock.node.duration"] {
		assert.NotContains(t, attrs, "redlock.lock.name", "node instruments carry no lock name")
	}
}

func TestNew_invalid(t *testing.T) {
	mt := newMeter(t)
	_, err := otel.New(nil)
	require.ErrorIs(t, err, redlock.ErrInvalidArgument)
	assert.ErrorContains(t, err, "nil MeterProvider")
	_, err = otel.New(mt.provider, otel.WithLockName(nil))
	require.ErrorIs(t, err, redlock.ErrInvalidArgument)
	assert.ErrorContains(t, err, "WithLockName: nil func")
	_, err = otel.New(mt.provider, otel.Option{})
	require.ErrorIs(t, err, redlock.ErrInvalidArgument)
	assert.ErrorContains(t, err, "option 0 is the zero Option")
}
