package main

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testPlan(seed int64, kinds []string) planParams {
	return planParams{seed: seed, duration: 20 * time.Minute, nodes: 5, clients: 8, maxFaulty: 2, kinds: kinds,
		recovery: 6 * time.Second, ttl: 5 * time.Second, driftPPM: 5000}
}

func TestPlan_seeded(t *testing.T) {
	a := plan(testPlan(3, allKinds))
	assert.Equal(t, a, plan(testPlan(3, allKinds)), "the same seed gives the same schedule")
	assert.NotEqual(t, a, plan(testPlan(4, allKinds)), "another seed, another schedule")
	require.Greater(t, len(a), 100, "a 20-minute schedule")
	kinds := countKinds(a)
	for _, k := range allKinds {
		assert.Positive(t, kinds[k], "kind %s drawn", k)
	}
}

// TestPlan_bounds checks the fault model at every instant a fault starts
// or ends: at most two nodes faulted, one fault per node, one isolated
// client, each fault healed before the run's end.
func TestPlan_bounds(t *testing.T) {
	for seed := range int64(20) {
		p := testPlan(seed, allKinds)
		fs := plan(p)
		var instants []time.Duration
		for _, f := range fs {
			instants = append(instants, f.At, f.busyUntil(p.recovery)-1)
			assert.LessOrEqual(t, f.At+f.For, p.duration-quietAt, "seed %d: %s healed before the end", seed, f.Kind)
			assert.GreaterOrEqual(t, f.At, warmUp, "seed %d", seed)
			assert.Positive(t, f.For)
			switch f.Kind {
			case kindDrift:
				assert.True(t, f.RatePPM >= 1000 && f.RatePPM <= 5000, "seed %d: drift %d ppm", seed, f.RatePPM)
			case kindLatency:
				assert.Positive(t, f.Latency)
				assert.LessOrEqual(t, f.Jitter, f.Latency/2)
			case kindClientKill:
				assert.Positive(t, f.Every)
			case kindLinkCut:
				assert.True(t, f.Client >= 0 && f.Client < p.clients, "seed %d: client %d", seed, f.Client)
			case kindIsolate:
				assert.True(t, f.Client >= 0 && f.Client < p.clients, "seed %d: client %d", seed, f.Client)
				assert.Len(t, f.Nodes, 3, "seed %d: isolated from a majority", seed)
				assert.Equal(t, -1, f.Node)
			}
			if f.Kind != kindIsolate && f.Kind != kindLinkCut {
				assert.Equal(t, -1, f.Client, "seed %d: a node fault names no client", seed)
			}
		}
		for _, at := range instants {
			perNode, isolated := map[int]int{}, 0
			for _, f := range fs {
				if f.At <= at && at < f.busyUntil(p.recovery) {
					if f.Kind == kindIsolate {
						isolated++
					} else {
						perNode[f.Node]++
					}
				}
			}
			require.LessOrEqual(t, len(perNode), 2, "seed %d, at %v: nodes faulted at once", seed, at)
			require.LessOrEqual(t, isolated, 1, "seed %d, at %v: clients isolated at once", seed, at)
			for node, n := range perNode {
				require.Equal(t, 1, n, "seed %d, at %v: faults on node %d at once", seed, at, node)
			}
		}
	}
}

func TestPlan_kinds(t *testing.T) {
	fs := plan(testPlan(1, []string{kindPause, kindKill}))
	require.NotEmpty(t, fs)
	for _, f := range fs {
		assert.True(t, slices.Contains([]string{kindPause, kindKill}, f.Kind), "kind %s", f.Kind)
	}
	assert.Empty(t, plan(testPlan(1, nil)), "no kinds, no faults")
	short := testPlan(1, allKinds)
	short.duration = 4 * time.Second
	assert.Empty(t, plan(short), "too short for a fault to end before the quiet end")
}

func TestFormatKinds(t *testing.T) {
	assert.Equal(t, "pause 2, clock-drift 1", formatKinds(map[string]int{kindDrift: 1, kindPause: 2, kindKill: 0}))
	assert.Equal(t, "none", formatKinds(nil))
}
