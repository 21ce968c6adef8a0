package redlocktest

import (
	"context"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quorumlock/quorumlock/redlock"
)

// Channels the subscription checks use.
const (
	chanA = "conformance:a"
	chanB = "conformance:b"
)

// subscriber returns the setup's Conn as a [redlock.Subscriber], or skips
// t, saying so, when the backend does not implement it.
func (s *setup) subscriber(t *testing.T) redlock.Subscriber {
	t.Helper()
	sub, ok := s.conn.(redlock.Subscriber)
	if !ok {
		t.Skipf("%T does not implement redlock.Subscriber: its waiters learn of a release by trying again", s.conn)
	}
	return sub
}

// A delivery is one message given to a subscription.
type delivery struct{ channel, message string }

// An inbox collects the messages given to one subscription.
type inbox struct{ ch chan delivery }

func newInbox() *inbox { return &inbox{ch: make(chan delivery, 64)} }

// deliver is the subscription's deliver function. It never blocks: a
// message beyond the inbox's room is dropped, and the check then misses it.
func (b *inbox) deliver(channel, message string) {
	select {
	case b.ch <- delivery{channel, message}:
	default:
	}
}

// expect waits for the next message given to who, which must be message on
// channel.
func (b *inbox) expect(t *testing.T, who, channel, message string) {
	t.Helper()
	select {
	case d := <-b.ch:
		if d != (delivery{channel, message}) {
			t.Errorf("%s was given %q on %s, want %q on %s", who, d.message, d.channel, message, channel)
		}
	case <-time.After(callBound):
		t.Errorf("%s was not given %q on %s within %v", who, message, channel, callBound)
	}
}

// none fails t if who was given a message it has not read.
func (b *inbox) none(t *testing.T, who string) {
	t.Helper()
	select {
	case d := <-b.ch:
		t.Errorf("%s was given %q on %s, want nothing", who, d.message, d.channel)
	default:
	}
}

// subscribe subscribes b to channels and fails t unless Subscribe returns
// without error, before its deadline: on the server's confirmation.
func subscribe(t *testing.T, sub redlock.Subscriber, b *inbox, channels ...string) (unsubscribe func()) {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), callBound)
	defer cancel()
	u, err := sub.Subscribe(c, channels, b.deliver)
	switch {
	case err != nil:
		t.Fatalf("Subscribe to %q: %v", channels, err)
	case u == nil:
		t.Fatalf("Subscribe to %q returned no error and a nil unsubscribe", channels)
	case c.Err() != nil:
		t.Fatalf("Subscribe to %q returned at its %v deadline, not on the server's confirmation", channels, callBound)
	}
	return u
}

// published publishes message on channel directly on the server, and fails
// t unless want subscribers were given it.
func (s *setup) published(t *testing.T, channel, message string, want int, when string) {
	t.Helper()
	if n := s.server.publish(t, channel, message); n != want {
		t.Errorf("%s, PUBLISH on %s reached %d subscribers, want %d", when, channel, n, want)
	}
}

// waitNumSub waits until the server counts want subscribers of channel.
func (s *setup) waitNumSub(t *testing.T, channel string, want int, when string) {
	t.Helper()
	n := s.server.numSub(t, channel)
	for deadline := time.Now().Add(callBound); n != want; n = s.server.numSub(t, channel) {
		if time.Now().After(deadline) {
			t.Fatalf("%s, the server counts %d subscribers of %s after %v, want %d", when, n, channel, callBound, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitHeld waits until the proxy holds back a command named name.
func (s *setup) waitHeld(t *testing.T, name string) {
	t.Helper()
	for deadline := time.Now().Add(callBound); !slices.Contains(s.proxy.heldCommands(), name); {
		if time.Now().After(deadline) {
			t.Fatalf("no %s reached the proxy within %v", name, callBound)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ownGoroutines returns the stacks of the goroutines running code of the
// package that defines conn's type, or of this repository's backends'
// internal packages.
func ownGoroutines(conn redlock.Conn) []string {
	typ := reflect.TypeOf(conn)
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	marks := []string{typ.PkgPath() + ".", "github.com/quorumlock/quorumlock/backend/internal/"}
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var own []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, m := range marks {
			if strings.Contains(g, m) {
				own = append(own, g)
				break
			}
		}
	}
	return own
}
