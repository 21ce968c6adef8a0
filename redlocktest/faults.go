package redlocktest

import (
	"context"
	"errors"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/quorumlock/quorumlock/redlock"
)

const (
	// stallDeadline is the deadline of calls to a stalled server.
	stallDeadline = 300 * time.Millisecond
	// slack is how late after its deadline such a call may return: far
	// more than a busy machine needs, and less than the clients' own
	// default timeouts (5s), which must not be what ends the call.
	slack = 2 * time.Second
	// maxDials bounds the calls made to get a client to dial anew after
	// its connections were closed under it (a pipelining client may first
	// notice the closed connection).
	maxDials = 3
)

// evalOne runs a trivial script that must succeed.
func evalOne(t *testing.T, c redlock.Conn, what string) {
	t.Helper()
	got, err := c.Eval(ctx(t), "return 1", nil, nil)
	if err != nil || got != int64(1) {
		t.Fatalf("%s: Eval returned %v, %v; want 1", what, got, err)
	}
}

// bounded calls f with a context whose deadline is stallDeadline away and
// fails t if f answers, or returns more than slack after the deadline.
func bounded(t *testing.T, what string, f func(ctx context.Context) error) {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), stallDeadline)
	defer cancel()
	start := time.Now()
	err := f(c)
	elapsed := time.Since(start)
	if err == nil {
		t.Errorf("%s answered although the server was stalled", what)
	}
	if elapsed > stallDeadline+slack {
		t.Errorf("%s hung: it returned %v after its %v deadline", what, (elapsed - stallDeadline).Round(time.Millisecond), stallDeadline)
	}
}

// checkStalledCommand: on a connection whose server stops answering, each
// kind of call returns by its deadline.
func checkStalledCommand(t *testing.T, e *env) {
	s := e.start(t, options{})
	evalOne(t, s.conn, "before the stall")
	s.proxy.stall()
	bounded(t, "EVAL", func(c context.Context) error {
		_, err := s.conn.Eval(c, "return 1", nil, nil)
		return err
	})
	bounded(t, "EVALSHA", func(c context.Context) error {
		_, err := s.conn.EvalSHA(c, digest("return 1"), nil, nil)
		return err
	})
	bounded(t, "INFO", func(c context.Context) error {
		_, err := s.conn.Info(c)
		return err
	})
}

// stalledDial closes the setup's connections and stalls new ones, then
// calls until the client dials one, each call bounded; it returns the
// first command of each stalled connection.
func stalledDial(t *testing.T, s *setup, what string) []string {
	t.Helper()
	accepted, _, _, _ := s.proxy.counts()
	s.proxy.stall()
	s.proxy.drop()
	for range maxDials {
		bounded(t, what, func(c context.Context) error {
			_, err := s.conn.Eval(c, "return 1", nil, nil)
			return err
		})
		if now, _, _, firsts := s.proxy.counts(); now > accepted {
			return firsts
		}
	}
	t.Fatalf("%s: no new connection after %d calls on closed ones", what, maxDials)
	return nil
}

// checkStalledAuth: a new connection whose AUTH is never answered ends
// by the deadline of the call that needed it.
func checkStalledAuth(t *testing.T, e *env) {
	s := e.start(t, options{password: true})
	evalOne(t, s.conn, "with the password")
	firsts := stalledDial(t, s, "a call dialling with AUTH pending")
	if t.Failed() {
		return
	}
	// firsts is filled as the stalled connection's first command arrives,
	// which may be after the call gave up: wait for it, briefly.
	for deadline := time.Now().Add(slack); len(firsts) == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		_, _, _, firsts = s.proxy.counts()
	}
	if len(firsts) == 0 || (firsts[0] != "AUTH" && firsts[0] != "HELLO AUTH") {
		t.Errorf("the new connection's first commands were %q, want AUTH or HELLO with AUTH", firsts)
	}
}

