package redlock_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/internal/testcluster"
	"github.com/quorumlock/quorumlock/redlock"
)

func TestClient_Status(t *testing.T) {
	t.Run("free", func(t *testing.T) {
		c := newCluster(t, 5)
		st, err := c.client(t).Status(context.Background(), "st")
		require.NoError(t, err)
		assert.Equal(t, redlock.VerdictFree, st.Verdict)
		assert.Equal(t, "free", st.Verdict.String())
		assert.Equal(t, 3, st.Quorum)
		require.Len(t, st.Nodes, 5)
		for i, n := range st.Nodes {
			assert.Equal(t, c.nodes[i].Addr(), n.Addr)
			assert.NoError(t, n.Err)
			assert.False(t, n.Held)
		}
	})

	t.Run("held, with fingerprints and ttls, a node down", func(t *testing.T) {
		c := newCluster(t, 5)
		client := c.client(t, redlock.WithTTL(20*time.Second), redlock.WithKeyPrefix("lock:"))
		l, err := client.TryLock(context.Background(), "st")
		require.NoError(t, err)
		require.NoError(t, client.Close())
		c.faults[4].SetDown(true)
		st, err := client.Status(context.Background(), "st")
		require.NoError(t, err)
		assert.Equal(t, redlock.VerdictHeld, st.Verdict)
		assert.Equal(t, l.Fingerprint(), st.Owner)
		assert.Len(t, st.Owner, 8)
		assert.NotContains(t, l.Token(), st.Owner, "a fingerprint is not a piece of the token")
		assert.Equal(t, "lock:st", st.Key)
		for _, n := range st.Nodes[:4] {
			assert.True(t, n.Held)
			assert.Equal(t, l.Fingerprint(), n.Owner)
			assert.Equal(t, 20*time.Second, n.TTL)
		}
		require.ErrorIs(t, st.Nodes[4].Err, testcluster.ErrDown)
		assert.False(t, st.Nodes[4].Held)
		assert.Equal(t, []int{0, 1, 2, 3, 4}, c.holders("lock:st", l.Token()), "status changed nothing")
		c.faults[4].SetDown(false)
		require.NoError(t, l.Unlock(context.Background()))
	})

	t.Run("split and unknown", func(t *testing.T) {
		c := newCluster(t, 5)
		client := c.client(t)
		c.servers[0].Set("st", "a")
		c.servers[1].Set("st", "a")
		c.servers[2].Set("st", "b")
		c.servers[2].SetTTL("st", 5*time.Second)
		st, err := client.Status(context.Background(), "st")
		require.NoError(t, err)
		assert.Equal(t, redlock.VerdictSplit, st.Verdict)
		assert.Equal(t, time.Duration(-1), st.Nodes[0].TTL, "no expiry")
		assert.Equal(t, 5*time.Second, st.Nodes[2].TTL)
		assert.Equal(t, redlock.Fingerprint("b"), st.Nodes[2].Owner)
		assert.Empty(t, st.Owner)

		for _, i := range []int{0, 1, 2} {
			c.faults[i].SetDown(true)
		}
		st, err = client.Status(context.Background(), "st")
		require.NoError(t, err)
		assert.Equal(t, redlock.VerdictUnknown, st.Verdict)
	})

	t.Run("bad input", func(t *testing.T) {
		c := newCluster(t, 3)
		_, err := c.client(t).Status(context.Background(), "")
		require.ErrorIs(t, err, redlock.ErrInvalidArgument)
	})
}
