// Package rueidis carries the commands of quorumlock nodes over rueidis
// (github.com/redis/rueidis): [New] wraps a [rueidis.Client] you already
// have, and the result is what [redlock.NewNode] takes.
//
//	rc, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{"10.0.0.1:6379"}, ForceSingleClient: true})
//	...
//	conn, err := qrueidis.New(rc) // this package, imported under another name
//	...
//	node, err := redlock.NewNode("10.0.0.1:6379", conn)
//
// rueidis bounds each command by its context's deadline: a pipelined
// command stops being awaited at the deadline, and a new connection's dial,
// TLS handshake and HELLO with AUTH are bounded by the deadline of the call
// that needed it.
//
// What rueidis does by itself that the library must not see:
//
//   - It retries read-only commands on network errors. EVALSHA and EVAL are
//     not read-only, so a Conn's scripts are sent once and a lost reply
//     reaches the library, which resends them itself knowing the first copy
//     may have run. (INFO may be retried within the deadline; it changes
//     nothing.)
//   - Its Lua helper falls back from EVALSHA to EVAL by itself; a Conn sends
//     plain EVALSHA and EVAL, since the library does the fallback.
//   - It removes "ERR " from the start of error replies. The library reads
//     the server's text, so a Conn returns error replies as the server sent
//     them (the rueidis error is wrapped, for errors.As). An error from a
//     connection's handshake reaches a Conn trimmed already; a Conn puts
//     "ERR " back unless the text starts with another Redis error code.
//   - It speaks RESP3: replies are normalised to the library's values as a
//     RESP2 client gets them: INFO is plain text, not a verbatim string
//     with its "txt:" format, and a RESP3 boolean (sent only for scripts
//     that call redis.setresp(3)) is 1 for true and 0 for false.
//
// Auto-pipelining may send a command whose caller already gave up at its
// deadline; the library treats a timed-out command as one that may run
// late, as on a paused server.
//
// A Conn is also a [redlock.Subscriber], so that a waiter for a lock hears
// at once that the holder released it: its subscriptions share one
// dedicated connection. [Conn.Subscribe] says what rueidis does on it by
// itself.
//
// [redlock.NewNode]: https://pkg.go.dev/github.com/quorumlock/quorumlock/redlock#NewNode
// [redlock.Subscriber]: https://pkg.go.dev/github.com/quorumlock/quorumlock/redlock#Subscriber
package rueidis

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/rueidis"

	"github.com/quorumlock/quorumlock/backend/internal/pubsub"
)

// A Conn sends a node's commands through a rueidis client. It is safe for
// concurrent use.
type Conn struct {
	client    rueidis.Client
	subs      *pubsub.Hub
	dedicated *dedicator // the subscriptions' connections
}

// New returns a Conn on client, which stays the caller's: [Conn.Close] does
// not close it. client must reach one Redis master: a single client
// (ForceSingleClient, or one InitAddress of a server not in cluster mode)
// or a Sentinel client. A cluster client spreads keys over several masters,
// and a node is one: it is an error, as is a nil client.
func New(client rueidis.Client) (*Conn, error) {
	if client == nil {
		return nil, errors.New("rueidis: the client is nil")
	}
	if client.Mode() == rueidis.ClientModeCluster {
		return nil, errors.New("rueidis: the client is a cluster client, whose keys live on several masters; a node needs a client of one master (ClientOption.ForceSingleClient)")
	}
	c := &Conn{client: client, dedicated: &dedicator{client: client}}
	c.subs = pubsub.New("rueidis", c.dialSubs)
	return c, nil
}

// EvalSHA runs the cached Lua script whose SHA-1 is sha. A server that does
// not have it answers with an error whose text starts with NOSCRIPT.
func (c *Conn) EvalSHA(ctx context.Context, sha string, keys []string, args []any) (any, error) {
	if err := checkArgs(args); err != nil {
		return nil, err
	}
	b := c.client.B().Evalsha().Sha1(sha).Numkeys(int64(len(keys))).Key(keys...).Arg()
	for _, a := range args {
		b = b.Arg(str(a))
	}
	return c.do(ctx, b.Build())
}

// Eval runs the Lua script src.
func (c *Conn) Eval(ctx context.Context, src string, keys []string, args []any) (any, error) {
	if err := checkArgs(args); err != nil {
		return nil, err
	}
	b := c.client.B().Eval().Script(src).Numkeys(int64(len(keys))).Key(keys...).Arg()
	for _, a := range args {
		b = b.Arg(str(a))
	}
	return c.do(ctx, b.Build())
}

// Info returns the text of the server's INFO.
func (c *Conn) Info(ctx context.Context) (string, error) {
	res := c.client.Do(ctx, c.client.B().Info().Build())
	msg, err := res.ToMessage()
	if err != nil {
		return "", replyErr(res, &msg, err)
	}
	text, err := msg.ToString()
	if err != nil {
		return "", fmt.Errorf("rueidis: INFO replied with something other than text: %w", err)
	}
	if !msg.IsString() && len(text) >= 4 && text[3] == ':' {
		text = text[4:] // a RESP3 verbatim string starts with its format, "txt:"
	}
	return text, nil
}

// Close ends the subscriptions and closes their connection, after waiting
// for a dial of it in flight (within the client's Dialer.Timeout); rueidis
// waits up to a second for a server that stopped answering to acknowledge
// the closing. The client is the caller's to close, after the node.
func (c *Conn) Close() error {
	err := c.subs.Close()
	c.dedicated.close()
	return err
}

// do sends cmd and normalises its reply.
func (c *Conn) do(ctx context.Context, cmd rueidis.Completed) (any, error) {
	res := c.client.Do(ctx, cmd)
	msg, err := res.ToMessage()
	if err != nil {
		return nil, replyErr(res, &msg, err)
	}
	return normalize(&msg)
}

// checkArgs returns an error unless every script argument is a string or
// an int64.
func checkArgs(args []any) error {
	for i, a := range args {
		switch a.(type) {
		case string, int64:
		default:
			return fmt.Errorf("rueidis: script argument %d is a %T; want a string or an int64", i, a)
		}
	}
	return nil
}

// str returns a script argument, a string or an int64, as rueidis sends it.
func str(a any) string {
	if n, ok := a.(int64); ok {
		return strconv.FormatInt(n, 10)
	}
	s, _ := a.(string)
	return s
}