// checkStalledTLS: a TLS handshake the server never answers ends by the
// deadline of the call that needed it.
func checkStalledTLS(t *testing.T, e *env) {
	s := e.start(t, options{tls: true})
	evalOne(t, s.conn, "over TLS")
	stalledDial(t, s, "a call dialling with the TLS handshake pending")
}

// cutBound is how soon a call on a connection closed under it must fail:
// long before its own deadline (callBound).
const cutBound = 5 * time.Second

// checkCut: a connection closed by the peer after reading the command
// fails the call at once, not at its deadline; the next call works, on
// another connection since that one is closed.
func checkCut(t *testing.T, e *env) {
	s := e.start(t, options{})
	evalOne(t, s.conn, "before the cut")
	s.proxy.cutNextScript()
	start := time.Now()
	_, err := s.conn.Eval(ctx(t), "return 2", nil, nil)
	elapsed := time.Since(start)
	if err == nil {
		t.Error("EVAL on a connection closed under it returned no error")
	}
	if elapsed > cutBound || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("EVAL on a connection closed under it returned after %v (%v), not at once", elapsed.Round(time.Millisecond), err)
	}
	if _, cuts, _, _ := s.proxy.counts(); cuts != 1 {
		t.Errorf("the proxy cut %d connections, want 1", cuts)
	}
	evalOne(t, s.conn, "after the cut")
}

// connLost reports whether err says that the connection was closed, which
// is how the library knows a script may have run and is to be resent.
func connLost(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// checkLostReply: a command that ran but whose reply was lost with its
// connection is an error saying the connection was lost (not retried by
// the client behind the library's back), and the next call works.
func checkLostReply(t *testing.T, e *env) {
	s := e.start(t, options{})
	evalOne(t, s.conn, "before the lost reply")
	const key = "conformance:counter"
	s.proxy.loseNextScriptReply()
	reply, err := s.conn.Eval(ctx(t), "return redis.call('INCR', KEYS[1])", []string{key}, nil)
	if err == nil {
		t.Errorf("EVAL whose reply was lost returned %v and no error", reply)
	} else if !connLost(err) {
		t.Errorf("EVAL whose reply was lost returned %q, which wraps none of io.EOF, io.ErrUnexpectedEOF, ECONNRESET, EPIPE: the library resends on those alone", err)
	}
	if _, _, lost, _ := s.proxy.counts(); lost != 1 {
		t.Errorf("the proxy dropped %d replies, want 1", lost)
	}
	if v, _ := s.server.get(t, key); v != "1" {
		t.Errorf("the counter is %q on the server, want 1: the command whose reply was lost runs once", v)
	}
	got, err := s.conn.Eval(ctx(t), "return redis.call('INCR', KEYS[1])", []string{key}, nil)
	if err != nil || got != int64(2) {
		t.Errorf("EVAL after the lost reply returned %v, %v; want 2", got, err)
	}
}

// checkLostRelease: the library resends a release whose reply was lost;
// the resent copy finds the key gone (the first copy deleted it), and
// Unlock, told the first copy may have run, returns nil.
func checkLostRelease(t *testing.T, e *env) {
	s := e.start(t, options{})
	c := s.client(t)
	// A first lock and unlock caches the release script, so that the reply
	// lost below is that of a release that ran, not a NOSCRIPT.
	warm, err := c.TryLock(ctx(t), "conformance-release")
	if err != nil {
		t.Fatalf("TryLock: %v", err)
	}
	if err := warm.Unlock(ctx(t)); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	l, err := c.TryLock(ctx(t), "conformance-release")
	if err != nil {
		t.Fatalf("TryLock: %v", err)
	}
	s.proxy.loseNextScriptReply()
	if err := l.Unlock(ctx(t)); err != nil {
		t.Errorf("Unlock whose release reply was lost: %v; want nil", err)
	}
	if _, _, lost, _ := s.proxy.counts(); lost != 1 {
		t.Errorf("the proxy dropped %d replies, want 1", lost)
	}
	if _, ok := s.server.get(t, l.Key()); ok {
		t.Error("after Unlock the lock's key is still on the server")
	}
}
