package redlocktest

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/quorumlock/quorumlock/redlock"
)

// The checks of the connection that carries a [redlock.Subscriber]'s
// subscriptions.

// checkSubscribeShared: all the subscriptions of a Conn share one
// connection, opened for the first; another Conn has one of its own.
func checkSubscribeShared(t *testing.T, e *env) {
	s := e.start(t, options{})
	sub := s.subscriber(t)
	before, _, _, _ := s.proxy.counts()
	defer subscribe(t, sub, newInbox(), chanA)()
	defer subscribe(t, sub, newInbox(), chanB)() // while the first is active
	defer subscribe(t, sub, newInbox(), chanA)()
	if after, _, _, _ := s.proxy.counts(); after-before != 1 {
		t.Errorf("three subscriptions of one Conn opened %d connections, want 1", after-before)
	}
	redisServer, real := s.server.(*redisProc)
	if real {
		if n := redisServer.pubsubClients(t); n != 1 {
			t.Errorf("with one Conn subscribed, the server lists %d connections of type pubsub, want 1", n)
		}
	}
	other, ok := e.another(t, s).(redlock.Subscriber)
	if !ok {
		t.Fatalf("a second Conn of the backend does not implement redlock.Subscriber")
	}
	defer subscribe(t, other, newInbox(), chanA)()
	if real {
		if n := redisServer.pubsubClients(t); n != 2 {
			t.Errorf("with two Conns subscribed, the server lists %d connections of type pubsub, want 2", n)
		}
	}
	s.published(t, chanA, "one", 2, "with two Conns subscribed")
}

// checkSubscribeKilled: when the subscription connection is killed, its
// subscriptions end, and Subscribe works again on a new connection (after
// one or two failures, while the client notices the kill).
func checkSubscribeKilled(t *testing.T, e *env) {
	s := e.start(t, options{})
	sub := s.subscriber(t)
	old := newInbox()
	unsub := subscribe(t, sub, old, chanA)
	var killed int
	if r, ok := s.server.(*redisProc); ok {
		killed = r.killPubSub(t) // CLIENT KILL TYPE pubsub
	} else {
		killed = s.proxy.dropSubscribers()
	}
	if killed != 1 {
		t.Fatalf("the kill closed %d subscription connections, want 1", killed)
	}
	s.waitNumSub(t, chanA, 0, "after the kill")
	unsub() // does nothing, and must not block
	fresh := newInbox()
	for try := 1; ; try++ {
		c, cancel := context.WithTimeout(context.Background(), callBound)
		u, err := sub.Subscribe(c, []string{chanA}, fresh.deliver)
		cancel()
		if err == nil {
			defer u()
			break
		}
		if try == maxDials {
			t.Fatalf("Subscribe after the kill failed %d times, the last with: %v", try, err)
		}
		t.Logf("Subscribe %d after the kill: %v", try, err)
	}
	s.published(t, chanA, "after", 1, "once a Subscribe after the kill returned without error")
	fresh.expect(t, "the subscriber after the kill", chanA, "after")
	old.none(t, "the subscriber on the killed connection")
}

// checkSubscribeSilent: Subscribe returns by its deadline when the server
// stops answering, whether its connection is to be dialed or is open.
func checkSubscribeSilent(t *testing.T, e *env) {
	s := e.start(t, options{})
	sub := s.subscriber(t)
	s.proxy.stall()
	boundedSubscribe(t, sub, "Subscribe dialing a silent server")

	s = e.start(t, options{})
	sub = s.subscriber(t)
	defer subscribe(t, sub, newInbox(), chanA)()
	s.proxy.stall()
	boundedSubscribe(t, sub, "Subscribe on a connection whose server went silent")
}

// boundedSubscribe calls Subscribe with a deadline stallDeadline away, and
// fails t if it returns more than slack after it. (Returning without error
// is allowed: the confirmation may still come.)
func boundedSubscribe(t *testing.T, sub redlock.Subscriber, what string) {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), stallDeadline)
	defer cancel()
	start := time.Now()
	u, err := sub.Subscribe(c, []string{chanB}, func(string, string) {})
	elapsed := time.Since(start)
	if elapsed > stallDeadline+slack {
		t.Errorf("%s hung: it returned %v after its %v deadline", what, (elapsed - stallDeadline).Round(time.Millisecond), stallDeadline)
	}
	switch {
	case err == nil && u == nil:
		t.Errorf("%s returned no error and a nil unsubscribe", what)
	case u != nil:
		u()
	}
}

// checkSubscribeClose: Close ends the subscriptions, those waiting for
// their confirmation too; Subscribe fails from then on; and no goroutine
// of the backend's is left, nor any of the setup once it is torn down.
func checkSubscribeClose(t *testing.T, e *env) {
	before := goleak.IgnoreCurrent()
	t.Run("closed with subscriptions", func(t *testing.T) {
		s := e.start(t, options{})
		sub := s.subscriber(t)
		b := newInbox()
		unsub := subscribe(t, sub, b, chanA)
		s.proxy.hold()
		waiting := make(chan error, 1)
		go func() {
			c, cancel := context.WithTimeout(context.Background(), callBound)
			defer cancel()
			u, err := sub.Subscribe(c, []string{chanB}, b.deliver)
			if u != nil {
				u()
			}
			waiting <- err
		}()
		s.waitHeld(t, "SUBSCRIBE")
		if err := s.conn.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		select {
		case <-waiting:
		case <-time.After(slack):
			t.Errorf("a Subscribe waiting for its confirmation was still waiting %v after Close", slack)
		}
		s.proxy.release()
		if u, err := sub.Subscribe(ctx(t), []string{chanA}, b.deliver); err == nil {
			u()
			t.Error("Subscribe after Close returned no error")
		}
		unsub() // does nothing, and must not block
		s.waitNumSub(t, chanA, 0, "after Close")
		s.published(t, chanA, "late", 0, "after Close")
		b.none(t, "a subscriber of the closed Conn")
		own := ownGoroutines(s.conn)
		for deadline := time.Now().Add(slack); len(own) > 0 && time.Now().Before(deadline); own = ownGoroutines(s.conn) {
			time.Sleep(10 * time.Millisecond)
		}
		if len(own) > 0 {
			first, _, _ := strings.Cut(own[0], "\n\n")
			t.Errorf("%d goroutines of the backend still run %v after Close, the first: %s", len(own), slack, firstLines(first, 6))
		}
	})
	goleak.VerifyNone(t, before)
}

// firstLines returns the first n lines of s.
func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
