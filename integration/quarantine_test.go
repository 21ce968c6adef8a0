//go:build integration

package integration

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/redlock"
)

// TestQuarantine_restartWithoutPersistence kills three nodes whose
// persistence was turned off, so that they come back without the lock, as
// Redis without appendfsync always does after kill -9. With the quarantine
// (the default) no second client is granted the lock; without it, one is.
func TestQuarantine_restartWithoutPersistence(t *testing.T) {
	for _, quarantine := range []bool{true, false} {
		name := "with quarantine"
		if !quarantine {
			name = "without quarantine"
		}
		t.Run(name, func(t *testing.T) {
			f := dockerFaults(t)
			ctx := context.Background()
			lock := lockName(t)
			forgetful := []int{0, 1, 2}
			for _, i := range forgetful {
				_, err := doNode(ctx, i, "CONFIG", "SET", "appendonly", "no")
				require.NoError(t, err, "turning persistence off on node %d", i)
			}
			opts := []redlock.ClientOption{redlock.WithTTL(10 * time.Second)}
			if !quarantine {
				// Vetting refuses nodes without persistence when there is
				// no quarantine: accept it, to show what it guards against.
				opts = append(opts, redlock.WithQuarantine(0), redlock.WithAcceptRisks(redlock.RiskNoPersistence))
			}
			a := newClient(t, nil, opts...)
			lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			held, err := a.Lock(lctx, lock)
			require.NoError(t, err)
			require.NoError(t, a.Close())

			f.kill(forgetful...)
			f.start(forgetful...) // back with appendonly yes, from the file written before
			assert.Empty(t, present(t, lock, forgetful...), "the restarted nodes forgot the lock")

			b := newClient(t, nil, opts...)
			second, err := b.TryLock(ctx, lock)
			if quarantine {
				require.ErrorIs(t, err, redlock.ErrNotObtained, "no second holder while the first holds the lock")
				assert.ErrorContains(t, err, "quarantine")
				require.NoError(t, b.Close())
			} else {
				require.NoError(t, err, "without the quarantine the restarted majority grants it again")
				assert.NotEqual(t, held.Fingerprint(), second.Fingerprint())
				require.NoError(t, second.Unlock(ctx))
			}
			_ = held.Unlock(ctx)
		})
	}
}
