package main

import (
	"math/rand/v2"
	"time"
)

// The in-model fault kinds. Each faults one node for a bounded time and is
// healed by undoing it; none makes a node forget a key or steps its clock.
const (
	kindPause      = "pause"       // docker pause, then unpause: the node freezes, queued commands run late
	kindKill       = "kill"        // docker kill, then start: durable (appendfsync always), then quarantined
	kindPartition  = "partition"   // toxiproxy blackhole both ways, then removed
	kindLatency    = "latency"     // toxiproxy latency on the node's replies, with jitter
	kindResets     = "resets"      // toxiproxy resets every connection that sends
	kindClientKill = "client-kill" // CLIENT KILL TYPE normal every few hundred ms
	kindDrift      = "clock-drift" // the node's clock runs fast, within the drift factor; frozen on heal
	// Faults of one client's links, through its own proxies.
	kindLinkCut = "link-cut"         // one client's link to one node blackholed: clients see different nodes
	kindIsolate = "client-isolation" // one client's links to three nodes blackholed: it must learn it lost its lock
)

// longHolder is the client whose holds are long (see workload.workTime),
// and whom half the isolations cut off, so that they meet held locks.
const longHolder = 0

// A fault is one in-model fault of a run's schedule.
type fault struct {
	Kind    string        `json:"kind"`
	Node    int           `json:"node"`                 // counted from 0: service redis<Node+1>; -1 for an isolation
	Client  int           `json:"client"`               // link-cut, isolation: the client; -1 for node faults
	Nodes   []int         `json:"nodes,omitempty"`      // isolation: the nodes cut off
	At      time.Duration `json:"at_ns"`                // when it starts, from the start of the run
	For     time.Duration `json:"for_ns"`               // how long until it is healed
	Latency time.Duration `json:"latency_ns,omitempty"` // latency: the added delay...
	Jitter  time.Duration `json:"jitter_ns,omitempty"`  // ...give or take this
	Every   time.Duration `json:"every_ns,omitempty"`   // client-kill: between two kills
	RatePPM int64         `json:"rate_ppm,omitempty"`   // clock-drift: how much faster, in millionths
}

// planParams says what a schedule may contain.
type planParams struct {
	seed      int64
	duration  time.Duration // of the run; every fault is healed before its end
	nodes     int
	clients   int
	maxFaulty int           // nodes faulted at once, at most
	kinds     []string      // the kinds to draw from
	recovery  time.Duration // after a killed node is started: until it votes again
	ttl       time.Duration // the clients'
	driftPPM  int64         // the fastest drift
}

const (
	warmUp  = 2 * time.Second // before the first fault
	quietAt = 3 * time.Second // every fault is healed this long before the end
)

// plan draws a run's fault schedule from the seed alone: the same
// parameters give the same schedule. At no instant are more than maxFaulty
// nodes faulted, counting a killed node until recovery after its restart
// and a node one client is cut from, and no node has two faults at once.
// Isolations of a client fault no node for the others; one runs at a time.
func plan(p planParams) []fault {
	rng := rand.New(rand.NewPCG(uint64(p.seed), 0x6e656d65736973)) // "nemesis"
	span := func(lo, hi time.Duration) time.Duration {
		return lo + time.Duration(rng.Int64N(int64(hi-lo)+1)).Round(time.Millisecond)
	}
	busy := make([]time.Duration, p.nodes) // until when each node is faulted
	var isolated time.Duration             // until when a client is isolated
	var out []fault
	for t := warmUp; ; t += span(200*time.Millisecond, 2500*time.Millisecond) {
		if t > p.duration-quietAt {
			return out
		}
		var free []int
		faulty := 0
		for i, b := range busy {
			if b > t {
				faulty++
			} else {
				free = append(free, i)
			}
		}
		if len(p.kinds) == 0 {
			return nil
		}
		f := fault{Kind: p.kinds[rng.IntN(len(p.kinds))], Client: -1, At: t}
		if f.Kind == kindIsolate {
			f.Node, f.Client = -1, rng.IntN(p.clients)
			if rng.IntN(2) == 0 {
				f.Client = longHolder
			}
			f.Nodes = rng.Perm(p.nodes)[:p.nodes/2+1]
			f.For = span(p.ttl/2, 2*p.ttl)
			if t < isolated || t+f.For > p.duration-quietAt {
				continue
			}
			isolated = t + f.For
			out = append(out, f)
			continue
		}
		if faulty >= p.maxFaulty || len(free) == 0 {
			continue
		}
		f.Node = free[rng.IntN(len(free))]
		switch f.Kind {
		case kindPause:
			f.For = span(500*time.Millisecond, 6*time.Second)
		case kindKill:
			f.For = span(300*time.Millisecond, 4*time.Second)
		case kindPartition:
			f.For = span(time.Second, 8*time.Second)
		case kindLatency:
			f.For = span(2*time.Second, 10*time.Second)
			f.Latency = span(5*time.Millisecond, 400*time.Millisecond)
			f.Jitter = span(0, f.Latency/2)
		case kindResets:
			f.For = span(time.Second, 5*time.Second)
		case kindClientKill:
			f.For = span(2*time.Second, 8*time.Second)
			f.Every = span(100*time.Millisecond, 500*time.Millisecond)
		case kindDrift:
			f.For = span(5*time.Second, 20*time.Second)
			f.RatePPM = p.driftPPM/5 + rng.Int64N(p.driftPPM-p.driftPPM/5+1)
		case kindLinkCut:
			f.For = span(time.Second, 10*time.Second)
			f.Client = rng.IntN(p.clients)
		}
		if t+f.For > p.duration-quietAt {
			continue
		}
		busy[f.Node] = f.busyUntil(p.recovery)
		out = append(out, f)
	}
}

// busyUntil is when the fault stops counting against the minority bound.
func (f fault) busyUntil(recovery time.Duration) time.Duration {
	end := f.At + f.For
	if f.Kind == kindKill {
		end += recovery
	}
	return end
}

// countKinds counts the faults of each kind.
func countKinds(fs []fault) map[string]int {
	m := map[string]int{}
	for _, f := range fs {
		m[f.Kind]++
	}
	return m
}

// sortedKinds returns the kinds counted in m, in the order of allKinds.
func sortedKinds(m map[string]int) []string {
	var ks []string
	for _, k := range allKinds {
		if m[k] > 0 {
			ks = append(ks, k)
		}
	}
	return ks
}
