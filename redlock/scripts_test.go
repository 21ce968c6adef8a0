package redlock_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/redlock"
)

// cachedScripts returns what INFO memory says of the server's script cache:
// how many scripts, and their memory in bytes.
func cachedScripts(t *testing.T, addr string) (scripts, bytes int) {
	t.Helper()
	c, err := redis.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	info, err := redis.String(c.Do("INFO", "memory"))
	require.NoError(t, err)
	field := func(name string) int {
		for line := range strings.Lines(info) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
				n, err := strconv.Atoi(v)
				require.NoError(t, err, name)
				return n
			}
		}
		t.Fatalf("INFO memory has no %s", name)
		return 0
	}
	return field("number_of_cached_scripts"), field("used_memory_scripts")
}

// Every process caches the same scripts on a server: what the server keeps
// does not grow with the number of processes that ever used it.
func TestScripts_oneCopyPerServer(t *testing.T) {
	addr := startRedis(t)
	ctx := context.Background()
	// One process's use: nodes and a client of its own, locks of every
	// kind, and gone.
	process := func() {
		n, err := redlock.ParseURL("redis://" + addr)
		require.NoError(t, err)
		defer n.Close()
		c, err := redlock.New([]*redlock.Node{n}, redlock.WithQuarantine(0), redlock.WithNodeTimeout(2*time.Second))
		require.NoError(t, err)
		defer c.Close()
		for _, opts := range [][]redlock.Option{nil, {redlock.WithFencing()}} {
			l, err := c.TryLock(ctx, "job", opts...)
			require.NoError(t, err)
			require.NoError(t, l.Extend(ctx))
			require.NoError(t, l.Unlock(ctx))
		}
		p, err := sem(c, "pool", 2).TryAcquire(ctx)
		require.NoError(t, err)
		require.NoError(t, p.Unlock(ctx))
		_, err = c.Status(ctx, "job")
		require.NoError(t, err)
		_, err = c.Vet(ctx)
		require.NoError(t, err)
	}
	process()
	scripts, bytes := cachedScripts(t, addr)
	for range 20 {
		process()
	}
	after, afterBytes := cachedScripts(t, addr)
	assert.Equal(t, scripts, after, "scripts cached after one process, and after 21")
	assert.Equal(t, bytes, afterBytes, "script memory after one process, and after 21")
}
