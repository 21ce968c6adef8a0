package redlocktest

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/quorumlock/quorumlock/redlock"
)

// A Server is where a [Factory] points the client it makes.
type Server struct {
	Addr     string      // host:port on loopback
	Password string      // for AUTH as the default user; "" for none
	TLS      *tls.Config // not nil: connect with TLS using this configuration
}

// A Factory makes a [redlock.Conn] to s the way a user of the backend
// would: it builds the client library's own client for s, with that
// client's timeouts at their defaults or longer, and wraps it. It reports
// a failure through tb and registers the client's closing with
// tb.Cleanup. The suite closes the Conn it returns.
//
// The client may connect at once or on first use: the suite makes the Conn
// while the server answers, and brings faults on only afterwards.
type Factory func(tb testing.TB, s Server) redlock.Conn

// Run runs every check of the suite on the backend f makes, against
// miniredis and against redis-server processes it starts on loopback. When
// redis-server is not installed the second part is skipped, or fails if
// the environment variable REDLOCK_REQUIRE_REDIS is 1. Checks run one at a
// time; the whole suite takes a few seconds, and a few more for a client
// that finishes a dial abandoned at its deadline before closing.
func Run(t *testing.T, f Factory) {
	t.Helper()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			if why := k.missing(); why != "" {
				skipMissing(t, why)
			}
			for _, c := range checks {
				t.Run(c.name, func(t *testing.T) { c.run(t, &env{kind: k, factory: f}) })
			}
		})
	}
}

// A check is one behaviour every backend must have.
type check struct {
	name string
	run  func(t *testing.T, e *env)
}

var checks = []check{
	{"replies are normalised", checkReplies},
	{"error replies keep the server's text", checkErrorText},
	{"NOSCRIPT is reported and the library falls back", checkNoScript},
	{"Info returns the server's INFO", checkInfo},
	{"a command to a stalled server ends at the deadline", checkStalledCommand},
	{"a dial with AUTH pending ends at the deadline", checkStalledAuth},
	{"a TLS handshake ends at the deadline", checkStalledTLS},
	{"a connection closed mid-command fails promptly, the next call reconnects", checkCut},
	{"a lost reply is an error, the next call reconnects", checkLostReply},
	{"Unlock whose release reply is lost returns nil", checkLostRelease},
	{"a refused password is ErrAuth", checkAuth},
	{"Subscribe: a message published once Subscribe returned is delivered", checkSubscribe},
	{"Subscribe: two subscribers of a channel are given its messages, and one leaving leaves the other", checkSubscribeTwo},
	{"Subscribe: the last subscriber leaving unsubscribes the channel", checkUnsubscribeLast},
	{"Subscribe: joining a channel not yet confirmed waits for the confirmation", checkSubscribeJoin},
	{"Subscribe: a Conn's subscriptions share one connection", checkSubscribeShared},
	{"Subscribe: works again after the subscription connection is killed", checkSubscribeKilled},
	{"Subscribe: ends by its deadline on a silent server", checkSubscribeSilent},
	{"Subscribe: Close ends the subscriptions and their goroutines", checkSubscribeClose},
	{"a waiter is handed the lock by the holder's Unlock, told through its subscription", checkWake},
}

// env is what a check works with: the server kind and the backend.
type env struct {
	kind    kind
	factory Factory
}

// A setup is a server, a proxy in front of it, and a Conn through the
// proxy.
type setup struct {
	server   backing
	proxy    *proxy
	conn     redlock.Conn
	password string
}

// options of a setup.
type options struct {
	password bool // the server requires a password
	tls      bool // the proxy terminates TLS
}

// start starts a server and a proxy, and makes a Conn through the proxy.
func (e *env) start(t *testing.T, o options) *setup {
	t.Helper()
	s := &setup{}
	if o.password {
		s.password = newPassword(t)
	}
	s.server = e.kind.start(t, s.password)
	var serverTLS, clientTLS *tls.Config
	if o.tls {
		serverTLS, clientTLS = tlsPair(t)
	}
	s.proxy = newProxy(t, s.server.addr(), serverTLS)
	s.conn = e.factory(t, Server{Addr: s.proxy.addr(), Password: s.password, TLS: clientTLS})
	if s.conn == nil {
		t.Fatal("the factory returned a nil Conn")
	}
	t.Cleanup(func() { _ = s.conn.Close() })
	return s
}

// another makes a second Conn to the setup's server, through its proxy,
// closed when t ends.
func (e *env) another(t *testing.T, s *setup) redlock.Conn {
	t.Helper()
	c := e.factory(t, Server{Addr: s.proxy.addr(), Password: s.password})
	if c == nil {
		t.Fatal("the factory returned a nil Conn")
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// node wraps the setup's Conn in a node for the library. The node does not
// close the Conn: the setup does.
func (s *setup) node(t *testing.T) *redlock.Node {
	t.Helper()
	n, err := redlock.NewNode(s.proxy.addr(), keepOpen{s.conn})
	if err != nil {
		t.Fatalf("NewNode: %v", err)
	}
	return n
}

// LibraryOptions fit the servers the suite starts, which are fresh and
// either not Redis (miniredis reports no uptime) or without an append-only
// file: no restart quarantine, and those risks accepted. They are about the
// server, not the backend under test. A backend's benchmark on such servers
// can use them too.
var LibraryOptions = []redlock.ClientOption{
	redlock.WithQuarantine(0),
	redlock.WithAcceptRisks(redlock.RiskNoPersistence, redlock.RiskUnprobed),
}

// keepOpen is a Conn whose Close is left to its owner.
type keepOpen struct{ redlock.Conn }

func (keepOpen) Close() error { return nil }

// client returns a one-node client on the setup's Conn: Lock and Unlock
// then depend on this backend alone.
func (s *setup) client(t *testing.T) *redlock.Client {
	t.Helper()
	c, err := redlock.New([]*redlock.Node{s.node(t)}, append(LibraryOptions, redlock.WithNodeTimeout(nodeTimeout))...)
	if err != nil {
		t.Fatalf("redlock.New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

const (
	// callBound is the deadline of calls expected to succeed: far longer
	// than any of them takes, even on a busy machine.
	callBound = 10 * time.Second
	// nodeTimeout is the library's node timeout in the checks through it.
	nodeTimeout = 2 * time.Second
)

// ctx returns a context for a call expected to succeed.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), callBound)
	t.Cleanup(cancel)
	return c
}
