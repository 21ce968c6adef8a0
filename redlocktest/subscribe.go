package redlocktest

import (
	"context"
	"testing"
	"time"
)

// The checks of [redlock.Subscriber], for backends that implement it; see
// also subscribe_conn.go.

// checkSubscribe: once Subscribe has returned, the server counts the
// subscription, and a message published on any of its channels is
// delivered with its channel.
func checkSubscribe(t *testing.T, e *env) {
	s := e.start(t, options{})
	sub := s.subscriber(t)
	b := newInbox()
	unsub := subscribe(t, sub, b, chanA, chanB)
	defer unsub()
	s.published(t, chanA, "one", 1, "once Subscribe returned")
	b.expect(t, "the subscriber", chanA, "one")
	s.published(t, chanB, "two", 1, "once Subscribe returned")
	b.expect(t, "the subscriber", chanB, "two")
}

// checkSubscribeTwo: two subscriptions of one channel are both given its
// messages, over one subscription of the connection; when one ends, the
// other still is.
func checkSubscribeTwo(t *testing.T, e *env) {
	s := e.start(t, options{})
	sub := s.subscriber(t)
	first, second := newInbox(), newInbox()
	unsubFirst := subscribe(t, sub, first, chanA)
	unsubSecond := subscribe(t, sub, second, chanA)
	defer unsubSecond()
	s.published(t, chanA, "one", 1, "with two subscriptions on one connection")
	first.expect(t, "the first subscriber", chanA, "one")
	second.expect(t, "the second subscriber", chanA, "one")
	unsubFirst()
	unsubFirst() // a second call does nothing
	s.published(t, chanA, "two", 1, "after the first subscriber left")
	s.published(t, chanA, "three", 1, "after the first subscriber left")
	second.expect(t, "the second subscriber", chanA, "two")
	second.expect(t, "the second subscriber", chanA, "three")
	// Messages are delivered in order from one goroutine: had the first
	// subscriber been given "two", it would have been by now.
	first.none(t, "the subscriber that left")
}

// checkUnsubscribeLast: when the last subscription of a channel ends, the
// connection unsubscribes from it (and from it alone), and nothing more is
// delivered.
func checkUnsubscribeLast(t *testing.T, e *env) {
	s := e.start(t, options{})
	sub := s.subscriber(t)
	gone, kept := newInbox(), newInbox()
	unsub := subscribe(t, sub, gone, chanA)
	unsubKept := subscribe(t, sub, kept, chanB)
	defer unsubKept()
	unsub()
	s.waitNumSub(t, chanA, 0, "after its last subscriber left")
	s.published(t, chanA, "late", 0, "after the last subscriber left")
	s.published(t, chanB, "fence", 1, "with the other channel's subscriber still there")
	kept.expect(t, "the other channel's subscriber", chanB, "fence")
	gone.none(t, "the subscriber that left")
}

// checkSubscribeJoin: a subscription of a channel whose SUBSCRIBE, sent for
// another subscription, is not yet confirmed waits for the confirmation
// too: Subscribe returns only once the server has the channel.
func checkSubscribeJoin(t *testing.T, e *env) {
	s := e.start(t, options{})
	sub := s.subscriber(t)
	warm := subscribe(t, sub, newInbox(), chanB) // the connection is up
	defer warm()
	s.proxy.hold()
	defer s.proxy.release()
	type result struct {
		unsub func()
		err   error
	}
	first, second := newInbox(), newInbox()
	join := func(b *inbox) <-chan result {
		out := make(chan result, 1)
		go func() {
			c, cancel := context.WithTimeout(context.Background(), callBound)
			defer cancel()
			u, err := sub.Subscribe(c, []string{chanA}, b.deliver)
			if err == nil && c.Err() != nil {
				err = c.Err()
			}
			out <- result{u, err}
		}()
		return out
	}
	firstDone := join(first)
	s.waitHeld(t, "SUBSCRIBE")
	secondDone := join(second)
	// A Subscribe that does not wait returns at once; one that waits stays
	// until the release, however slow the machine.
	var early []result
	select {
	case r := <-firstDone:
		t.Error("Subscribe returned while its SUBSCRIBE was held back, before the server confirmed it")
		early, firstDone = append(early, r), nil
	case r := <-secondDone:
		t.Error("a second Subscribe of a channel returned while the first's SUBSCRIBE was held back, before the server confirmed it")
		early, secondDone = append(early, r), nil
	case <-time.After(200 * time.Millisecond):
	}
	s.proxy.release()
	for _, r := range early {
		if r.unsub != nil {
			defer r.unsub()
		}
	}
	for _, r := range []<-chan result{firstDone, secondDone} {
		if r == nil {
			continue
		}
		select {
		case got := <-r:
			if got.err != nil {
				t.Fatalf("Subscribe once the SUBSCRIBE was let through: %v", got.err)
			}
			defer got.unsub()
		case <-time.After(callBound):
			t.Fatalf("Subscribe did not return within %v of the SUBSCRIBE being let through", callBound)
		}
	}
	s.published(t, chanA, "one", 1, "once both Subscribes returned")
	first.expect(t, "the first subscriber", chanA, "one")
	second.expect(t, "the second subscriber", chanA, "one")
}
