// Package redlocktest is the test suite every quorumlock backend passes (as
// net/http/httptest is beside net/http): a
// [redlock.Conn] over any Redis client must behave the same for the
// library's algorithm to hold. A backend's test calls [Run] with a
// [Factory] that wraps the client library's own client:
//
//	func TestConformance(t *testing.T) {
//		redlocktest.Run(t, func(tb testing.TB, s redlocktest.Server) redlock.Conn {
//			client := newClient(s.Addr, s.Password, s.TLS) // the user's client
//			tb.Cleanup(func() { client.Close() })
//			conn, err := mybackend.New(client)
//			if err != nil {
//				tb.Fatal(err)
//			}
//			return conn
//		})
//	}
//
// Run checks, against miniredis and against redis-server processes it
// starts on loopback (skipped when redis-server is missing, unless
// REDLOCK_REQUIRE_REDIS=1):
//
//   - replies: integers, strings, Lua's false and true, nested arrays come
//     back as int64, string, nil and []any as a RESP2 client gets them,
//     whichever protocol the client speaks (RESP3 booleans as 1 and 0);
//   - error replies keep the server's text, code first (ERR included),
//     inside an array too;
//   - EVALSHA of an unknown digest fails with NOSCRIPT, and the library's
//     own fallback to EVAL locks, extends and unlocks on a fresh server;
//   - Info returns the server's INFO text;
//   - every call ends by its context's deadline: a command to a server that
//     stopped answering, a new connection whose AUTH is never answered, a
//     TLS handshake that never completes;
//   - a connection closed after the command was read fails the call at
//     once, and the next call works;
//   - a command that ran but whose reply was lost with its connection is an
//     error wrapping io.EOF, io.ErrUnexpectedEOF, ECONNRESET or EPIPE (the
//     library resends idempotent scripts on those alone, and so must know),
//     never a silent retry by the client, and Unlock of a lock whose
//     release reply is lost so returns nil;
//   - a refused password surfaces as a [redlock.NodeError] wrapping
//     [redlock.ErrAuth];
//   - for a Conn that implements [redlock.Subscriber] (the checks are
//     skipped, saying so, for one that does not): once Subscribe returned,
//     the server counts the subscription and a message published is
//     delivered; two subscriptions of one channel are both given its
//     messages, and one leaving leaves the other; the last one leaving
//     unsubscribes the channel on the server, and nothing more is delivered;
//     a Subscribe joining a channel whose SUBSCRIBE is not yet confirmed
//     waits for that confirmation too; all the subscriptions of a Conn share
//     one connection (counted by the proxy, and on redis-server by CLIENT
//     LIST TYPE pubsub), and another Conn has its own; when the subscription
//     connection is killed (CLIENT KILL TYPE pubsub, or by the proxy on
//     miniredis) its subscriptions end, and Subscribe works again; Subscribe
//     ends by its deadline on a silent server, whether it dials or its
//     connection is open; Close ends the subscriptions, those awaiting
//     their confirmation too, and leaves no goroutine;
//   - a waiter in Lock is woken by the holder's Unlock through its
//     subscription: its retry timer runs on a fake clock that never
//     advances, so that only a message can end its wait.
//
// Wire faults come from a small proxy between the client and the server,
// which reads the Redis protocol to fault (or hold back) exactly the
// command meant; with TLS it terminates TLS for the client with a
// certificate of its own.
package redlocktest
