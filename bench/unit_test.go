package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestPercentileIsNearestRank(t *testing.T) {
	xs := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{0.5, 5}, {0.99, 10}, {0.1, 1}, {1, 10}} {
		if got := percentile(xs, c.p); got != c.want {
			t.Errorf("percentile(1..10, %v) = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile(nil) = %v, want 0", got)
	}
}

func TestMedianOfOddAndEvenCounts(t *testing.T) {
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median(3,1,2) = %v, want 2", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median(4,1,3,2) = %v, want 2.5", got)
	}
}

func TestBadFlagsAreRefusedByName(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-reps", "0"}, "-reps 0"},
		{[]string{"-duration", "1ms"}, "-duration 1ms"},
		{[]string{"-pairs", "1"}, "-pairs 1"},
		{[]string{"-limit", "1s"}, "-limit 1s"},
		{[]string{"extra"}, "unexpected arguments: extra"},
	} {
		var stdout, stderr bytes.Buffer
		if code := mainErr(c.args, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2", c.args, code)
		}
		if !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: stderr %q does not name %q", c.args, stderr.String(), c.want)
		}
	}
}

// TestDelayProxyDelaysEveryRequest checks that commands through the proxy
// reach the server, in order, each no sooner than the delay.
func TestDelayProxyDelaysEveryRequest(t *testing.T) {
	requireRedis(t)
	r := newReaper()
	defer r.stopAll()
	servers, err := startServers(context.Background(), r, 1, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const delay = 30 * time.Millisecond
	p, err := startDelayProxy(servers[0].addr, delay)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	for i := range 3 {
		start := time.Now()
		reply, err := command(context.Background(), p.addr(), 5*time.Second, "ECHO", i)
		took := time.Since(start)
		if err != nil {
			t.Fatalf("ECHO %d through the proxy: %v", i, err)
		}
		if got := string(reply.([]byte)); got != string(rune('0'+i)) {
			t.Errorf("ECHO %d through the proxy answered %q", i, got)
		}
		if took < delay {
			t.Errorf("ECHO %d through the proxy took %v, less than its %v delay", i, took, delay)
		}
	}
}

// TestConnectionsReceivedCountsOthersExactly opens three connections
// between two readings and checks that exactly three are counted.
func TestConnectionsReceivedCountsOthersExactly(t *testing.T) {
	requireRedis(t)
	r := newReaper()
	defer r.stopAll()
	ctx := context.Background()
	servers, err := startServers(ctx, r, 1, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	addrs := []string{servers[0].addr}
	before, err := connectionsReceived(ctx, addrs)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := ping(ctx, addrs[0], 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	after, err := connectionsReceived(ctx, addrs)
	if err != nil {
		t.Fatal(err)
	}
	if got := after - before - int64(len(addrs)); got != 3 {
		t.Errorf("counted %d connections between the readings, want 3", got)
	}
}
