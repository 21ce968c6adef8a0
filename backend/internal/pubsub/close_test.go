package pubsub

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Close ends the subscriptions, closes the link, waits for the backend's
// goroutines, and makes later Subscribes fail.
func TestHub_Close(t *testing.T) {
	f := &fakeServer{dialed: make(chan struct{}, 16)}
	reading := make(chan struct{})
	h := New("test", func(ctx context.Context, s *Session) (Link, error) {
		l, err := f.dial(ctx, s)
		if err == nil {
			s.Go(func() { <-l.(*fakeLink).closed; close(reading) })
		}
		return l, err
	})
	var rec recorder
	ra := subscribe(t.Context(), h, rec.deliver, "x")
	s, l := waitDialed(t, f)
	expectSent(t, l, true, "x")
	s.Confirmed("x")
	ua := await(t, ra, "Subscribe")
	rb := subscribe(t.Context(), h, func(string, string) {}, "y")
	if err := h.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case <-reading:
	default:
		t.Error("Close returned before the backend's reader ended")
	}
	if got := await(t, rb, "Subscribe pending at Close"); !errors.Is(got.err, ErrClosed) {
		t.Errorf("Subscribe pending at Close: %v; want an error wrapping ErrClosed", got.err)
	}
	s.Message("x", "late")
	if m := rec.messages(); len(m) != 0 {
		t.Errorf("a subscriber got %q after Close", m)
	}
	ua.unsub()
	if _, err := h.Subscribe(t.Context(), []string{"x"}, func(string, string) {}); !errors.Is(err, ErrClosed) {
		t.Errorf("Subscribe after Close: %v; want an error wrapping ErrClosed", err)
	}
	if err := h.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

// Close waits for a dial in progress, and closes the link it brings.
func TestHub_Close_duringDial(t *testing.T) {
	proceed, dialing := make(chan struct{}), make(chan struct{})
	l := &fakeLink{sent: make(chan op, 10), closed: make(chan struct{})}
	h := New("test", func(ctx context.Context, s *Session) (Link, error) {
		close(dialing)
		<-proceed
		return l, nil
	})
	r := subscribe(t.Context(), h, func(string, string) {}, "x")
	<-dialing
	closed := make(chan error, 1)
	go func() { closed <- h.Close() }()
	// Close marks the hub closed before it waits for the dial.
	for {
		h.mu.Lock()
		c := h.closed
		h.mu.Unlock()
		if c {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(proceed)
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(bound):
		t.Fatalf("Close did not return within %v of the dial's end", bound)
	}
	select {
	case <-l.closed:
	default:
		t.Error("Close returned before the link the dial brought was closed")
	}
	if got := await(t, r, "Subscribe whose dial Close interrupted"); !errors.Is(got.err, ErrClosed) {
		t.Errorf("Subscribe whose dial ended after Close: %v; want an error wrapping ErrClosed", got.err)
	}
}
