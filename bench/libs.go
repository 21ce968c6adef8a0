package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-redsync/redsync/v4"
	rsredis "github.com/go-redsync/redsync/v4/redis"
	rsredigo "github.com/go-redsync/redsync/v4/redis/redigo"
	"github.com/gomodule/redigo/redis"

	"github.com/quorumlock/quorumlock/redlock"
)

// A library is one way of taking a lock on the five nodes.
type library interface {
	// name names the library in progress lines and the table.
	name() string
	// worker returns a handle that locks key, for one goroutine at a time.
	worker(key string) worker
	// settle waits until background work the library left is done.
	settle()
	// close releases the library's connections.
	close()
}

// Errors of a cycle wrap one of these, saying which call failed.
var (
	errLockCall   = errors.New("lock")
	errUnlockCall = errors.New("unlock")
)

// A worker takes and releases one lock, over and over.
type worker interface {
	// cycle locks, sleeps hold while holding the lock (if hold > 0) and
	// unlocks. It returns how long the lock call took, how long the sleep
	// took, and the first error, wrapping errLockCall or errUnlockCall.
	// Unlock is not bounded by ctx.
	cycle(ctx context.Context, hold time.Duration) (wait, held time.Duration, err error)
}

// sleepFor sleeps hold, if it is positive, and returns how long it took.
func sleepFor(hold time.Duration) time.Duration {
	if hold <= 0 {
		return 0
	}
	start := time.Now()
	time.Sleep(hold)
	return time.Since(start)
}

// poolTimeout bounds connecting, writing and reading on the pools this
// program builds for redsync and the floor: quorumlock's default node
// timeout for its default ttl of 10s (a twentieth of the ttl), so that every
// client gives up on a node after the same time. redsync's redigo adapter
// sends its commands without a context; without such a read timeout, one
// frozen node would block its Lock and Unlock until the node resumed.
const poolTimeout = 500 * time.Millisecond

// newPool returns a redigo pool of 16 idle connections kept for 4 minutes,
// with no cap on those in use.
func newPool(addr string) *redis.Pool {
	return &redis.Pool{
		MaxIdle:     16,
		IdleTimeout: 4 * time.Minute,
		DialContext: func(ctx context.Context) (redis.Conn, error) {
			return redis.DialContext(ctx, "tcp", addr, redis.DialConnectTimeout(poolTimeout),
				redis.DialReadTimeout(poolTimeout), redis.DialWriteTimeout(poolTimeout))
		},
	}
}

// quorumlock is a redlock.Client over nodes made by ParseURL.
type quorumlock struct {
	label  string
	nodes  []*redlock.Node
	client *redlock.Client
}

func newQuorumlock(label string, addrs []string, opts ...redlock.ClientOption) (*quorumlock, error) {
	q := &quorumlock{label: label}
	for _, a := range addrs {
		n, err := redlock.ParseURL("redis://" + a)
		if err != nil {
			q.close()
			return nil, err
		}
		q.nodes = append(q.nodes, n)
	}
	c, err := redlock.New(q.nodes, opts...)
	if err != nil {
		q.close()
		return nil, err
	}
	q.client = c
	return q, nil
}

func (q *quorumlock) name() string { return q.label }

func (q *quorumlock) worker(key string) worker { return &qworker{client: q.client, key: key} }

func (q *quorumlock) settle() { _ = q.client.Close() }

func (q *quorumlock) close() {
	if q.client != nil {
		_ = q.client.Close()
	}
	for _, n := range q.nodes {
		_ = n.Close()
	}
}

type qworker struct {
	client *redlock.Client
	key    string
}

func (w *qworker) cycle(ctx context.Context, hold time.Duration) (wait, held time.Duration, err error) {
	start := time.Now()
	l, err := w.client.Lock(ctx, w.key)
	wait = time.Since(start)
	if err != nil {
		return wait, 0, fmt.Errorf("%w: %w", errLockCall, err)
	}
	held = sleepFor(hold)
	if err := l.Unlock(context.Background()); err != nil {
		return wait, held, fmt.Errorf("%w: %w", errUnlockCall, err)
	}
	return wait, held, nil
}

// redsyncLib is redsync over its redigo adapter, with its own defaults.
type redsyncLib struct {
	pools []*redis.Pool
	rs    *redsync.Redsync
}

func newRedsync(addrs []string) *redsyncLib {
	r := &redsyncLib{}
	var adapted []rsredis.Pool
	for _, a := range addrs {
		p := newPool(a)
		r.pools = append(r.pools, p)
		adapted = append(adapted, rsredigo.NewPool(p))
	}
	r.rs = redsync.New(adapted...)
	return r
}

func (r *redsyncLib) name() string { return "redsync" }

// worker makes one Mutex per goroutine, reused for every cycle: a redsync
// Mutex is not safe for concurrent use.
func (r *redsyncLib) worker(key string) worker { return &rworker{m: r.rs.NewMutex(key)} }

func (r *redsyncLib) settle() {}

func (r *redsyncLib) close() {
	for _, p := range r.pools {
		_ = p.Close()
	}
}

type rworker struct{ m *redsync.Mutex }

// errUnlockNotHeld: redsync's Unlock reported false without an error.
var errUnlockNotHeld = fmt.Errorf("%w: redsync reports the lock not held by a quorum", errUnlockCall)

func (w *rworker) cycle(ctx context.Context, hold time.Duration) (wait, held time.Duration, err error) {
	start := time.Now()
	err = w.m.LockContext(ctx)
	wait = time.Since(start)
	if err != nil {
		return wait, 0, fmt.Errorf("%w: %w", errLockCall, err)
	}
	held = sleepFor(hold)
	ok, err := w.m.UnlockContext(context.Background())
	switch {
	case err != nil:
		return wait, held, fmt.Errorf("%w: %w", errUnlockCall, err)
	case !ok:
		return wait, held, errUnlockNotHeld
	}
	return wait, held, nil
}
