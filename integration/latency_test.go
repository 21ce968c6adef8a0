//go:build integration

package integration

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/redlock"
)

// iterations is how many Lock, Extend, Unlock cycles a latency figure is the
// median of.
const iterations = 25

// A figure is the median latency of each operation over some cycles.
type figure struct {
	lock, extend, unlock time.Duration
}

func (f figure) String() string {
	return fmt.Sprintf("Lock %v, Extend %v, Unlock %v", f.lock, f.extend, f.unlock)
}

// ops names the operations of a figure, for checks over all three.
func (f figure) ops() map[string]time.Duration {
	return map[string]time.Duration{"Lock": f.lock, "Extend": f.extend, "Unlock": f.unlock}
}

// measure times iterations cycles of TryLock, Extend and Unlock, each on its
// own lock name (base:i) so that no cycle waits for the previous one's
// background work, and returns the medians. Every step must succeed.
func measure(t *testing.T, client *redlock.Client, base string) figure {
	t.Helper()
	ctx := context.Background()
	var lock, extend, unlock []time.Duration
	for i := range iterations {
		name := fmt.Sprintf("%s:%d", base, i)
		start := time.Now()
		l, err := client.TryLock(ctx, name)
		lock = append(lock, time.Since(start))
		require.NoError(t, err, "cycle %d", i)

		start = time.Now()
		err = l.Extend(ctx)
		extend = append(extend, time.Since(start))
		require.NoError(t, err, "cycle %d", i)

		start = time.Now()
		err = l.Unlock(ctx)
		unlock = append(unlock, time.Since(start))
		require.NoError(t, err, "cycle %d", i)
	}
	return figure{median(lock), median(extend), median(unlock)}
}

// cycleNames returns the lock names measure uses with base, and deletes
// their keys when the test ends.
func cycleNames(t *testing.T, base string) []string {
	t.Helper()
	names := make([]string, iterations)
	for i := range names {
		names[i] = fmt.Sprintf("%s:%d", base, i)
	}
	t.Cleanup(func() { deleteEverywhere(names...) })
	return names
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
