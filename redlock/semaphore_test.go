package redlock_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/clock"
	"github.com/quorumlock/quorumlock/redlock"
)

// slotKey is the key of a semaphore's slot, as the library documents it.
func slotKey(key string, slot int) string {
	return key + redlock.Reserved + "slot:" + strconv.Itoa(slot)
}

func TestSemaphore_TryAcquire(t *testing.T) {
	c := newCluster(t, 5)
	client := c.client(t)
	ctx := context.Background()

	var permits []*redlock.Permit
	for range 3 {
		p, err := sem(client, "pool", 3).TryAcquire(ctx)
		require.NoError(t, err)
		permits = append(permits, p)
	}
	require.NoError(t, client.Close()) // the grants end on every node
	var slots []int
	for _, p := range permits {
		assert.Equal(t, "pool", p.Name())
		assert.Equal(t, slotKey("pool", p.Slot()), p.Key())
		assert.Equal(t, []int{0, 1, 2, 3, 4}, c.holders(p.Key(), p.Token()), "slot %d is set on every node", p.Slot())
		assert.True(t, p.Until().After(time.Now()))
		slots = append(slots, p.Slot())
	}
	slices.Sort(slots)
	assert.Equal(t, []int{0, 1, 2}, slots, "three permits, three slots")

	_, err := sem(client, "pool", 3).TryAcquire(ctx)
	require.ErrorIs(t, err, redlock.ErrNotObtained, "a fourth permit of three")
	assert.ErrorContains(t, err, `semaphore "pool": none of its 3 slots is free`)

	freed := permits[1].Slot()
	require.NoError(t, permits[1].Unlock(ctx))
	require.NoError(t, client.Close()) // the release ends on every node
	assert.Empty(t, c.keys(permits[1].Key()), "released on every node")
	p, err := sem(client, "pool", 3).TryAcquire(ctx)
	require.NoError(t, err, "the released permit")
	assert.Equal(t, freed, p.Slot())

	for _, p := range []*redlock.Permit{permits[0], permits[2], p} {
		require.NoError(t, p.Unlock(ctx))
	}
	require.NoError(t, client.Close())
	for slot := range 3 {
		assert.Empty(t, c.keys(slotKey("pool", slot)), "slot %d", slot)
	}
}

func TestClient_Semaphore_invalid(t *testing.T) {
	c := newCluster(t, 3)
	client := c.client(t)
	ctx := context.Background()
	long := strings.Repeat("x", redlock.MaxKeyLen-len(slotKey("", 9)))
	tests := []struct {
		name    string
		call    func() error
		message string
	}{
		{"nil context", func() error {
			//lint:ignore SA1012 a nil context on purpose
			_, err := sem(client, "s", 2).Acquire(nil)
			return err
		}, "nil context"},
		{"empty name", func() error { _, err := client.Semaphore("", 2); return err }, "semaphore name is empty"},
		{"no permits", func() error { _, err := client.Semaphore("s", 0); return err }, "permits must be 1 to 1024, got 0"},
		{"negative permits", func() error { _, err := client.Semaphore("s", -1); return err }, "got -1"},
		{"too many permits", func() error { _, err := client.Semaphore("s", redlock.MaxPermits+1); return err }, "got 1025"},
		{"reserved name", func() error { _, err := client.Semaphore("a"+redlock.Reserved+"b", 2); return err }, "reserved for quorumlock's own keys"},
		{"reserved prefix", func() error {
			_, err := sem(client, "s", 2).TryAcquire(ctx, redlock.WithKeyPrefix("p"+redlock.Reserved))
			return err
		}, "reserved for quorumlock's own keys"},
		{"slot key too long", func() error { _, err := sem(client, long+"y", 10).TryAcquire(ctx); return err }, "the key of its slot 9 is 1025 bytes, the limit is 1024"},
		{"waiting option to TryAcquire", func() error {
			_, err := sem(client, "s", 2).TryAcquire(ctx, redlock.WithWait(time.Second))
			return err
		}, "WithWait cannot be given to TryLock; it may be given to New, Lock, Do (Semaphore.TryAcquire takes the options of TryLock)"},
		{"bad option value", func() error {
			_, err := sem(client, "s", 2).Acquire(ctx, redlock.WithTTL(-time.Second))
			return err
		}, "ttl must be positive"},
		{"nil function", func() error { return sem(client, "s", 2).Do(ctx, nil) }, "nil function"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			require.ErrorIs(t, err, redlock.ErrInvalidArgument)
			assert.ErrorContains(t, err, tt.message)
		})
	}
	_, err := sem(client, long, 10).TryAcquire(ctx)
	require.NoError(t, err, "a name whose last slot key is exactly the limit")
	assert.Empty(t, c.keys(slotKey("s", 0)), "no invalid call set a key")
}

