package redigo

import (
	"context"
	"errors"
	"sync"

	"github.com/gomodule/redigo/redis"
)

// A pubsub carries all the subscriptions of a Conn over one connection of
// their own, opened on the first subscription and again after it breaks.
type pubsub struct {
	dial func(ctx context.Context) (redis.Conn, error)

	mu      sync.Mutex
	conn    *redis.PubSubConn // nil until needed, and after it broke
	reader  chan struct{}     // closed when the reader of conn exits
	subs    map[string]map[int]func(channel, message string)
	pending map[string][]chan struct{} // closed when the channel's subscription is confirmed
	next    int
	closed  bool
}

// Subscribe subscribes to channels over the Conn's subscription connection
// and calls deliver with each message published on one of them, from the
// connection's reader goroutine, until unsubscribe is called or the
// connection breaks. It returns once the server has confirmed every channel,
// or when ctx's deadline passes; dialing is bounded by ctx.
func (c *Conn) Subscribe(ctx context.Context, channels []string, deliver func(channel, message string)) (unsubscribe func(), err error) {
	c.psOnce.Do(func() {
		c.ps = &pubsub{dial: c.dialOne, subs: map[string]map[int]func(string, string){}, pending: map[string][]chan struct{}{}}
	})
	if c.ps == nil { // closed before any subscription
		return nil, errClosed
	}
	return c.ps.subscribe(ctx, channels, deliver)
}

// dialOne returns a connection of its own, for subscriptions.
func (c *Conn) dialOne(ctx context.Context) (redis.Conn, error) {
	if c.mux != nil {
		return c.mux.dial(ctx)
	}
	return c.pool.GetContext(ctx)
}

func (p *pubsub) subscribe(ctx context.Context, channels []string, deliver func(channel, message string)) (func(), error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errClosed
	}
	if p.conn == nil {
		conn, err := p.dial(ctx)
		if err != nil {
			p.mu.Unlock()
			return nil, err
		}
		p.conn = &redis.PubSubConn{Conn: conn}
		p.reader = make(chan struct{})
		go p.read(p.conn, p.reader)
	}
	conn := p.conn
	id := p.next
	p.next++
	var fresh []any
	var confirmed []chan struct{}
	for _, ch := range channels {
		if p.subs[ch] == nil {
			p.subs[ch] = map[int]func(string, string){}
			fresh = append(fresh, ch)
			done := make(chan struct{})
			p.pending[ch] = append(p.pending[ch], done)
			confirmed = append(confirmed, done)
		}
		p.subs[ch][id] = deliver
	}
	var err error
	if len(fresh) > 0 {
		err = conn.Subscribe(fresh...)
	}
	p.mu.Unlock()
	unsubscribe := func() { p.unsubscribe(conn, id, channels) }
	if err != nil {
		unsubscribe()
		return nil, err
	}
	for _, done := range confirmed {
		select {
		case <-done:
		case <-ctx.Done():
			return unsubscribe, nil // the confirmation may still come
		}
	}
	return unsubscribe, nil
}

// unsubscribe drops one subscriber, and the channels nobody else listens to.
func (p *pubsub) unsubscribe(conn *redis.PubSubConn, id int, channels []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn != conn { // that connection broke: its subscriptions are gone
		return
	}
	var gone []any
	for _, ch := range channels {
		if subs := p.subs[ch]; subs != nil {
			delete(subs, id)
			if len(subs) == 0 {
				delete(p.subs, ch)
				gone = append(gone, ch)
			}
		}
	}
	if len(gone) > 0 {
		_ = conn.Unsubscribe(gone...) // a failure breaks the connection, which the reader sees
	}
}

// read delivers the messages of conn until it breaks.
func (p *pubsub) read(conn *redis.PubSubConn, done chan struct{}) {
	defer close(done)
	for {
		switch v := conn.Receive().(type) {
		case redis.Message:
			p.mu.Lock()
			subs := make([]func(string, string), 0, len(p.subs[v.Channel]))
			for _, f := range p.subs[v.Channel] {
				subs = append(subs, f)
			}
			p.mu.Unlock()
			for _, f := range subs {
				f(v.Channel, string(v.Data))
			}
		case redis.Subscription:
			if v.Kind == "subscribe" {
				p.mu.Lock()
				for _, ch := range p.pending[v.Channel] {
					close(ch)
				}
				delete(p.pending, v.Channel)
				p.mu.Unlock()
			}
		case error:
			p.mu.Lock()
			if p.conn == conn {
				p.conn = nil
				p.subs = map[string]map[int]func(string, string){}
				for _, chs := range p.pending {
					for _, ch := range chs {
						close(ch)
					}
				}
				p.pending = map[string][]chan struct{}{}
			}
			p.mu.Unlock()
			_ = conn.Close()
			return
		}
	}
}

// close ends the subscriptions and waits for the reader.
func (p *pubsub) close() error {
	p.mu.Lock()
	p.closed = true
	conn, reader := p.conn, p.reader
	p.mu.Unlock()
	if conn == nil {
		return nil
	}
	err := conn.Close()
	<-reader
	if errors.Is(err, errClosed) {
		err = nil
	}
	return err
}
