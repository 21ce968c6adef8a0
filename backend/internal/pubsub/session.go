package pubsub

import (
	"context"
	"fmt"
	"sync"
)

// A Session is the life of one subscription connection: the subscriptions
// it carries, the commands still to send on it, and how it ended. The
// backend reports to it what it reads from the connection.
type Session struct {
	hub  *Hub
	link Link // set once dialed

	// On hub.mu:
	chans  map[string]*channel // nil once ended
	next   int                 // the next subscriber's id
	queue  []op                // commands for the writer, oldest first
	ended  bool
	err    error         // why it ended
	signal chan struct{} // wakes the writer
	done   chan struct{} // closed when the session ends

	closing  sync.Once
	closeErr error
}

// A channel is what a session knows of one channel.
type channel struct {
	subs map[int]func(channel, message string)
	// pending has one entry per SUBSCRIBE sent for the channel and not yet
	// confirmed, oldest first, each closed on its confirmation. The server
	// confirms them in the order they were sent, one reply per channel.
	pending []chan struct{}
}

// An op is a command for the writer.
type op struct {
	subscribe bool
	channels  []string
}

func newSession(h *Hub) *Session {
	return &Session{hub: h, chans: map[string]*channel{}, signal: make(chan struct{}, 1), done: make(chan struct{})}
}

// Go runs f in a goroutine that [Hub.Close] waits for: the backend's reader
// of the connection. Call it only from the [Dialer].
func (s *Session) Go(f func()) {
	s.hub.wg.Go(f)
}

// Message delivers message, read on channel, to the channel's subscribers.
func (s *Session) Message(channel, message string) {
	h := s.hub
	h.mu.Lock()
	c := s.chans[channel]
	if c == nil || len(c.subs) == 0 {
		h.mu.Unlock()
		return
	}
	subs := make([]func(string, string), 0, len(c.subs))
	for _, f := range c.subs {
		subs = append(subs, f)
	}
	h.delivering.Add(1)
	h.mu.Unlock()
	defer h.delivering.Done()
	for _, f := range subs {
		f(channel, message)
	}
}

// Confirmed records the server's confirmation of a SUBSCRIBE for channel.
func (s *Session) Confirmed(channel string) {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	c := s.chans[channel]
	if c == nil || len(c.pending) == 0 {
		return
	}
	close(c.pending[0])
	c.pending = c.pending[1:]
	if len(c.subs) == 0 && len(c.pending) == 0 {
		delete(s.chans, channel)
	}
}

// End ends the session because of err, which it reports to subscribers
// still waiting for a confirmation: the subscriptions end, the hub closes
// the link, and the next subscription dials a new one. The backend calls
// it when the connection breaks; calls after the first do nothing.
func (s *Session) End(err error) {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.end(err)
}

// end is End with hub.mu held.
func (s *Session) end(err error) {
	if s.ended {
		return
	}
	s.ended = true
	s.err = err
	s.chans = nil
	s.queue = nil
	close(s.done)
	if s.hub.cur == s {
		s.hub.cur = nil
	}
	s.wake()
}

// endedErr says that the session ended, and why. Call it with hub.mu
// held, or once done is closed (which s.err happens before).
func (s *Session) endedErr() error {
	return fmt.Errorf("%s: the subscription connection ended before the server confirmed the subscription: %w", s.hub.name, s.err)
}

// subscribe subscribes deliver to channels on s, and waits for the
// confirmations as [Hub.Subscribe] does; it fails if s ends first.
func (s *Session) subscribe(ctx context.Context, channels []string, deliver func(string, string)) (func(), error) {
	id, waits, err := s.add(channels, deliver)
	if err != nil {
		return nil, err
	}
	unsubscribe := sync.OnceFunc(func() { s.remove(id, channels) })
	for _, w := range waits {
		select {
		case <-w:
		case <-s.done:
			return nil, s.endedErr()
		case <-ctx.Done():
			return unsubscribe, nil
		}
	}
	return unsubscribe, nil
}

// add subscribes deliver to channels; it returns the subscriber's id and
// what to wait for: the confirmation of every channel not confirmed yet.
func (s *Session) add(channels []string, deliver func(string, string)) (id int, waits []chan struct{}, err error) {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.ended {
		return 0, nil, s.endedErr()
	}
	id = s.next
	s.next++
	var fresh []string
	for _, name := range channels {
		c := s.chans[name]
		if c == nil {
			c = &channel{subs: map[int]func(string, string){}}
			s.chans[name] = c
		}
		if len(c.subs) == 0 { // not subscribed, or an UNSUBSCRIBE is on its way
			fresh = append(fresh, name)
			c.pending = append(c.pending, make(chan struct{}))
		}
		c.subs[id] = deliver
		if n := len(c.pending); n > 0 {
			waits = append(waits, c.pending[n-1]) // the SUBSCRIBE that made it subscribed
		}
	}
	if len(fresh) > 0 {
		s.enqueue(op{subscribe: true, channels: fresh})
	}
	return id, waits, nil
}

// remove drops subscriber id from channels, and unsubscribes the channels
// nobody else listens on.
func (s *Session) remove(id int, channels []string) {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.ended {
		return
	}
	var gone []string
	for _, name := range channels {
		c := s.chans[name]
		if c == nil {
			continue
		}
		if _, ok := c.subs[id]; !ok {
			continue
		}
		delete(c.subs, id)
		if len(c.subs) == 0 {
			gone = append(gone, name)
			if len(c.pending) == 0 {
				delete(s.chans, name)
			}
		}
	}
	if len(gone) > 0 {
		s.enqueue(op{subscribe: false, channels: gone})
	}
}

// enqueue queues o for the writer; hub.mu must be held.
func (s *Session) enqueue(o op) {
	s.queue = append(s.queue, o)
	s.wake()
}

// wake wakes the writer, without blocking.
func (s *Session) wake() {
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// write sends the queued commands in order until the session ends, then
// closes the link.
func (s *Session) write() {
	defer s.hub.wg.Done()
	defer s.closeLink()
	h := s.hub
	for {
		h.mu.Lock()
		for len(s.queue) == 0 && !s.ended {
			h.mu.Unlock()
			<-s.signal
			h.mu.Lock()
		}
		if s.ended {
			h.mu.Unlock()
			return
		}
		o := s.queue[0]
		s.queue = s.queue[1:]
		h.mu.Unlock()
		if err := s.link.Send(o.subscribe, o.channels); err != nil {
			s.End(fmt.Errorf("sending %s: %w", command(o.subscribe), err))
		}
	}
}

func command(subscribe bool) string {
	if subscribe {
		return "SUBSCRIBE"
	}
	return "UNSUBSCRIBE"
}

// closeLink closes the link once, and returns what its Close returned.
func (s *Session) closeLink() error {
	s.closing.Do(func() {
		if s.link != nil {
			s.closeErr = s.link.Close()
		}
	})
	return s.closeErr
}
