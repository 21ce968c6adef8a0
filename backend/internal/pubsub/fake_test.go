package pubsub

import (
	"context"
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
	dialed   chan struct{}
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
