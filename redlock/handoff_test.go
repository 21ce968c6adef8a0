package redlock

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/clock"
)

// upConn is a Conn to a server, named by the letter, that has been up for
// an hour. It runs no script.
type upConn byte

func (upConn) EvalSHA(context.Context, string, []string, []any) (any, error) { return nil, nil }
func (upConn) Eval(context.Context, string, []string, []any) (any, error)    { return nil, nil }
func (c upConn) Info(context.Context) (string, error) {
	return "# Server\r\nrun_id:" + strings.Repeat(string(c), 40) + "\r\nuptime_in_seconds:3600\r\nrole:master\r\naof_enabled:1\r\nmaxmemory_policy:noeviction\r\n", nil
}
func (upConn) Close() error { return nil }

// A hand-off counts from a quorum of nodes that answered the waiter's
// latest attempt "busy", then named that attempt, and were up for longer
// than the quarantine; and only within the attempt's validity.
func TestHandoff_counts(t *testing.T) {
	var nodes []*Node
	for i := range 3 {
		n, err := NewNode(string(rune('a'+i)), upConn('a'+i))
		require.NoError(t, err)
		nodes = append(nodes, n)
	}
	fake := clock.NewFake(time.Now())
	c, err := New(nodes, WithClock(fake))
	require.NoError(t, err)
	defer c.Close()
	for _, n := range nodes {
		require.NoError(t, n.probe(context.Background()))
	}
	w, err := c.newWaiter(c.cfg.rand, true)
	require.NoError(t, err)
	newAttempt := func() *Lock {
		l, err := c.newLock(&c.cfg, "x", "x", w)
		require.NoError(t, err)
		assert.NotEmpty(t, w.hand.arm(l))
		l.acquired = fake.Now()
		return l
	}

	handed := func() bool { return c.handedOver(w.hand) != nil }
	l := newAttempt()
	assert.False(t, w.hand.heard(0, "2 3600"), "a message naming another attempt")
	assert.True(t, w.hand.heard(0, "1 3600"))
	assert.True(t, w.hand.heard(1, "1 3600"))
	assert.False(t, handed(), "handed over by nodes that had not answered the attempt")
	w.hand.answered(l, 0)
	w.hand.answered(l, 1)
	w.hand.answered(newAttempt(), 2) // a later attempt: the first one's messages no longer count
	assert.False(t, handed(), "handed over with the messages of an earlier attempt")

	l = newAttempt()
	for i := range 2 {
		w.hand.answered(l, i)
	}
	assert.True(t, w.hand.heard(0, "3 3600"))
	assert.True(t, w.hand.heard(1, "3 5"))
	assert.False(t, handed(), "handed over by a node up 5s, within the quarantine")
	assert.True(t, w.hand.heard(2, "3 -"))
	w.hand.answered(l, 2)
	assert.False(t, handed(), "handed over by a node that did not tell its uptime")

	l = newAttempt()
	for i := range 3 {
		w.hand.answered(l, i)
		assert.True(t, w.hand.heard(i, "4 3600"))
	}
	fake.Advance(c.cfg.ttl)
	assert.False(t, handed(), "handed over after the attempt's ttl")

	l = newAttempt()
	for i := range 2 {
		w.hand.answered(l, i)
		assert.True(t, w.hand.heard(i, "5 3600"))
	}
	fake.Advance(time.Second)
	got := c.handedOver(w.hand)
	require.True(t, got == l, "the lock handed over by two of three nodes is the attempt's")
	want := l.acquired.Add(c.cfg.ttl - clock.Drift(c.cfg.ttl, c.cfg.driftFactor))
	assert.True(t, got.until.Equal(want), "held until %v after the attempt's start, want %v",
		got.until.Sub(l.acquired), want.Sub(l.acquired))
	assert.False(t, handed(), "handed over twice")
}
