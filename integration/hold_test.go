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
	const ttl = 1500 * time.Millisecond
	name := lockName(t)
	client := newClient(t, nil, redlock.WithTTL(ttl))
	l, err := client.Lock(context.Background(), name)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Unlock(context.Background()) })
	held, stop := l.Hold(context.Background())
	defer stop()

	select {
	case <-held.Done():
		t.Fatalf("the hold ended while every node was up: %v", context.Cause(held))
	case <-time.After(2 * ttl): // a few renewals
	}
	require.Equal(t, allNodes(), holders(t, name, l.Token()), "renewed on every node")

	// Until moves with each renewal; the hold must end before the last
	// value it had, since the lock is only known to be held until then.
	until := l.Until()
	f.kill(0, 1, 2)
	killed := time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(2 * ttl)
wait:
	for {
		select {
		case <-held.Done():
			break wait
		case <-tick.C:
			if u := l.Until(); !u.IsZero() { // zero once lost
				until = u
			}
		case <-timeout:
			t.Fatal("the hold did not end after a majority was killed")
		}
	}
	ended := time.Now()
	cause := context.Cause(held)
	t.Logf("the hold ended %v after the kill, %v before the end of validity: %v",
		ended.Sub(killed), until.Sub(ended), cause)
	require.ErrorIs(t, cause, redlock.ErrLost)
	assert.True(t, ended.Before(until), "the hold ended before the lock's validity")

	require.ErrorIs(t, l.Extend(context.Background()), redlock.ErrLost, "the lock stays lost")
	// Only two nodes can confirm the release: not a quorum.
	err = l.Unlock(context.Background())
	require.Error(t, err)
	assert.False(t, errors.Is(err, context.Canceled), "Unlock reports the nodes, not a cancellation")
}
