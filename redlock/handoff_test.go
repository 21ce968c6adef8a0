package redlock

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/clock"
)

// upConn is a Conn to a server, named by the letter, that has been up for
// up seconds. It runs no script.
type upConn struct {
	id byte
	up int
}

func (upConn) EvalSHA(context.Context, string, []string, []any) (any, error) { return nil, nil }
func (upConn) Eval(context.Context, string, []string, []any) (any, error)    { return nil, nil }
func (c upConn) Info(context.Context) (string, error) {
	return fmt.Sprintf("# Server\r\nrun_id:%s\r\nuptime_in_seconds:%d\r\nrole:master\r\naof_enabled:1\r\nmaxmemory_policy:noeviction\r\n",
		strings.Repeat(string(c.id), 40), c.up), nil
}
func (upConn) Close() error { return nil }

// A hand-off counts from a quorum of nodes that answered the waiter's
// latest attempt "busy", then named that attempt in the server's
// incarnation the node knew, and were up for longer than the quarantine;
// and only within the attempt's validity.
func TestHandoff_counts(t *testing.T) {
	var nodes []*Node
	for i, up := range []int{3600, 3600, 3600, 5} {
		n, err := NewNode(string(rune('a'+i)), upConn{byte('a' + i), up})
		require.NoError(t, err)
		nodes = append(nodes, n)
	}
	fake := clock.NewFake(time.Now())
	c, err := New(nodes[:3], WithClock(fake))
	require.NoError(t, err)
	defer c.Close()
	inc := func(i int) string { return strings.Repeat(string(rune('a'+i)), 40) + ".1" } // the run id's
	for i, n := range nodes {
		n.sawIncarnation(inc(i))
		require.NoError(t, n.probe(context.Background()))
	}
	w, err := c.newWaiter(&c.cfg, true, []string{"x"})
	require.NoError(t, err)
	newAttempt := func() *Lock {
		l, err := c.newLock(&c.cfg, "x", "x", w)
		require.NoError(t, err)
		assert.NotEmpty(t, w.hand.arm(l))
		l.acquired, l.sent = fake.Now(), time.Now()
		return l
	}
	msg := func(attempt, i int) string { return fmt.Sprintf("%d %s x", attempt, inc(i)) }

	handed := func() bool { return c.handedOver(w.hand) != nil }
	l := newAttempt()
	assert.False(t, w.hand.heard(0, msg(2, 0), "x"), "a message naming another attempt")
	assert.False(t, w.hand.heard(0, msg(1, 0), "y"), "a message naming another key")
	assert.True(t, w.hand.heard(0, msg(1, 0), "x"))
	assert.True(t, w.hand.heard(1, msg(1, 1), "x"))
	assert.False(t, handed(), "handed over by nodes that had not answered the attempt")
	w.hand.answered(l, 0)
	w.hand.answered(l, 1)
	w.hand.answered(newAttempt(), 2) // a later attempt: the first one's messages no longer count
	assert.False(t, handed(), "handed over with the messages of an earlier attempt")

	l = newAttempt()
	for i := range 3 {
		w.hand.answered(l, i)
	}
	assert.True(t, w.hand.heard(0, msg(3, 0), "x"))
	assert.True(t, w.hand.heard(1, "3 "+inc(1)+"-restarted x", "x"))
	assert.False(t, handed(), "handed over by a node whose server's incarnation changed")
	assert.True(t, w.hand.heard(2, msg(3, 2), "x"))
	assert.True(t, handed(), "handed over by two nodes")
	require.NoError(t, nodes[1].probe(context.Background()))
	assert.ErrorContains(t, c.mayHandOff(1, inc(1)+"-restarted", time.Now(), fake.Now()), "quarantine",
		"a node whose server restarted, in quarantine from when it was seen, whatever its uptime")

	c4, err := New([]*Node{nodes[0], nodes[3], nodes[2]}, WithClock(fake))
	require.NoError(t, err)
	defer c4.Close()
	assert.ErrorContains(t, c4.mayHandOff(1, inc(3), time.Now(), fake.Now()), "quarantine", "a node up for 5s")

	w, err = c.newWaiter(&c.cfg, true, []string{"x"})
	require.NoError(t, err)
	l = newAttempt()
	for _, i := range []int{0, 2} {
		w.hand.answered(l, i)
		assert.True(t, w.hand.heard(i, msg(1, i), "x"))
	}
	fake.Advance(c.cfg.ttl)
	assert.False(t, handed(), "handed over after the attempt's ttl")

	l = newAttempt()
	for _, i := range []int{0, 2} {
		w.hand.answered(l, i)
		assert.True(t, w.hand.heard(i, msg(2, i), "x"))
	}
	fake.Advance(time.Second)
	got := c.handedOver(w.hand)
	require.True(t, got == l, "the lock handed over by two of three nodes is the attempt's")
	want := l.acquired.Add(c.cfg.ttl - clock.Drift(c.cfg.ttl, c.cfg.driftFactor))
	assert.True(t, got.until.Equal(want), "held until %v after the attempt's start, want %v",
		got.until.Sub(l.acquired), want.Sub(l.acquired))
	assert.False(t, handed(), "handed over twice")
}
