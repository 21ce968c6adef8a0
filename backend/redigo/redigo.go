// Package redigo carries the commands of quorumlock nodes over redigo
// (github.com/gomodule/redigo). [New] wraps a pool you already have; [Open]
// makes a pool of its own, as [github.com/quorumlock/quorumlock/redlock.ParseURL]
// does. Either way the result is what [redlock.NewNode] takes.
//
// Every command is bounded by its context's deadline, which quorumlock always
// sets to the node timeout: the deadline becomes the connection's read
// deadline, and a pool made by [Open] also bounds dialing, the TLS handshake,
// AUTH and SELECT by it.
//
// A Conn is also a [redlock.Subscriber], so that a waiter for a lock hears
// at once that the holder released it: its subscriptions share one
// connection of their own (see [Conn.Subscribe]).
//
// [redlock.NewNode]: https://pkg.go.dev/github.com/quorumlock/quorumlock/redlock#NewNode
// [redlock.Subscriber]: https://pkg.go.dev/github.com/quorumlock/quorumlock/redlock#Subscriber
package redigo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/quorumlock/quorumlock/backend/internal/pubsub"
)

// A Pool hands out connections to one Redis server; [*redis.Pool] is one.
// The connections must implement [redis.ConnWithTimeout], as redigo's do.
type Pool interface {
	GetContext(ctx context.Context) (redis.Conn, error)
}

// A Conn sends a node's commands through a redigo pool ([New]), or over
// pipelined connections of its own ([Open]). It is safe for concurrent use.
type Conn struct {
	pool Pool     // New: the caller's pool
	mux  *mux     // Open: connections of its own
	shas sync.Map // digest -> the digest as an interface value, boxed once
	subs *pubsub.Hub
}

// New returns a Conn on pool, which stays the caller's: [Conn.Close] does
// not close it. A nil pool is an error.
func New(pool Pool) (*Conn, error) {
	if pool == nil {
		return nil, errors.New("redigo: the pool is nil")
	}
	if p, ok := pool.(*redis.Pool); ok && p == nil {
		return nil, errors.New("redigo: the pool is nil")
	}
	return newConn(pool, nil), nil
}

// newConn returns a Conn on pool or mux.
func newConn(pool Pool, mux *mux) *Conn {
	c := &Conn{pool: pool, mux: mux}
	c.subs = pubsub.New("redigo", c.dialSubs)
	return c
}

// EvalSHA runs the cached Lua script whose SHA-1 is sha. A server that does
// not have it answers with an error whose text starts with NOSCRIPT.
func (c *Conn) EvalSHA(ctx context.Context, sha string, keys []string, args []any) (any, error) {
	boxed, ok := c.shas.Load(sha)
	if !ok {
		boxed, _ = c.shas.LoadOrStore(sha, sha)
	}
	return c.script(ctx, "EVALSHA", boxed, keys, args)
}

// Eval runs the Lua script src.
func (c *Conn) Eval(ctx context.Context, src string, keys []string, args []any) (any, error) {
	return c.script(ctx, "EVAL", src, keys, args)
}

// Info returns the text of the server's INFO.
func (c *Conn) Info(ctx context.Context) (string, error) {
	reply, err := c.do(ctx, "", "INFO", nil)
	if err != nil {
		return "", err
	}
	return redis.String(reply, nil)
}

// Close ends the subscriptions, and closes the connections [Open] made,
// failing the commands still waiting on them; a pool given to [New] is the
// caller's, and stays open.
func (c *Conn) Close() error {
	err := c.subs.Close()
	if c.mux != nil {
		err = errors.Join(err, c.mux.close())
	}
	return err
}

// argvPool recycles the argument vectors of scripts.
var argvPool = sync.Pool{New: func() any { s := make([]any, 0, 8); return &s }}

func (c *Conn) script(ctx context.Context, cmd string, script any, keys []string, args []any) (any, error) {
	p := argvPool.Get().(*[]any)
	argv := append((*p)[:0], script, len(keys))
	for _, k := range keys {
		argv = append(argv, k)
	}
	argv = append(argv, args...)
	key := ""
	if len(keys) > 0 {
		key = keys[0]
	}
	reply, err := c.do(ctx, key, cmd, argv)
	clear(argv)
	*p = argv[:0]
	argvPool.Put(p)
	return reply, err
}

// do sends one command on key, bounded by ctx's deadline or, lacking one,
// by ctx.
func (c *Conn) do(ctx context.Context, key, cmd string, argv []any) (any, error) {
	if c.mux != nil {
		reply, err := c.mux.do(ctx, key, cmd, argv)
		if err != nil {
			return nil, err
		}
		return normalize(reply)
	}
	conn, err := c.pool.GetContext(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var reply any
	if deadline, ok := ctx.Deadline(); ok {
		timeout := time.Until(deadline)
		if timeout <= 0 {
			return nil, context.DeadlineExceeded
		}
		reply, err = redis.DoWithTimeout(conn, timeout, cmd, argv...)
	} else {
		reply, err = redis.DoContext(conn, ctx, cmd, argv...)
	}
	if err != nil {
		return nil, err
	}
	return normalize(reply)
}

// normalize turns a redigo reply into quorumlock's reply values: int64,
// string, nil or []any of those.
func normalize(reply any) (any, error) {
	switch v := reply.(type) {
	case nil, int64, string:
		return v, nil
	case []byte:
		return string(v), nil
	case []any:
		for i, e := range v {
			n, err := normalize(e)
			if err != nil {
				return nil, err
			}
			v[i] = n
		}
		return v, nil
	case redis.Error:
		return nil, v
	}
	return nil, fmt.Errorf("redigo: unexpected reply of type %T", reply)
}
