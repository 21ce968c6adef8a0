package pubsub

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestHub_Subscribe(t *testing.T) {
	h, f := newHub(t)
	var a, b recorder
	ra := subscribe(t.Context(), h, a.deliver, "x", "y", "x")
	s, l := waitDialed(t, f)
	expectSent(t, l, true, "x", "y")
	pending(t, ra, "Subscribe of x and y")
	s.Confirmed("x")
	pending(t, ra, "Subscribe of x and y, x confirmed")
	s.Confirmed("y")
	ua := await(t, ra, "Subscribe of x and y")
	if ua.err != nil {
		t.Fatalf("Subscribe: %v", ua.err)
	}
	rb := await(t, subscribe(t.Context(), h, b.deliver, "x"), "Subscribe of x, already confirmed")
	if rb.err != nil {
		t.Fatalf("second Subscribe: %v", rb.err)
	}
	expectNothingSent(t, l)
	s.Message("x", "1")
	s.Message("y", "2")
	s.Message("z", "3")
	if got, want := a.messages(), []string{"x=1", "y=2"}; !slices.Equal(got, want) {
		t.Errorf("first subscriber got %q, want %q", got, want)
	}
	if got, want := b.messages(), []string{"x=1"}; !slices.Equal(got, want) {
		t.Errorf("second subscriber got %q, want %q", got, want)
	}

	ua.unsub()
	ua.unsub() // a second call does nothing
	expectSent(t, l, false, "y")
	s.Message("x", "4")
	s.Message("y", "5")
	if got, want := a.messages(), []string{"x=1", "y=2"}; !slices.Equal(got, want) {
		t.Errorf("after unsubscribing, the first subscriber got %q, want %q", got, want)
	}
	if got, want := b.messages(), []string{"x=1", "x=4"}; !slices.Equal(got, want) {
		t.Errorf("the second subscriber got %q, want %q", got, want)
	}
	rb.unsub()
	expectSent(t, l, false, "x")
	if n := f.dials(); n != 1 {
		t.Errorf("%d connections dialed, want 1", n)
	}
}

// A subscriber joining a channel whose SUBSCRIBE is not confirmed yet waits
// for that confirmation, not only the first.
func TestHub_Subscribe_joinsPending(t *testing.T) {
	h, f := newHub(t)
	ra := subscribe(t.Context(), h, func(string, string) {}, "x")
	s, l := waitDialed(t, f)
	expectSent(t, l, true, "x")
	rb := subscribe(t.Context(), h, func(string, string) {}, "x")
	pending(t, rb, "the second Subscribe of x")
	expectNothingSent(t, l)
	s.Confirmed("x")
	for _, r := range []<-chan result{ra, rb} {
		if got := await(t, r, "Subscribe of x"); got.err != nil {
			t.Errorf("Subscribe: %v", got.err)
		}
	}
}

// Confirmations are matched to SUBSCRIBEs in order: after SUBSCRIBE,
// UNSUBSCRIBE, SUBSCRIBE of one channel, the first confirmation does not
// release the second subscriber.
func TestHub_Subscribe_confirmationsInOrder(t *testing.T) {
	h, f := newHub(t)
	short, cancel := context.WithCancel(t.Context())
	ra := subscribe(short, h, func(string, string) {}, "x")
	s, l := waitDialed(t, f)
	expectSent(t, l, true, "x")
	cancel()
	first := await(t, ra, "Subscribe whose ctx ended")
	if first.err != nil || first.unsub == nil {
		t.Fatalf("Subscribe whose ctx ended before the confirmation: %v; want an unsubscribe and no error", first.err)
	}
	first.unsub()
	expectSent(t, l, false, "x")
	var rec recorder
	rb := subscribe(t.Context(), h, rec.deliver, "x")
	expectSent(t, l, true, "x")
	s.Confirmed("x") // the first SUBSCRIBE's
	pending(t, rb, "Subscribe of x after an UNSUBSCRIBE")
	s.Confirmed("x")
	if got := await(t, rb, "Subscribe of x"); got.err != nil {
		t.Fatalf("Subscribe: %v", got.err)
	}
	s.Message("x", "1")
	if got := rec.messages(); !slices.Equal(got, []string{"x=1"}) {
		t.Errorf("got %q, want [x=1]", got)
	}
}

