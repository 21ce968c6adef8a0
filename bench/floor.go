package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gomodule/redigo/redis"
)

// floorTTL is the expiry the floor's keys get: quorumlock's default ttl.
const floorTTL = 10 * time.Second

// compareAndDelete deletes KEYS[1] if it holds ARGV[1].
var compareAndDelete = redis.NewScript(1,
	`if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) end return 0`)

// floor is the least a five-node lock can cost: SET key token NX PX ttl
// sent to every node at once, waiting for every answer, then a
// compare-and-delete sent the same way. No quorum arithmetic, no validity,
// no undo, no retry: what is left is the network and the servers.
type floor struct{ pools []*redis.Pool }

func newFloor(addrs []string) *floor {
	f := &floor{}
	for _, a := range addrs {
		f.pools = append(f.pools, newPool(a))
	}
	return f
}

func (f *floor) name() string { return "floor" }

func (f *floor) worker(key string) worker { return &fworker{f: f, key: key} }

func (f *floor) settle() {}

func (f *floor) close() {
	for _, p := range f.pools {
		_ = p.Close()
	}
}

type fworker struct {
	f   *floor
	key string
}

// errFloorRefused: a node answered the SET with nil (the key was held).
var errFloorRefused = errors.New("a node refused SET NX: the key was held")

func (w *fworker) cycle(ctx context.Context, hold time.Duration) (wait, held time.Duration, err error) {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	token := base64.RawURLEncoding.EncodeToString(b[:])
	start := time.Now()
	err = w.all(ctx, func(c redis.Conn) error {
		reply, err := redis.String(c.Do("SET", w.key, token, "NX", "PX", floorTTL.Milliseconds()))
		if errors.Is(err, redis.ErrNil) {
			return errFloorRefused
		} else if err == nil && reply != "OK" {
			return fmt.Errorf("SET answered %q", reply)
		}
		return err
	})
	wait = time.Since(start)
	if err != nil {
		return wait, 0, fmt.Errorf("%w: %w", errLockCall, err)
	}
	held = sleepFor(hold)
	err = w.all(context.Background(), func(c redis.Conn) error {
		_, err := compareAndDelete.Do(c, w.key, token)
		return err
	})
	if err != nil {
		return wait, held, fmt.Errorf("%w: %w", errUnlockCall, err)
	}
	return wait, held, nil
}

// all runs fn on a connection of every node at once and waits for every
// answer; it returns their errors, joined.
func (w *fworker) all(ctx context.Context, fn func(redis.Conn) error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(w.f.pools))
	for i, p := range w.f.pools {
		wg.Go(func() {
			c, err := p.GetContext(ctx)
			if err != nil {
				errs[i] = err
				return
			}
			defer c.Close()
			errs[i] = fn(c)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
