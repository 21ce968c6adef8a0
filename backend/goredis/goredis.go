// Package goredis carries the commands of quorumlock nodes over go-redis
// (github.com/redis/go-redis/v9): [New] wraps a [*redis.Client] you
// already have, and the result is what [redlock.NewNode] takes.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "10.0.0.1:6379", ContextTimeoutEnabled: true})
//	conn, err := goredis.New(rdb)
//	...
//	node, err := redlock.NewNode("10.0.0.1:6379", conn)
//
// The library bounds every command by the node timeout through its
// context, so the client must honour context deadlines: New refuses a
// client without ContextTimeoutEnabled, or whose ReadTimeout or
// WriteTimeout is -2 (no socket deadlines at all). With it, the deadline
// bounds waiting for a pooled connection, AUTH, SELECT and the reply; a
// dial or TLS handshake still running at the deadline is abandoned by the
// call and finishes in the background within the client's DialTimeout.
//
// go-redis resends a command whose connection broke (MaxRetries). That
// would hide from the library that a script's reply was lost, so a Conn
// sends each command once, whatever MaxRetries says; the client keeps its
// retries for your other commands. (Hooks on the client see such a command
// as a redis.Cmder that wraps a *redis.Cmd and whose NoRetry is true; its
// name and arguments read as usual.) The library resends its scripts itself,
// knowing that the first copy may have run, and falls back from EVALSHA to
// EVAL itself: a Conn sends plain EVALSHA and EVAL. Replies are normalised
// to the library's values whichever protocol the client speaks (RESP3 by
// default), as a RESP2 client gets them: Lua's false is nil, and a RESP3
// boolean, which Redis sends only for a script that calls
// redis.setresp(3), is 1 for true and 0 for false.
//
// A Conn is also a [redlock.Subscriber], so that a waiter for a lock hears
// at once that the holder released it: its subscriptions share one
// connection of their own. [Conn.Subscribe] says what go-redis does on it
// by itself, and what a Conn lets stand.
//
// [redlock.NewNode]: https://pkg.go.dev/github.com/quorumlock/quorumlock/redlock#NewNode
// [redlock.Subscriber]: https://pkg.go.dev/github.com/quorumlock/quorumlock/redlock#Subscriber
package goredis

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/quorumlock/quorumlock/backend/internal/pubsub"
)

// A Conn sends a node's commands through a go-redis client. It is safe for
// concurrent use.
type Conn struct {
	client *redis.Client
	shas   sync.Map // digest -> the digest as an interface value, boxed once
	subs   *pubsub.Hub
}

// New returns a Conn on client, which stays the caller's: [Conn.Close]
// does not close it. client must reach one Redis master: a client from
// redis.NewClient, or from redis.NewFailoverClient for a master that
// Sentinel manages. (Cluster and ring clients spread keys over several
// masters, and a node is one.) A nil client, or one whose options let
// commands outlive their context's deadline, is an error naming the
// option to set.
func New(client *redis.Client) (*Conn, error) {
	if client == nil {
		return nil, errors.New("goredis: the client is nil")
	}
	o := client.Options()
	switch {
	case !o.ContextTimeoutEnabled:
		return nil, errors.New("goredis: the client's Options.ContextTimeoutEnabled is false, so commands would outlive the node timeout; set it to true")
	case o.ReadTimeout < 0:
		return nil, errors.New("goredis: the client's Options.ReadTimeout is -2, which sets no read deadline, so replies could be awaited past the node timeout")
	case o.WriteTimeout < 0:
		return nil, errors.New("goredis: the client's Options.WriteTimeout is -2, which sets no write deadline, so commands could be sent past the node timeout")
	}
	c := &Conn{client: client}
	c.subs = pubsub.New("goredis", c.dialSubs)
	return c, nil
}

// EvalSHA runs the cached Lua script whose SHA-1 is sha. A server that does
// not have it answers with an error whose text starts with NOSCRIPT.
func (c *Conn) EvalSHA(ctx context.Context, sha string, keys []string, args []any) (any, error) {
	boxed, ok := c.shas.Load(sha)
	if !ok {
		boxed, _ = c.shas.LoadOrStore(sha, sha)
	}
	return c.script(ctx, evalsha, boxed, keys, args)
}

// Eval runs the Lua script src.
func (c *Conn) Eval(ctx context.Context, src string, keys []string, args []any) (any, error) {
	return c.script(ctx, eval, src, keys, args)
}

// The command names, boxed once.
var evalsha, eval, info any = "evalsha", "eval", "info"

// Info returns the text of the server's INFO.
func (c *Conn) Info(ctx context.Context) (string, error) {
	reply, err := c.do(ctx, redis.NewCmd(ctx, info))
	if err != nil {
		return "", err
	}
	text, ok := reply.(string)
	if !ok {
		return "", fmt.Errorf("goredis: INFO replied with a %T, not text", reply)
	}
	return text, nil
}

// Close ends the subscriptions and closes their connection. The client is
// the caller's to close, after the node.
func (c *Conn) Close() error { return c.subs.Close() }

func (c *Conn) script(ctx context.Context, cmd, script any, keys []string, args []any) (any, error) {
	argv := make([]any, 0, 3+len(keys)+len(args))
	argv = append(argv, cmd, script, len(keys))
	for _, k := range keys {
		argv = append(argv, k)
	}
	argv = append(argv, args...)
	return c.do(ctx, redis.NewCmd(ctx, argv...))
}

// do sends cmd once and normalises its reply.
func (c *Conn) do(ctx context.Context, cmd *redis.Cmd) (any, error) {
	_ = c.client.Process(ctx, once{cmd})
	reply, err := cmd.Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return normalize(reply)
}

// once is a command that go-redis sends once: it may not resend it after
// its connection broke, when the first copy may have run.
type once struct{ *redis.Cmd }

// NoRetry tells go-redis not to resend the command.
func (once) NoRetry() bool { return true }

// normalize turns a go-redis reply into quorumlock's reply values: int64,
// string, nil or []any of those. A RESP3 boolean becomes what a RESP2
// client gets: 1 for true, 0 for false.
func normalize(reply any) (any, error) {
	switch v := reply.(type) {
	case nil, int64, string:
		return v, nil
	case bool:
		if v {
			return int64(1), nil
		}
		return int64(0), nil
	case []any:
		for i, e := range v {
			n, err := normalize(e)
			if err != nil {
				return nil, err
			}
			v[i] = n
		}
		return v, nil
	case error: // an error reply inside an array
		return nil, v
	}
	return nil, fmt.Errorf("goredis: unexpected reply of type %T", reply)
}
