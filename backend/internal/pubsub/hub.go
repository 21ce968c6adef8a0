// Package pubsub keeps the subscriptions of a backend's Conn (see
// redlock.Subscriber) on one connection of their own. A [Hub] does the
// bookkeeping that every backend needs alike: which subscriber listens on
// which channel, when a channel is to be subscribed or unsubscribed on the
// server, which subscriptions the server has confirmed, and the end of them
// all when the connection breaks. The backend brings the connection: it
// dials a [Link], sends what the hub asks it to, and tells the link's
// [Session] what it reads.
package pubsub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// A Link is one subscription connection, as a backend drives it.
type Link interface {
	// Send sends SUBSCRIBE (subscribe true) or UNSUBSCRIBE for channels.
	// The hub calls it from one goroutine, in the order it decided the
	// commands; an error ends the session.
	Send(subscribe bool, channels []string) error
	// Close closes the connection and returns once the backend's own
	// goroutines for it have ended. It interrupts a Send in progress. The
	// hub calls it once, never from a goroutine the backend started with
	// [Session.Go].
	Close() error
}

// A Dialer opens the connection of the session s, bounded by ctx. The
// backend starts what reads the connection with s.Go, and reports to s
// what it reads. On failure it closes what it opened.
type Dialer func(ctx context.Context, s *Session) (Link, error)

// A Hub carries the subscriptions of one Conn over one connection at a
// time, dialed on the first subscription and again on the first one after
// it broke. It is safe for concurrent use.
type Hub struct {
	name string // the backend, for errors
	dial Dialer

	mu      sync.Mutex
	cur     *Session      // the live session: nil until needed, and after it ended
	dialing chan struct{} // closed when the dial in progress ends; nil if none
	closed  bool

	wg         sync.WaitGroup // the sessions' goroutines
	delivering sync.WaitGroup // calls of deliver in progress
}

// New returns a hub whose connections dial makes; name names the backend
// in errors.
func New(name string, dial Dialer) *Hub {
	return &Hub{name: name, dial: dial}
}

// Subscribe subscribes to channels and calls deliver with each message
// published on one of them, from the goroutine that reads the connection,
// until unsubscribe is called or the connection ends. It returns once the
// server has confirmed every channel, with nil, or when ctx ends first,
// also with nil since the confirmation may still come. It fails if the
// connection cannot be dialed by then, or ends before the confirmation
// twice (a connection found broken is dialed again once); the
// subscription is then gone. Unsubscribing drops the subscription, and the
// channels no other subscription listens on; it may be called more than
// once. deliver must not call [Hub.Close].
func (h *Hub) Subscribe(ctx context.Context, channels []string, deliver func(channel, message string)) (unsubscribe func(), err error) {
	switch {
	case len(channels) == 0:
		return nil, fmt.Errorf("%s: Subscribe was given no channel", h.name)
	case deliver == nil:
		return nil, fmt.Errorf("%s: Subscribe was given a nil deliver function", h.name)
	}
	channels = unique(channels)
	for try := 1; ; try++ {
		s, err := h.session(ctx)
		if err != nil {
			return nil, err
		}
		unsubscribe, err = s.subscribe(ctx, channels, deliver)
		if err == nil || try == 2 || ctx.Err() != nil || errors.Is(err, ErrClosed) {
			return unsubscribe, err
		}
	}
}

// unique returns channels without repeats, in a slice of its own.
func unique(channels []string) []string {
	out := make([]string, 0, len(channels))
	for _, c := range channels {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// session returns the live session, dialing one if there is none; the
// dial is bounded by ctx, and callers arriving meanwhile wait for it, each
// as long as its own ctx lets it.
func (h *Hub) session(ctx context.Context) (*Session, error) {
	for {
		h.mu.Lock()
		switch {
		case h.closed:
			h.mu.Unlock()
			return nil, h.errClosed()
		case h.cur != nil:
			s := h.cur
			h.mu.Unlock()
			return s, nil
		case h.dialing != nil:
			d := h.dialing
			h.mu.Unlock()
			select {
			case <-d:
				continue
			case <-ctx.Done():
				return nil, fmt.Errorf("%s: dialing the subscription connection: %w", h.name, context.Cause(ctx))
			}
		}
		d := make(chan struct{})
		h.dialing = d
		s := newSession(h)
		h.mu.Unlock()
		return h.start(ctx, s, d)
	}
}

// start dials s's connection and makes s the live session, unless the dial
// failed, s ended meanwhile or the hub was closed. d stays the dial in
// progress until a link that is not to be used is closed, so that Close
// waits for that too.
func (h *Hub) start(ctx context.Context, s *Session, d chan struct{}) (*Session, error) {
	link, err := h.dial(ctx, s)
	h.mu.Lock()
	switch {
	case err != nil:
		err = fmt.Errorf("%s: dialing the subscription connection: %w", h.name, err)
		s.end(err)
	case h.closed:
		s.link = link
		err = h.errClosed()
		s.end(err)
	case s.ended:
		s.link = link
		err = s.endedErr()
	default:
		s.link = link
		h.cur = s
		h.dialing = nil
		h.wg.Add(1)
		go s.write()
		h.mu.Unlock()
		close(d)
		return s, nil
	}
	h.mu.Unlock()
	_ = s.closeLink()
	h.mu.Lock()
	h.dialing = nil
	h.mu.Unlock()
	close(d)
	return nil, err
}

// Close ends every subscription, closes the connection and waits until
// every goroutine of the hub's connections has ended and no deliver call is
// in progress. A Subscribe from then on fails.
func (h *Hub) Close() error {
	h.mu.Lock()
	h.closed = true
	d := h.dialing
	h.mu.Unlock()
	if d != nil {
		<-d // bounded by the dialing caller's ctx
	}
	h.mu.Lock()
	s := h.cur
	h.cur = nil
	if s != nil {
		s.end(h.errClosed())
	}
	h.mu.Unlock()
	var err error
	if s != nil {
		err = s.closeLink()
	}
	h.wg.Wait()
	h.delivering.Wait()
	return err
}

func (h *Hub) errClosed() error { return fmt.Errorf("%s: %w", h.name, ErrClosed) }

// ErrClosed is the cause of a Subscribe on a closed hub, and of the end of
// the subscriptions that Close ended.
var ErrClosed = errors.New("the Conn is closed")
