package redigo

import (
	"context"
	"sync"

	"github.com/gomodule/redigo/redis"

	"github.com/quorumlock/quorumlock/backend/internal/pubsub"
)

// Subscribe subscribes to channels and calls deliver with each message
// published on one of them, until unsubscribe is called or the connection
// breaks (see [redlock.Subscriber]). All the subscriptions of a Conn share
// one connection of their own: dialed by [Open]'s options, or taken from
// the pool given to [New] (and closed, not put back, when it ends). deliver
// is called from the goroutine that reads it.
//
// Subscribe returns once the server has confirmed every channel, or when
// ctx's deadline passes, since the confirmation may still come; dialing is
// bounded by ctx. It fails if the connection cannot be had by then, or
// breaks before the confirmation. The subscriptions end with the
// connection, without notice; the next Subscribe dials a new one.
//
// A pool's connections read with its read timeout, if it sets one
// (redis.DialReadTimeout): a subscription connection idle for that long
// breaks, ending its subscriptions.
//
// [redlock.Subscriber]: https://pkg.go.dev/github.com/quorumlock/quorumlock/redlock#Subscriber
func (c *Conn) Subscribe(ctx context.Context, channels []string, deliver func(channel, message string)) (unsubscribe func(), err error) {
	return c.subs.Subscribe(ctx, channels, deliver)
}

// dialSubs opens a subscription connection and starts its reader.
func (c *Conn) dialSubs(ctx context.Context, s *pubsub.Session) (pubsub.Link, error) {
	var conn redis.Conn
	var err error
	if c.mux != nil {
		conn, err = c.mux.dial(ctx)
	} else {
		conn, err = c.pool.GetContext(ctx)
	}
	if err != nil {
		return nil, err
	}
	life, cancel := context.WithCancel(context.Background())
	l := &link{conn: redis.PubSubConn{Conn: conn}, cancel: cancel, read: make(chan struct{})}
	s.Go(func() { l.receive(life, s) })
	return l, nil
}

// A link is a subscription connection.
type link struct {
	conn   redis.PubSubConn
	cancel context.CancelFunc // ends the reader's wait, closing the connection
	read   chan struct{}      // closed when the reader returns

	mu     sync.Mutex // orders Send and the final Close
	closed bool
}

// receive reads the connection until it breaks or is closed. A context
// ending its wait closes the connection (redigo's ReceiveContext), which,
// unlike a Close while another goroutine reads, is safe for a pool's
// connections too.
func (l *link) receive(ctx context.Context, s *pubsub.Session) {
	defer close(l.read)
	for {
		switch v := l.conn.ReceiveContext(ctx).(type) {
		case redis.Message:
			s.Message(v.Channel, string(v.Data))
		case redis.Subscription:
			if v.Kind == "subscribe" {
				s.Confirmed(v.Channel)
			}
		case error:
			s.End(v)
			return
		}
	}
}

// Send sends SUBSCRIBE or UNSUBSCRIBE.
func (l *link) Send(subscribe bool, channels []string) error {
	args := make([]any, len(channels))
	for i, ch := range channels {
		args[i] = ch
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errClosed
	}
	if subscribe {
		return l.conn.Subscribe(args...)
	}
	return l.conn.Unsubscribe(args...)
}

// Close closes the connection: the reader's wait ends, closing it, which
// also fails a Send blocked on it; then the connection is released, or
// closed if it is a pool's (it is broken by then).
func (l *link) Close() error {
	l.cancel()
	<-l.read
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	_ = l.conn.Close() // reports only the breaking, which was meant
	return nil
}
