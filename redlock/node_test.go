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

	"github.com/quorumlock/quorumlock/redlock"
)

func TestParseURL(t *testing.T) {
	good := []struct {
		url, addr, shown string
	}{
		{"redis://127.0.0.1:7001", "127.0.0.1:7001", "redis://127.0.0.1:7001"},
		{"redis://:s3cret@127.0.0.1:7001/2", "127.0.0.1:7001", "redis://:xxxxx@127.0.0.1:7001/2"},
		{"rediss://app:s3cret@[::1]:6380", "[::1]:6380", "rediss://app:xxxxx@[::1]:6380"},
		{"redis://app@localhost:6379/0", "localhost:6379", "redis://app@localhost:6379/0"},
	}
	for _, tc := range good {
		t.Run(tc.url, func(t *testing.T) {
			n, err := redlock.ParseURL(tc.url)
			require.NoError(t, err)
			defer n.Close()
			assert.Equal(t, tc.addr, n.Addr())
			assert.Equal(t, tc.shown, n.String())
			assert.NotContains(t, n.String(), "s3cret")
		})
	}

	bad := []struct {
		url, want string
	}{
		{"", "scheme must be redis or rediss"},
		{"http://127.0.0.1:7001", "scheme must be redis or rediss"},
		{"redis://127.0.0.1", "host must be host:port"},
		{"redis://:s3cret@127.0.0.1:notaport", "cannot be parsed"},
		{"redis://u:s3cret@127.0.0.1:70000", "port is not a number in 1-65535"},
		{"redis://127.0.0.1:7001/x", "database is not a number"},
		{"redis://127.0.0.1:7001/+1", "database is not a number"},
		{"redis://user:12/34@host:6379", "database is not a number"},
		{"redis://user:s3cret/@host:6379", "cannot be parsed"},
		{"redis://user:1234#5@host:6379", "query and fragment"},
		{"redis://user:1234?s3cret@host:6379", "query and fragment"},
		{"redis://:s3cret/@host:6379", "cannot be parsed"},
		{"redis:u:s3cret@host:6379", "no host"},
		{"redis://127.0.0.1:7001?db=1", "query and fragment are not supported"},
		{"redis:127.0.0.1:7001", "no host"},
		{"redis://u:s3cret@host:1/%zz", "cannot be parsed"},
		{"redis://u:s3cret@[::1:7001", "cannot be parsed"},
	}
	for _, tc := range bad {
		t.Run("bad "+tc.url, func(t *testing.T) {
			_, err := redlock.ParseURL(tc.url)
			require.ErrorIs(t, err, redlock.ErrInvalidArgument)
			assert.ErrorContains(t, err, tc.want)
			for _, secret := range []string{"s3cret", "s3cr", "1234", "12/34", "34"} {
				assert.NotContains(t, err.Error(), secret, "no password, nor a piece of it, in errors")
			}
			assert.False(t, strings.Contains(err.Error(), "\n"), "one line")
		})
	}
}

func TestNewNode(t *testing.T) {
	_, err := redlock.NewNode("a:1", nil)
	require.ErrorIs(t, err, redlock.ErrInvalidArgument)
	assert.ErrorContains(t, err, "pool is nil")

	var nilPool *redis.Pool
	_, err = redlock.NewNode("a:1", nilPool)
	require.ErrorIs(t, err, redlock.ErrInvalidArgument)

	_, err = redlock.NewNode("", &redis.Pool{})
	require.ErrorIs(t, err, redlock.ErrInvalidArgument)
	assert.ErrorContains(t, err, "address is empty")

	n, err := redlock.NewNode("a:1", &redis.Pool{})
	require.NoError(t, err)
	assert.Equal(t, "a:1", n.Addr())
	assert.NoError(t, n.Close(), "a borrowed pool is not closed")
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
	dup, err := redlock.NewNode(c.nodes[0].Addr(), &redis.Pool{})
	require.NoError(t, err)

	cases := []struct {
		name  string
		nodes []*redlock.Node
		opts  []redlock.Option
		want  string
	}{
		{"no nodes", nil, nil, "no nodes"},
		{"nil node", []*redlock.Node{c.nodes[0], nil}, nil, "node 1 is nil"},
		{"duplicate address", []*redlock.Node{c.nodes[0], c.nodes[1], dup}, nil, "same address"},
		{"same node twice", []*redlock.Node{c.nodes[0], c.nodes[0]}, nil, "same address"},
		{"zero ttl", c.nodes, []redlock.Option{redlock.WithTTL(0)}, "ttl must be positive"},
		{"sub-millisecond ttl", c.nodes, []redlock.Option{redlock.WithTTL(1500 * time.Microsecond)}, "whole number of milliseconds"},
		{"ttl too short for drift and timeout", c.nodes, []redlock.Option{redlock.WithTTL(50 * time.Millisecond)}, "leaves no validity"},
		{"negative drift", c.nodes, []redlock.Option{redlock.WithDriftFactor(-0.1)}, "drift factor"},
		{"NaN drift", c.nodes, []redlock.Option{redlock.WithDriftFactor(math.NaN())}, "drift factor"},
		{"zero node timeout", c.nodes, []redlock.Option{redlock.WithNodeTimeout(0)}, "node timeout must be positive"},
		{"retry max below min", c.nodes, []redlock.Option{redlock.WithRetryDelay(time.Second, time.Millisecond)}, "retry delay"},
		{"zero retry delay", c.nodes, []redlock.Option{redlock.WithRetryDelay(0, 0)}, "retry delay"},
		{"negative retry limit", c.nodes, []redlock.Option{redlock.WithRetryLimit(-1)}, "retry limit"},
		{"nil clock", c.nodes, []redlock.Option{redlock.WithClock(nil)}, "clock is nil"},
		{"nil rand", c.nodes, []redlock.Option{redlock.WithRand(nil)}, "random source is nil"},
		{"nil option", c.nodes, []redlock.Option{nil}, "option 0 is nil"},
		{"huge prefix", c.nodes, []redlock.Option{redlock.WithKeyPrefix(strings.Repeat("p", redlock.MaxKeyLen))}, "key prefix"},
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