// A lock and a semaphore of one name are apart: neither blocks the other,
// and Status reads the lock.
func TestClient_Semaphore_apartFromLock(t *testing.T) {
	c := newCluster(t, 5)
	client := c.client(t)
	ctx := context.Background()
	lock, err := client.TryLock(ctx, "shared")
	require.NoError(t, err)

	permit, err := sem(client, "shared", 1).TryAcquire(ctx)
	require.NoError(t, err, "the semaphore's one permit, while the lock of its name is held")
	assert.Equal(t, 0, permit.Slot())
	_, err = client.TryLock(ctx, "shared")
	require.ErrorIs(t, err, redlock.ErrNotObtained, "the lock is still held")

	st, err := client.Status(ctx, "shared")
	require.NoError(t, err)
	assert.Equal(t, redlock.VerdictHeld, st.Verdict)
	assert.Equal(t, lock.Fingerprint(), st.Owner, "Status reads the lock, not the semaphore")

	require.NoError(t, lock.Unlock(ctx))
	_, err = sem(client, "shared", 1).TryAcquire(ctx)
	require.ErrorIs(t, err, redlock.ErrNotObtained, "the permit is still held after the lock's release")
	require.NoError(t, permit.Unlock(ctx))
}

// Callers that give one name different numbers of permits share the slots
// below the smaller number.
func TestClient_Semaphore_differentPermits(t *testing.T) {
	c := newCluster(t, 3)
	client := c.client(t)
	ctx := context.Background()
	a, err := sem(client, "mixed", 1).TryAcquire(ctx)
	require.NoError(t, err)
	assert.Equal(t, 0, a.Slot())
	b, err := sem(client, "mixed", 2).TryAcquire(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, b.Slot(), "slot 0 is taken by the caller of one permit")
	_, err = sem(client, "mixed", 2).TryAcquire(ctx)
	require.ErrorIs(t, err, redlock.ErrNotObtained, "at most the larger number hold at once")
	for _, p := range []*redlock.Permit{a, b} {
		require.NoError(t, p.Unlock(ctx))
	}
}

func TestLock_Unlock_permit(t *testing.T) {
	c := newCluster(t, 5)
	client := c.client(t)
	ctx := context.Background()
	p, err := sem(client, "once", 2).TryAcquire(ctx)
	require.NoError(t, err)
	require.NoError(t, p.Unlock(ctx))
	require.NoError(t, client.Close())
	assert.Empty(t, c.keys(p.Key()))
	assert.True(t, p.Until().IsZero())
	require.ErrorIs(t, p.Unlock(ctx), redlock.ErrNotHeld, "a second Unlock")
	require.ErrorIs(t, p.Extend(ctx), redlock.ErrNotHeld, "Extend after Unlock")

	t.Run("expired and taken", func(t *testing.T) {
		p, err := sem(client, "taken", 1).TryAcquire(ctx)
		require.NoError(t, err)
		require.NoError(t, client.Close()) // no SET of the grant comes later
		c.fastForward(11 * time.Second)    // past the 10s ttl on every node
		other, err := sem(client, "taken", 1).TryAcquire(ctx)
		require.NoError(t, err, "the expired slot is free")
		require.ErrorIs(t, p.Unlock(ctx), redlock.ErrNotHeld)
		require.NoError(t, client.Close()) // the grant and the release end on every node
		assert.Equal(t, []int{0, 1, 2, 3, 4}, c.holders(other.Key(), other.Token()), "the new holder's keys are untouched")
		require.NoError(t, other.Unlock(ctx))
	})
}

func TestSemaphore_Do(t *testing.T) {
	c := newCluster(t, 5)
	client := c.client(t)
	ctx := context.Background()

	// Two functions run at once under two permits: each waits for the
	// other to start.
	started := make(chan int, 2)
	both := make(chan struct{})
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			errs <- sem(client, "do", 2).Do(ctx, func(ctx context.Context, p *redlock.Permit) error {
				started <- p.Slot()
				select {
				case <-both:
					return nil
				case <-time.After(time.Minute):
					return errors.New("the other function did not start within a minute")
				}
			}, redlock.WithWait(time.Minute))
		}()
	}
	slots := []int{<-started, <-started}
	close(both)
	for range 2 {
		require.NoError(t, <-errs)
	}
	require.NoError(t, client.Close())
	slices.Sort(slots)
	assert.Equal(t, []int{0, 1}, slots)
	for slot := range 2 {
		assert.Empty(t, c.keys(slotKey("do", slot)), "slot %d released", slot)
	}

	errWork := errors.New("work failed")
	err := sem(client, "do", 2).Do(ctx, func(context.Context, *redlock.Permit) error { return errWork })
	require.ErrorIs(t, err, errWork, "fn's error")

	blocker, err := sem(client, "full", 1).TryAcquire(ctx)
	require.NoError(t, err)
	ran := false
	err = sem(client, "full", 1).Do(ctx, func(context.Context, *redlock.Permit) error { ran = true; return nil }, redlock.WithRetryLimit(0))
	require.ErrorIs(t, err, redlock.ErrNotObtained)
	assert.False(t, ran, "fn is not called without a permit")
	require.NoError(t, blocker.Unlock(ctx))
}

