package redlock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"syscall"
)

// A Conn carries the commands of one [Node] to its Redis server. It is the
// seam between the algorithm and a Redis client: the backends in
// backend/redigo (the default, which [ParseURL] uses), backend/goredis and
// backend/rueidis implement it, and so can a test fake.
//
// Every call gets a context with a deadline, the node timeout: a Conn must
// return by then, whatever it is waiting for (a connection from a pool, a
// dial, a TLS handshake, AUTH, the reply). A Conn must be safe for concurrent
// use.
//
// Replies are Go values: a Redis integer is an int64, a simple or bulk
// string a string, a nil reply (Lua's false) nil, and an array a []any of
// those. A Redis error reply is returned as an error whose text, or that of
// an error it wraps, is the server's message as sent (for instance
// "NOSCRIPT No matching script..."), so that the algorithm can tell a
// missing script, a refused password and a bad database apart.
//
// EvalSHA must send EVALSHA and report NOSCRIPT as it comes: a Conn must not
// load scripts by itself (as the script helpers of go-redis and rueidis do).
// The node's NOSCRIPT answers are how it learns that its server restarted
// (see [WithQuarantine]); a Conn that hid them would turn the quarantine off.
// Nor may a Conn resend a command by itself after its connection broke: the
// node resends its scripts itself, and must know when it did. A broken
// connection must show in the error chain as io.EOF, io.ErrUnexpectedEOF,
// syscall.ECONNRESET, syscall.EPIPE or net.ErrClosed, which is what tells
// the node to resend; an error reply nested in an array reply is the call's error.
// Package redlocktest checks all of this.
type Conn interface {
	// EvalSHA runs the Lua script cached on the server under the SHA-1
	// digest sha, with keys as KEYS and args (strings and int64s) as ARGV.
	EvalSHA(ctx context.Context, sha string, keys []string, args []any) (any, error)
	// Eval runs the Lua script src, which the server caches.
	Eval(ctx context.Context, src string, keys []string, args []any) (any, error)
	// Info returns the text of the server's INFO (its default sections).
	Info(ctx context.Context) (string, error)
	// Close releases what the Conn holds. A Conn given to NewNode is closed
	// by Node.Close.
	Close() error
}

// A Node is one independent Redis master taking part in the lock. Build one
// with [NewNode] from a [Conn], or with [ParseURL]. A Node is safe for
// concurrent use and may serve several clients; make it once and keep it,
// since a node remembers what it has seen of its server: the server's
// incarnation, which tells it of restarts (see [WithQuarantine]).
type Node struct {
	name  string // unique among a client's nodes: host:port for URL nodes
	desc  string // for String: the URL with any secret masked
	conn  Conn
	watch watch // what the node knows of its server
}

// NewNode returns a Node that sends its commands through conn. name names
// the node in errors and status output and must be unique among a client's
// nodes; host:port is the natural choice. Closing the node closes conn. A
// nil conn or an empty name is an error wrapping [ErrInvalidArgument].
func NewNode(name string, conn Conn) (*Node, error) {
	switch {
	case name == "":
		return nil, invalid("node name is empty")
	case isNil(conn):
		return nil, invalid("node %s: conn is nil", name)
	}
	return newNode(name, name, conn)
}

func newNode(name, desc string, conn Conn) (*Node, error) {
	n := &Node{name: name, desc: desc, conn: conn}
	n.watch.suspect = true // until a first probe
	n.watch.seen, n.watch.source = "", "!"
	return n, nil
}

