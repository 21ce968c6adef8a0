package redlock_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/backend/redigo"
	"github.com/quorumlock/quorumlock/redlock"
)

func TestNewNode(t *testing.T) {
	_, err := redlock.NewNode("a:1", nil)
	require.ErrorIs(t, err, redlock.ErrInvalidArgument)
	assert.ErrorContains(t, err, "conn is nil")

	var nilConn *redigo.Conn
	_, err = redlock.NewNode("a:1", nilConn)
	require.ErrorIs(t, err, redlock.ErrInvalidArgument)

	pool := &redis.Pool{}
	conn, err := redigo.New(pool)
	require.NoError(t, err)
	_, err = redlock.NewNode("", conn)
	require.ErrorIs(t, err, redlock.ErrInvalidArgument)
	assert.ErrorContains(t, err, "name is empty")

	n, err := redlock.NewNode("a:1", conn)
	require.NoError(t, err)
	assert.Equal(t, "a:1", n.Addr())
	assert.Equal(t, "a:1", n.String())
	assert.NoError(t, n.Close(), "a borrowed pool is not closed")
	_, err = pool.Get().Do("PING")
	assert.NotErrorIs(t, err, redis.ErrPoolExhausted)
	assert.NotContains(t, fmt.Sprint(err), "closed", "the pool stays open")
}

func TestNode_scriptCacheFlushed(t *testing.T) {
	c := newCluster(t, 3)
	client := c.client(t)
	l, err := client.TryLock(context.Background(), "flush")
	require.NoError(t, err)
	require.NoError(t, l.Extend(context.Background())) // loads the script
	for _, s := range c.servers {
		conn, err := redis.Dial("tcp", s.Addr())
		require.NoError(t, err)
		_, err = conn.Do("SCRIPT", "FLUSH")
		require.NoError(t, err)
		require.NoError(t, conn.Close())
	}
	require.NoError(t, l.Extend(context.Background()), "EVALSHA falls back to EVAL")
	require.NoError(t, l.Unlock(context.Background()))
}

func TestNew_invalid(t *testing.T) {
	c := newCluster(t, 3)
	conn, err := redigo.New(&redis.Pool{})
	require.NoError(t, err)
	dup, err := redlock.NewNode(c.nodes[0].Addr(), conn)
	require.NoError(t, err)

	cases := []struct {
		name  string
		nodes []*redlock.Node
		opts  []redlock.ClientOption
		want  string
	}{
		{"no nodes", nil, nil, "no nodes"},
		{"nil node", []*redlock.Node{c.nodes[0], nil}, nil, "node 1 is nil"},
		{"duplicate address", []*redlock.Node{c.nodes[0], c.nodes[1], dup}, nil, "same name"},
		{"same node twice", []*redlock.Node{c.nodes[0], c.nodes[0]}, nil, "same name"},
		{"zero ttl", c.nodes, []redlock.ClientOption{redlock.WithTTL(0)}, "ttl must be positive"},
		{"sub-millisecond ttl", c.nodes, []redlock.ClientOption{redlock.WithTTL(1500 * time.Microsecond)}, "whole number of milliseconds"},
		{"ttl too short for drift and timeout", c.nodes, []redlock.ClientOption{redlock.WithTTL(50 * time.Millisecond), redlock.WithNodeTimeout(50 * time.Millisecond)}, "leaves no validity"},
		{"negative drift", c.nodes, []redlock.ClientOption{redlock.WithDriftFactor(-0.1)}, "drift factor"},
		{"NaN drift", c.nodes, []redlock.ClientOption{redlock.WithDriftFactor(math.NaN())}, "drift factor"},
		{"zero node timeout", c.nodes, []redlock.ClientOption{redlock.WithNodeTimeout(0)}, "node timeout must be positive"},
		{"retry max below min", c.nodes, []redlock.ClientOption{redlock.WithRetryDelay(time.Second, time.Millisecond)}, "retry delay"},
		{"zero retry delay", c.nodes, []redlock.ClientOption{redlock.WithRetryDelay(0, 0)}, "retry delay"},
		{"negative retry limit", c.nodes, []redlock.ClientOption{redlock.WithRetryLimit(-1)}, "retry limit"},
		{"nil clock", c.nodes, []redlock.ClientOption{redlock.WithClock(nil)}, "clock is nil"},
		{"nil rand", c.nodes, []redlock.ClientOption{redlock.WithRand(nil)}, "random source is nil"},
		{"zero option", c.nodes, []redlock.ClientOption{redlock.Option{}}, "option 0 is the zero Option"},
		{"nil option", c.nodes, []redlock.ClientOption{nil}, "option 0 is nil"},
		{"huge prefix", c.nodes, []redlock.ClientOption{redlock.WithKeyPrefix(strings.Repeat("p", redlock.MaxKeyLen))}, "key prefix"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := redlock.New(tc.nodes, tc.opts...)
			require.ErrorIs(t, err, redlock.ErrInvalidArgument)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestClient_Lock_invalid(t *testing.T) {
	c := newCluster(t, 3)
	client := c.client(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name    string
		ctx     context.Context
		lock    string
		opts    []redlock.Option
		want    error
		message string
	}{
		{"empty name", context.Background(), "", nil, redlock.ErrInvalidArgument, "lock name is empty"},
		{"oversized name", context.Background(), strings.Repeat("n", redlock.MaxKeyLen+1), nil, redlock.ErrInvalidArgument, "limit is 1024"},
		{"nil context", nil, "x", nil, redlock.ErrInvalidArgument, "nil context"},
		{"bad per-call option", context.Background(), "x", []redlock.Option{redlock.WithTTL(-time.Second)}, redlock.ErrInvalidArgument, "ttl must be positive"},
		{"cancelled context", cancelled, "x", nil, context.Canceled, "not obtained"},
	}
	for _, tc := range cases {
		for _, try := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s try=%v", tc.name, try), func(t *testing.T) {
				var err error
				if try {
					_, err = client.TryLock(tc.ctx, tc.lock, tc.opts...)
				} else {
					_, err = client.Lock(tc.ctx, tc.lock, tc.opts...)
				}
				require.ErrorIs(t, err, tc.want)
				assert.ErrorContains(t, err, tc.message)
			})
		}
	}
	assert.Empty(t, c.keys("x"), "no attempt was made")

	l, err := client.TryLock(context.Background(), "x")
	require.NoError(t, err)
	//lint:ignore SA1012 a nil context on purpose
	require.ErrorIs(t, l.Extend(nil), redlock.ErrInvalidArgument)
	//lint:ignore SA1012 a nil context on purpose
	require.ErrorIs(t, l.Unlock(nil), redlock.ErrInvalidArgument)
	require.NoError(t, l.Unlock(context.Background()))
}

func TestWithRand(t *testing.T) {
	c := newCluster(t, 3)
	client := c.client(t, redlock.WithRand(strings.NewReader(strings.Repeat("\x01", 16))))
	l, err := client.TryLock(context.Background(), "rand")
	require.NoError(t, err)
	assert.Equal(t, "AQEBAQEBAQEBAQEBAQEBAQ", l.Token())
	require.NoError(t, l.Unlock(context.Background()))
	_, err = client.TryLock(context.Background(), "rand")
	assert.ErrorContains(t, err, "random token", "an exhausted source is an error, not a weak token")
}