// A permit's hold renews it like a lock's, and cancels its context with
// ErrLost, before the permit's validity ends, once a majority of nodes
// fails.
func TestLock_Hold_permit(t *testing.T) {
	c := newCluster(t, 5)
	fake := clock.NewFake(time.Unix(0, 0))
	client := c.client(t, redlock.WithClock(fake), redlock.WithTTL(3*time.Second),
		redlock.WithRetryDelay(100*time.Millisecond, 100*time.Millisecond))
	ctx := context.Background()
	p, err := sem(client, "held", 2).TryAcquire(ctx)
	require.NoError(t, err)
	held, stop := p.Hold(ctx)
	defer stop()
	assert.Same(t, p.Lock, redlock.HeldLock(held))
	waitTimers(t, fake, 2) // the renewal and the lost deadline
	for range 3 {
		before := p.Until()
		fake.Advance(maxRenew)
		require.Eventually(t, func() bool { return p.Until().After(before) }, 10*time.Second, time.Millisecond,
			"waiting for a renewal")
		waitTimers(t, fake, 2)
		c.fastForward(maxRenew) // the nodes' clocks move too
	}
	require.NoError(t, held.Err(), "3 renewals spanning 3.3s of a 3s ttl: still held")

	for _, i := range []int{0, 2, 4} {
		c.faults[i].SetDown(true)
	}
	until := p.Until()
	// To the hold's margin, a tenth of the ttl before the validity ends: the
	// renewal due meanwhile fails, and the margin's timer fires.
	fake.Advance(until.Sub(fake.Now()) - 300*time.Millisecond)
	select {
	case <-held.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the hold was not cancelled at its margin")
	}
	require.ErrorIs(t, context.Cause(held), redlock.ErrLost)
	assert.ErrorContains(t, context.Cause(held), "not renewed within 300ms of the end of its validity")
	require.ErrorIs(t, p.Extend(ctx), redlock.ErrLost, "a lost permit stays lost")
	for _, f := range c.faults {
		f.SetDown(false)
	}
	require.NoError(t, p.Unlock(ctx), "the two nodes up all along and the ones back still hold its keys")
}

func TestSemaphore_Status(t *testing.T) {
	c := newCluster(t, 5)
	client := c.client(t)
	ctx := context.Background()
	owners := map[int]string{} // slot -> fingerprint
	for range 2 {
		p, err := sem(client, "status", 3).TryAcquire(ctx)
		require.NoError(t, err)
		owners[p.Slot()] = p.Fingerprint()
	}
	require.NoError(t, client.Close()) // every node has the grants
	c.faults[4].SetDown(true)

	sts, err := sem(client, "status", 3).Status(ctx)
	require.NoError(t, err)
	require.Len(t, sts, 3)
	for slot, st := range sts {
		assert.Equal(t, "status", st.Name)
		assert.Equal(t, slotKey("status", slot), st.Key)
		require.Len(t, st.Nodes, 5)
		assert.Error(t, st.Nodes[4].Err, "slot %d: the node that is down", slot)
		if owner, held := owners[slot]; held {
			assert.Equal(t, redlock.VerdictHeld, st.Verdict, "slot %d", slot)
			assert.Equal(t, owner, st.Owner, "slot %d", slot)
			assert.True(t, st.Nodes[0].Held)
		} else {
			assert.Equal(t, redlock.VerdictFree, st.Verdict, "slot %d", slot)
			assert.False(t, st.Nodes[0].Held)
		}
	}
	_, err = client.Semaphore("status", 0)
	require.ErrorIs(t, err, redlock.ErrInvalidArgument)
	_, err = sem(client, "status", 3).Status(ctx, redlock.WithTTL(time.Second))
	require.ErrorIs(t, err, redlock.ErrInvalidArgument)
	assert.ErrorContains(t, err, "(Semaphore.Status takes the options of Status)")
}

// The most permits a semaphore may have: every slot is read in one command
// per node.
func TestClient_Semaphore_maxPermits(t *testing.T) {
	c := newCluster(t, 3)
	// Reading a thousand slots takes the in-process servers long on a
	// busy machine.
	client := c.client(t, redlock.WithNodeTimeout(5*time.Second))
	ctx := context.Background()
	p, err := sem(client, "big", redlock.MaxPermits).TryAcquire(ctx)
	require.NoError(t, err)
	assert.True(t, p.Slot() >= 0 && p.Slot() < redlock.MaxPermits, "slot %d", p.Slot())
	sts, err := sem(client, "big", redlock.MaxPermits).Status(ctx)
	require.NoError(t, err)
	held := 0
	for _, st := range sts {
		if st.Verdict == redlock.VerdictHeld {
			held++
		}
	}
	assert.Equal(t, 1, held, "slots held of %d", len(sts))
	require.NoError(t, p.Unlock(ctx))
}

// BenchmarkSemaphoreUnlock measures one TryAcquire of 4 permits and one
// Unlock over five real redis-server processes on loopback: a reading of
// the slots, an attempt at one, and a release, against BenchmarkLockUnlock's
// attempt and release.
func BenchmarkSemaphoreUnlock(b *testing.B) {
	nodes := redisServers(b, 5)
	client, err := redlock.New(nodes, benchOptions...)
	require.NoError(b, err)
	defer client.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		p, err := sem(client, "bench-sem", 4).TryAcquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Unlock(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
