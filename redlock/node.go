package redlock

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gomodule/redigo/redis"
)

// A Pool hands out connections to one Redis server. [*redis.Pool] satisfies
// it. The connections it returns must implement [redis.ConnWithTimeout], as
// redigo's do: every command a [Node] sends is bounded by a read deadline.
type Pool interface {
	GetContext(ctx context.Context) (redis.Conn, error)
}

// A Node is one independent Redis master taking part in the lock. Build one
// with [NewNode] from a pool you already have, or with [ParseURL]. A Node is
// safe for concurrent use and may serve several clients.
type Node struct {
	addr  string    // unique name: host:port for URL nodes
	desc  string    // for String: the URL with any password masked
	pool  Pool      // never nil
	owned io.Closer // the pool ParseURL made, closed by Close; else nil
}

// NewNode returns a Node that talks to the Redis master behind pool. addr
// names the node in errors and must be unique among a client's nodes;
// host:port is the natural choice. The caller keeps ownership of pool:
// [Node.Close] does not close it. A nil pool or an empty addr is an error
// wrapping [ErrInvalidArgument].
func NewNode(addr string, pool Pool) (*Node, error) {
	if addr == "" {
		return nil, invalid("node address is empty")
	}
	if pool == nil {
		return nil, invalid("node %s: pool is nil", addr)
	}
	if p, ok := pool.(*redis.Pool); ok && p == nil {
		return nil, invalid("node %s: pool is nil", addr)
	}
	return &Node{addr: addr, desc: addr, pool: pool}, nil
}

// Pool defaults for nodes made by ParseURL.
const (
	urlMaxIdle     = 16
	urlIdleTimeout = 4 * time.Minute
	urlDialTimeout = 2 * time.Second
	urlIOTimeout   = 2 * time.Second
)

// ParseURL returns a Node for a URL of the form
// redis://[[user]:password@]host:port[/db], or rediss:// for TLS. The node
// owns a connection pool that keeps up to 16 idle connections for at most 4
// minutes; dialing is bounded by 2 s and by the caller's context,
// and each command by the client's node timeout. Extra dial options, such
// as [redis.DialTLSConfig], are passed on to every dial. A malformed URL is
// an error wrapping [ErrInvalidArgument]; neither the error nor
// [Node.String] ever shows the password.
func ParseURL(rawURL string, options ...redis.DialOption) (*Node, error) {
	shown := redact(rawURL)
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error and its causes quote parts of the URL, password
		// included: say what is wrong without them.
		return nil, invalid("node URL %q cannot be parsed (percent-encode special characters in the user and password)", shown)
	}
	switch {
	case u.Scheme != "redis" && u.Scheme != "rediss":
		return nil, invalid("node URL %q: scheme must be redis or rediss", shown)
	case u.Opaque != "" || u.Host == "":
		return nil, invalid("node URL %q: no host", shown)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, invalid("node URL %q: query and fragment are not supported", shown)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || host == "" {
		return nil, invalid("node URL %q: host must be host:port", shown)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || !digits(port) {
		return nil, invalid("node URL %q: port is not a number in 1-65535", shown)
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" && !digits(db) {
		return nil, invalid("node URL %q: database is not a number", shown)
	}
	opts := append([]redis.DialOption{
		redis.DialConnectTimeout(urlDialTimeout),
		redis.DialReadTimeout(urlIOTimeout),
		redis.DialWriteTimeout(urlIOTimeout),
	}, options...)
	pool := &redis.Pool{
		MaxIdle:     urlMaxIdle,
		IdleTimeout: urlIdleTimeout,
		// No MaxActive: a connection is busy for one command at most,
		// bounded by the node timeout, so the number in use is bounded by
		// the request rate times that timeout.
		DialContext: func(ctx context.Context) (redis.Conn, error) {
			return redis.DialURLContext(ctx, rawURL, opts...)
		},
	}
	return &Node{addr: u.Host, desc: shown, pool: pool, owned: pool}, nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// redact masks the password of a node URL, however malformed: everything
// after the first colon of the user information, which is taken to run from
// the scheme's end to the last "@" of the whole string (a password may hold
// unescaped '/', '?', '#' or '@' that would end it earlier for url.Parse).
// A user information with such characters before its first colon is masked
// whole.
func redact(raw string) string {
	at := strings.LastIndex(raw, "@")
	if at < 0 {
		return raw
	}
	start := 0
	if i := strings.Index(raw, "://"); i >= 0 && i < at {
		start = i + len("://")
	} else if i := strings.Index(raw, ":"); i >= 0 && i < at {
		start = i + 1 // "redis:user:pw@host"
	}
	user, _, hasPassword := strings.Cut(raw[start:at], ":")
	switch {
	case strings.ContainsAny(user, "/?#"):
		return raw[:start] + "xxxxx" + raw[at:]
	case hasPassword:
		return raw[:start] + user + ":xxxxx" + raw[at:]
	}
	return raw
}

// Addr returns the node's name: host:port for a node from ParseURL.
func (n *Node) Addr() string { return n.addr }

// String describes the node: its URL with any password masked, or its
// address.
func (n *Node) String() string { return n.desc }

// Close closes the connection pool if ParseURL made it; a pool given to
// NewNode is the caller's to close. Close the node only after every client
// using it is done.
func (n *Node) Close() error {
	if n.owned == nil {
		return nil
	}
	return n.owned.Close()
}

// do sends one command bounded by ctx's deadline, which every round sets.
func (n *Node) do(ctx context.Context, cmd string, args []any) (any, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return nil, errors.New("redlock: internal: no deadline") // every round sets one
	}
	conn, err := n.pool.GetContext(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	timeout := time.Until(deadline) // what getting the connection left
	if timeout <= 0 {
		return nil, context.DeadlineExceeded
	}
	return redis.DoWithTimeout(conn, timeout, cmd, args...)
}

// eval runs s, sending its source only if the node does not know its hash.
// Our scripts are idempotent (compare-then-act, or read-only), so a script
// that met a connection the node had closed, as idle connections are after
// the node restarts, is sent again on another, a few times at most.
func (n *Node) eval(ctx context.Context, s *script, args []any) (reply any, err error) {
	for range staleRetries {
		reply, err = n.do(ctx, "EVALSHA", args)
		if e, ok := err.(redis.Error); ok && strings.HasPrefix(string(e), "NOSCRIPT") {
			src := make([]any, len(args))
			copy(src, args)
			src[0] = s.src
			reply, err = n.do(ctx, "EVAL", src)
		}
		if !staleConn(err) {
			break
		}
	}
	return reply, err
}

// staleRetries bounds the attempts of an idempotent command whose
// connections turn out to be closed by the node.
const staleRetries = 4

// staleConn reports whether err says the connection was closed or reset by
// the node, as opposed to a timeout or an answer.
func staleConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// nodeErr wraps a failure on n, or returns nil.
func (n *Node) nodeErr(err error) error {
	if err == nil {
		return nil
	}
	return &NodeError{Addr: n.addr, Err: err}
}
