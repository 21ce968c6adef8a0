//go:build integration

package integration

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/redlock"
)

// TestFencing_increasesUnderFaults takes a fenced lock 1,000 times in a
// row while nodes are paused, resumed, killed and restarted (with their
// data): every grant's token is higher than the one before.
func TestFencing_increasesUnderFaults(t *testing.T) {
	f := dockerFaults(t)
	ctx := context.Background()
	name := lockName(t)
	// A short ttl keeps the quarantine of a restarted node short.
	client := newClient(t, nil, redlock.WithTTL(time.Second), redlock.WithFencing(), redlock.WithNodeTimeout(500*time.Millisecond))
	const grants = 1000
	var (
		last   uint64
		faults int
		done   atomic.Int64
	)
	track(t, func() string { return fmt.Sprintf("%d of %d fenced grants", done.Load(), grants) })
	start := time.Now()
	for i := range grants {
		node := i / 100 % 5
		switch i % 100 { // one node faulted at a time
		case 10:
			f.pause(node)
			faults++
		case 30:
			f.unpause(node)
		case 50:
			f.kill(node)
			faults++
		case 70:
			f.start(node)
		}
		lctx, cancel := context.WithTimeout(ctx, time.Minute)
		l, err := client.Lock(lctx, name)
		cancel()
		require.NoError(t, err, "grant %d", i)
		require.Greater(t, l.Fence(), last, "grant %d: fence %d after %d", i, l.Fence(), last)
		last = l.Fence()
		require.NoError(t, l.Unlock(ctx), "grant %d", i)
		done.Add(1)
	}
	t.Logf("%d fenced grants in %v with %d faults, tokens strictly increasing up to %d",
		grants, time.Since(start).Round(time.Second), faults, last)
}
