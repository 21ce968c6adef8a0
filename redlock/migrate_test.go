package redlock_test

import (
	"context"
	"os"
	"testing"

	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/redlock"
)

// scripts/migrate-fences.lua carries the old per-prefix hashes of fence
// counters over to the high-water mark: the first fence drawn after it is
// higher than every one drawn before, with a prefix or without.
func TestMigrateFences(t *testing.T) {
	src, err := os.ReadFile("../scripts/migrate-fences.lua")
	require.NoError(t, err)
	addr := startRedis(t)
	conn, err := redis.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	// What the old version left: counters of two locks in the unprefixed
	// hash, one in a prefixed one.
	_, err = conn.Do("HSET", redlock.Reserved+"fence", "c:a", "41", "o:a", "tok", "c:b", "7", "o:b", "tok")
	require.NoError(t, err)
	_, err = conn.Do("HSET", "app:"+redlock.Reserved+"fence", "c:app:x", "100", "o:app:x", "tok")
	require.NoError(t, err)
	migrate := func() string {
		v, err := redis.String(conn.Do("EVAL", string(src), 2, redlock.Reserved+"fence", "app:"+redlock.Reserved+"fence"))
		require.NoError(t, err)
		return v
	}
	assert.Equal(t, "100", migrate())
	assert.Equal(t, "100", migrate(), "a second run changes nothing")

	n, err := redlock.ParseURL("redis://" + addr)
	require.NoError(t, err)
	defer n.Close()
	c, err := redlock.New([]*redlock.Node{n}, redlock.WithFencing(), redlock.WithQuarantine(0))
	require.NoError(t, err)
	defer c.Close()
	for _, name := range []string{"a", "b", "app:x"} {
		l, err := c.TryLock(context.Background(), name)
		require.NoError(t, err)
		assert.Greater(t, l.Fence(), uint64(100), "the first fence of %s after the migration", name)
		require.NoError(t, l.Unlock(context.Background()))
	}
}
