package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/clock"
	"github.com/quorumlock/quorumlock/redlock"
)

// Every accepted --grace gets a margin that sends SIGKILL a slack before
// the validity ends and leaves a quarter of the ttl to renew; the library
// accepts the margin.
func TestHoldMargin(t *testing.T) {
	node, err := redlock.ParseURL("redis://127.0.0.1:1") // never dialled
	require.NoError(t, err)
	t.Cleanup(func() { _ = node.Close() })
	for _, tt := range []struct{ ttl, grace time.Duration }{
		{10 * time.Second, 5 * time.Second},
		{10 * time.Second, 6300 * time.Millisecond},
		{10 * time.Second, 0},
		{3 * time.Second, 1800 * time.Millisecond}, // more than ttl/2, which was once capped silently
		{time.Second, 500 * time.Millisecond},
		{200 * time.Millisecond, 0},
		{time.Hour, 5 * time.Second},
	} {
		margin, err := holdMargin(tt.ttl, tt.grace)
		require.NoError(t, err, "ttl %v, grace %v", tt.ttl, tt.grace)
		validity := clock.Validity(tt.ttl, 0, driftFactor)
		assert.Equal(t, tt.grace+killSlack(tt.ttl), margin, "ttl %v, grace %v", tt.ttl, tt.grace)
		assert.GreaterOrEqual(t, validity-margin, tt.ttl/4, "ttl %v, grace %v: room to renew", tt.ttl, tt.grace)
		_, err = redlock.New([]*redlock.Node{node}, redlock.WithTTL(tt.ttl), redlock.WithHoldMargin(margin),
			redlock.WithNodeTimeout(time.Millisecond))
		assert.NoError(t, err, "ttl %v, grace %v", tt.ttl, tt.grace)
	}
}

// A --grace the ttl cannot fit is refused with a --grace and a --ttl that
// would fit, and those are the limits.
func TestHoldMargin_doesNotFit(t *testing.T) {
	_, err := holdMargin(10*time.Second, 8*time.Second)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--grace 8s does not fit the 10s ttl")
	assert.Contains(t, err.Error(), "use --grace 6.3s or less, or --ttl 13s or more")

	_, err = holdMargin(40*time.Millisecond, 0)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--ttl 40ms is too short")
	assert.Contains(t, err.Error(), "use --ttl 200ms or more")

	for _, grace := range []time.Duration{0, 50 * time.Millisecond, time.Second, 8 * time.Second, time.Minute, maxGraceFlag} {
		ttl := minTTL(grace)
		assert.True(t, fits(ttl, grace), "grace %v fits the ttl %v", grace, ttl)
		step := time.Second
		if ttl <= time.Second {
			step = 100 * time.Millisecond
		}
		assert.False(t, fits(ttl-step, grace), "grace %v does not fit the ttl %v", grace, ttl-step)
	}
	for _, ttl := range []time.Duration{200 * time.Millisecond, time.Second, 10 * time.Second, time.Hour} {
		g := maxGrace(ttl)
		assert.True(t, fits(ttl, g), "the ttl %v fits grace %v", ttl, g)
		assert.False(t, fits(ttl, g+100*time.Millisecond), "the ttl %v does not fit grace %v", ttl, g+100*time.Millisecond)
	}
}

func TestDefaultGrace(t *testing.T) {
	assert.Equal(t, 5*time.Second, defaultGrace(10*time.Second))
	assert.Equal(t, 3100*time.Millisecond, defaultGrace(5*time.Second), "the most a 5s ttl fits")
	assert.Equal(t, time.Duration(0), defaultGrace(40*time.Millisecond), "none fits: holdMargin says so")
}
