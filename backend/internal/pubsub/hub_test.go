package pubsub

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// bound is how long a test waits for what must happen: far longer than it
// takes on a busy machine.
const bound = 10 * time.Second

// A fakeLink records what the hub sends; a test plays the server by
// calling the session's methods.
type fakeLink struct {
	sent    chan op
	fail    error // Send fails with it
	closed  chan struct{}
	closing sync.Once
}

func (l *fakeLink) Send(subscribe bool, channels []string) error {
	if l.fail != nil {
		return l.fail
	}
	l.sent <- op{subscribe, channels}
	return nil
}

func (l *fakeLink) Close() error {
	l.closing.Do(func() { close(l.closed) })
	return nil
}

// A fakeServer dials fake links and keeps the sessions.
type fakeServer struct {
	mu       sync.Mutex
	sessions []*Session
	links    []*fakeLink
	dialErr  error // a dial fails with it
	stall    bool  // a dial waits for its ctx
	sendErr  error // the links' Send fails with it
	dialed  chan struct{}
}

func (f *fakeServer) dial(ctx context.Context, s *Session) (Link, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stall {
		f.mu.Unlock()
		<-ctx.Done()
		f.mu.Lock()
		return nil, context.Cause(ctx)
	}
	if f.dialErr != nil {
		return nil, f.dialErr
	}
	l := &fakeLink{sent: make(chan op, 100), fail: f.sendErr, closed: make(chan struct{})}
	f.sessions = append(f.sessions, s)
	f.links = append(f.links, l)
	f.dialed <- struct{}{}
	return l, nil
}

// last returns the last session dialed and its link.
func (f *fakeServer) last(t *testing.T) (*Session, *fakeLink) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sessions) == 0 {
		t.Fatal("no connection was dialed")
	}
	return f.sessions[len(f.sessions)-1], f.links[len(f.links)-1]
}

func (f *fakeServer) dials() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sessions)
}

func newHub(t *testing.T) (*Hub, *fakeServer) {
	f := &fakeServer{dialed: make(chan struct{}, 16)}
	h := New("test", f.dial)
	t.Cleanup(func() { _ = h.Close() })
	return h, f
}

// A result is what a Subscribe returned.
type result struct {
	unsub func()
	err   error
}

// subscribe calls Subscribe in the background.
func subscribe(ctx context.Context, h *Hub, deliver func(string, string), channels ...string) <-chan result {
	out := make(chan result, 1)
	go func() {
		u, err := h.Subscribe(ctx, channels, deliver)
		out <- result{u, err}
	}()
	return out
}

// expectSent fails t unless the link's next command is want.
func expectSent(t *testing.T, l *fakeLink, subscribe bool, channels ...string) {
	t.Helper()
	select {
	case o := <-l.sent:
		if o.subscribe != subscribe || !slices.Equal(o.channels, channels) {
			t.Fatalf("sent %s %q, want %s %q", command(o.subscribe), o.channels, command(subscribe), channels)
		}
	case <-time.After(bound):
		t.Fatalf("%s %q was not sent within %v", command(subscribe), channels, bound)
	}
}

// expectNothingSent fails t if the link has a command waiting.
func expectNothingSent(t *testing.T, l *fakeLink) {
	t.Helper()
	select {
	case o := <-l.sent:
		t.Fatalf("sent %s %q, want nothing", command(o.subscribe), o.channels)
	default:
	}
}

func await(t *testing.T, r <-chan result, what string) result {
	t.Helper()
	select {
	case got := <-r:
		return got
	case <-time.After(bound):
		t.Fatalf("%s did not return within %v", what, bound)
		return result{}
	}
}

// pending fails t if r has returned; a wrong return shows at once, so a
// short look is enough (and cannot fail a correct hub).
func pending(t *testing.T, r <-chan result, what string) {
	t.Helper()
	select {
	case got := <-r:
		t.Fatalf("%s returned (error %v) before the server confirmed", what, got.err)
	case <-time.After(20 * time.Millisecond):
	}
}

// A recorder collects deliveries.
type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) deliver(channel, message string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, channel+"="+message)
}

func (r *recorder) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

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

// waitDialed waits for the next dial, and returns its session and link.
func waitDialed(t *testing.T, f *fakeServer) (*Session, *fakeLink) {
	t.Helper()
	select {
	case <-f.dialed:
	case <-time.After(bound):
		t.Fatalf("no connection dialed within %v", bound)
	}
	return f.last(t)
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
	s, _ := waitDialed(t, f)
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
