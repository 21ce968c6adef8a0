//go:build integration

package integration

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/redlock"
)

// TestHold_majorityKilled holds a lock with background renewal: it survives
// renewals, and when a majority of nodes dies its context is cancelled with
// ErrLost before the lock's validity ends.
func TestHold_majorityKilled(t *testing.T) {
	f := dockerFaults(t)
	const (
		ttl = 6 * time.Second // renewed about every 2s
		// The hold ends this long before validity does. Wide, so that the
		// test sees the end before validity runs out even when its own
		// goroutine is scheduled late.
		margin  = 2 * time.Second
		renewed = 2 // renewals to see before the kill
		// Bounds the wait for the renewals and for the end of the hold.
		patience = time.Minute
	)
	name := lockName(t)
	client := newClient(t, nil, redlock.WithTTL(ttl), redlock.WithHoldMargin(margin))
	l, err := client.Lock(context.Background(), name)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Unlock(context.Background()) })
	held, stop := l.Hold(context.Background())
	defer stop()

	// Until moves with each renewal; the hold must end before the last
	// value it had, since the lock is only known to be held until then.
	until, renewals := l.Until(), 0
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(patience)
	for renewals < renewed {
		select {
		case <-held.Done():
			t.Fatalf("the hold ended after %d renewals while every node was up: %v", renewals, context.Cause(held))
		case <-tick.C:
			if u := l.Until(); u.After(until) {
				until, renewals = u, renewals+1
			}
		case <-timeout:
			t.Fatalf("%d of %d renewals within %v (ttl %v)", renewals, renewed, patience, ttl)
		}
	}
	require.Equal(t, allNodes(), holders(t, name, l.Token()), "renewed on every node")

	f.kill(0, 1, 2)
	killed := time.Now()
	timeout = time.After(patience)
wait:
	for {
		select {
		case <-held.Done():
			break wait
		case <-tick.C:
			if u := l.Until(); u.After(until) { // zero once lost
				until = u
			}
		case <-timeout:
			t.Fatalf("the hold did not end within %v after a majority was killed", patience)
		}
	}
	ended := time.Now()
	cause := context.Cause(held)
	t.Logf("the hold ended %v after the kill, %v before the end of validity: %v",
		ended.Sub(killed).Round(time.Millisecond), until.Sub(ended).Round(time.Millisecond), cause)
	require.ErrorIs(t, cause, redlock.ErrLost)
	assert.True(t, ended.Before(until), "the hold was seen to end %v after the lock's validity (margin %v)",
		ended.Sub(until).Round(time.Millisecond), margin)

	require.ErrorIs(t, l.Extend(context.Background()), redlock.ErrLost, "the lock stays lost")
	// Only two nodes can confirm the release: not a quorum.
	err = l.Unlock(context.Background())
	require.Error(t, err)
	assert.False(t, errors.Is(err, context.Canceled), "Unlock reports the nodes, not a cancellation")
}