// isNil reports whether conn is nil or a nil pointer in an interface.
func isNil(conn Conn) bool {
	if conn == nil {
		return true
	}
	v := reflect.ValueOf(conn)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// Addr returns the node's name, as given to NewNode: host:port for a node
// from ParseURL.
func (n *Node) Addr() string { return n.name }

// String describes the node: its URL with any password masked, or its name.
func (n *Node) String() string { return n.desc }

// Close closes the node's Conn. Close the node only after every client using
// it is done.
func (n *Node) Close() error { return n.conn.Close() }

// run runs s on the node with keys and args: by its digest, then by its
// source if the server does not have it cached. args[0] is left for the
// node's incarnation (see node.lua), which run writes: args must be the
// node's own. Every script of ours is idempotent, so one that met a
// connection the server had closed, as pooled connections are after a
// restart, is sent again, a few times at most; how tells whether it was,
// and what the server knew when it was. A reply that tells of a new
// incarnation is recorded (see [Node.sawIncarnation]) and unwrapped.
func (n *Node) run(ctx context.Context, s *script, keys []string, args []any) (reply any, how sending, err error) {
	args[0] = n.seenArg()
	for try := range staleRetries {
		reply, err = n.conn.EvalSHA(ctx, s.sha, keys, args)
		fresh := redisCode(err) == "NOSCRIPT"
		if fresh {
			reply, err = n.conn.Eval(ctx, s.src, keys, n.bySource(args))
		}
		var changed bool
		if err == nil {
			reply, changed, err = n.unwrap(reply, s)
		}
		switch {
		case staleConn(err):
			n.maybeRestarted()
			continue
		case try == 0:
			return reply, sentOnce, err
		case fresh || changed:
			return reply, sentAgainFresh, err
		}
		return reply, sentAgain, err
	}
	return reply, sentAgain, err
}

// A sending tells how a script reached the server.
type sending int

const (
	sentOnce       sending = iota // in one copy
	sentAgain                     // again, after a broken connection: an earlier copy may have run
	sentAgainFresh                // again, to a server that had forgotten the script or changed its incarnation: restarted (or flushed) since, so what an earlier copy did may be lost with its data
)

// evalSource runs s by its source, without relying on the server's cache:
// for undoing a failed attempt on a node that may have just restarted, or
// be frozen, where a NOSCRIPT answer would come too late to be followed.
// args is as for [Node.run].
func (n *Node) evalSource(ctx context.Context, s *script, keys []string, args []any) (any, error) {
	args[0] = n.sourceArg()
	var reply any
	var err error
	for range staleRetries {
		if reply, err = n.conn.Eval(ctx, s.src, keys, args); !staleConn(err) {
			break
		}
	}
	if err == nil {
		reply, _, err = n.unwrap(reply, s)
	}
	return reply, err
}

// bySource returns a copy of args, a script's arguments by its digest, for
// sending it by its source.
func (n *Node) bySource(args []any) []any {
	out := append([]any(nil), args...)
	out[0] = n.sourceArg()
	return out
}

// unwrap returns a script's reply as the script made it, recording a new
// incarnation if the reply tells of one (see node.lua), and reports
// whether it did.
func (n *Node) unwrap(reply any, s *script) (any, bool, error) {
	wrapped, ok := reply.([]any)
	if !ok || len(wrapped) != 3 {
		return reply, false, nil
	}
	if tag, _ := wrapped[0].(string); tag != incarnationKey {
		return reply, false, nil
	}
	inc, ok := wrapped[1].(string)
	if !ok || inc == "" {
		return nil, false, fmt.Errorf("unexpected incarnation %v from %s", wrapped[1], s.name)
	}
	return wrapped[2], n.sawIncarnation(inc), nil
}

// incarnationKey is the key of a server's incarnation, and the tag of a
// reply that tells of a new one (see node.lua).
const incarnationKey = Reserved + "incarnation"

// staleRetries bounds the sends of a script whose connections turn out to
// be closed by the server.
const staleRetries = 4

// staleConn reports whether err says the connection was closed or reset,
// as opposed to a timeout or an answer.
func staleConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// nodeErr wraps a failure on n, or returns nil. A refused password or
// command wraps ErrAuth, and a database the server cannot select wraps
// ErrInvalidArgument, so that callers can tell configuration from outage.
func (n *Node) nodeErr(err error) error {
	if err == nil || alreadyNodeErr(n, err) {
		return err
	}
	switch redisClass(err) {
	case classAuth:
		err = fmt.Errorf("%w: %w", ErrAuth, err)
	case classConfig:
		err = fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	return &NodeError{Addr: n.name, Err: err}
}