// A connection that ends before the confirmation ends its subscriptions;
// a Subscribe waiting on it tries once more on a new connection.
func TestHub_End(t *testing.T) {
	h, f := newHub(t)
	var old, fresh recorder
	ra := subscribe(t.Context(), h, old.deliver, "x")
	s1, l1 := waitDialed(t, f)
	expectSent(t, l1, true, "x")
	s1.Confirmed("x")
	ua := await(t, ra, "Subscribe of x")
	rb := subscribe(t.Context(), h, fresh.deliver, "y")
	expectSent(t, l1, true, "y")
	s1.End(errors.New("connection reset"))
	select {
	case <-l1.closed:
	case <-time.After(bound):
		t.Fatalf("the broken link was not closed within %v", bound)
	}
	s2, l2 := waitDialed(t, f)
	expectSent(t, l2, true, "y") // y alone: x's subscription ended
	s2.Confirmed("y")
	if got := await(t, rb, "Subscribe when the connection broke"); got.err != nil {
		t.Fatalf("Subscribe whose connection broke before the confirmation, tried again on a new one: %v", got.err)
	}
	ua.unsub() // does nothing: the subscription is gone
	expectNothingSent(t, l2)
	s1.Message("x", "late")
	s2.Message("x", "new")
	s2.Message("y", "1")
	if m := old.messages(); len(m) != 0 {
		t.Errorf("a subscriber of the broken connection got %q", m)
	}
	if got := fresh.messages(); !slices.Equal(got, []string{"y=1"}) {
		t.Errorf("the subscriber on the new connection got %q, want [y=1]", got)
	}

	// A second break before the confirmation fails the Subscribe.
	rc := subscribe(t.Context(), h, func(string, string) {}, "z")
	expectSent(t, l2, true, "z")
	s2.End(errors.New("connection reset"))
	s3, l3 := waitDialed(t, f)
	expectSent(t, l3, true, "z")
	broken := errors.New("broken pipe")
	s3.End(broken)
	if got := await(t, rc, "Subscribe when the connection broke twice"); !errors.Is(got.err, broken) {
		t.Errorf("Subscribe whose connection broke twice before the confirmation: %v; want an error wrapping %v", got.err, broken)
	}
	if n := f.dials(); n != 3 {
		t.Errorf("%d connections dialed, want 3", n)
	}
}

// A failed Send ends the session; the Subscribe tries once more.
func TestHub_sendFails(t *testing.T) {
	h, f := newHub(t)
	broken := errors.New("broken pipe")
	f.sendErr = broken
	got := await(t, subscribe(t.Context(), h, func(string, string) {}, "x"), "Subscribe")
	if !errors.Is(got.err, broken) {
		t.Errorf("Subscribe whose SUBSCRIBE could not be sent: %v; want an error wrapping %v", got.err, broken)
	}
	if n := f.dials(); n != 2 {
		t.Errorf("%d connections dialed, want 2", n)
	}
}

// A dial that fails, or outlasts the ctx of a Subscribe, fails it; others
// waiting for the dial are bounded by their own ctx.
func TestHub_dial(t *testing.T) {
	h, f := newHub(t)
	refused := errors.New("connection refused")
	f.dialErr = refused
	if _, err := h.Subscribe(t.Context(), []string{"x"}, func(string, string) {}); !errors.Is(err, refused) {
		t.Errorf("Subscribe whose dial failed: %v; want an error wrapping %v", err, refused)
	}
	f.mu.Lock()
	f.dialErr, f.stall = nil, true
	f.mu.Unlock()
	slow, cancel := context.WithCancel(t.Context())
	defer cancel()
	first := subscribe(slow, h, func(string, string) {}, "x")
	// Wait until the first call dials, so that the second waits for it.
	for {
		h.mu.Lock()
		d := h.dialing
		h.mu.Unlock()
		if d != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	short, cancelShort := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancelShort()
	if _, err := h.Subscribe(short, []string{"y"}, func(string, string) {}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Subscribe waiting for another's dial past its deadline: %v; want an error wrapping DeadlineExceeded", err)
	}
	cancel()
	if got := await(t, first, "Subscribe whose dial stalled"); !errors.Is(got.err, context.Canceled) {
		t.Errorf("Subscribe whose dial stalled until its ctx ended: %v; want an error wrapping Canceled", got.err)
	}
}

func TestHub_badInput(t *testing.T) {
	h, _ := newHub(t)
	if _, err := h.Subscribe(t.Context(), nil, func(string, string) {}); err == nil {
		t.Error("Subscribe to no channel: no error")
	}
	if _, err := h.Subscribe(t.Context(), []string{"x"}, nil); err == nil {
		t.Error("Subscribe with a nil deliver: no error")
	}
}
