package goredis

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/quorumlock/quorumlock/backend/internal/pubsub"
)

// Subscribe subscribes to channels and calls deliver with each message
// published on one of them, until unsubscribe is called or the connection
// breaks (see [redlock.Subscriber]). All the subscriptions of a Conn share
// one [*redis.PubSub], whose connection the client dials apart from its
// pool; deliver is called from the goroutine that reads it.
//
// Subscribe returns once the server has confirmed every channel, or when
// ctx's deadline passes, since the confirmation may still come; dialing,
// AUTH and HELLO are bounded by ctx. It fails if the connection cannot be
// had by then, or breaks before the confirmation. The subscriptions end
// with the connection, without notice; the next Subscribe dials a new one.
//
// A PubSub of go-redis dials again and resubscribes by itself when it finds
// its connection broken, before the call that found it returns. A Conn
// closes that PubSub as soon as the call returns, and the redial with it:
// the library is told of no message from it, and its own subscriptions
// end as the library expects. (The redial is bounded by the client's
// DialTimeout, or cut short by Close.) The PubSub's Channel method, which
// also reconnects by itself, is not used.
//
// [redlock.Subscriber]: https://pkg.go.dev/github.com/quorumlock/quorumlock/redlock#Subscriber
func (c *Conn) Subscribe(ctx context.Context, channels []string, deliver func(channel, message string)) (unsubscribe func(), err error) {
	return c.subs.Subscribe(ctx, channels, deliver)
}

// dialSubs opens a subscription connection and starts its reader. The
// PubSub dials on its first command, a PING, whose reply the reader skips.
func (c *Conn) dialSubs(ctx context.Context, s *pubsub.Session) (pubsub.Link, error) {
	ps := c.client.Subscribe(ctx) // no channel: nothing is sent yet
	if err := ps.Ping(ctx); err != nil {
		_ = ps.Close()
		return nil, err
	}
	life, cancel := context.WithCancel(context.Background())
	l := &link{ps: ps, life: life, cancel: cancel, read: make(chan struct{})}
	s.Go(func() { l.receive(s) })
	return l, nil
}

// A link is a subscription connection: a PubSub.
type link struct {
	ps *redis.PubSub
	// life is the context of the link's calls, cancelled by Close: a redial
	// of the PubSub's ends with it.
	life   context.Context
	cancel context.CancelFunc
	read   chan struct{} // closed when the reader returns
}

// receive reads the connection until it breaks or is closed.
func (l *link) receive(s *pubsub.Session) {
	defer close(l.read)
	for {
		msg, err := l.ps.Receive(l.life)
		if err != nil {
			s.End(err)
			return
		}
		switch m := msg.(type) {
		case *redis.Message:
			s.Message(m.Channel, m.Payload)
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				s.Confirmed(m.Channel)
			}
		}
	}
}

// Send sends SUBSCRIBE or UNSUBSCRIBE, without waiting for the reply; the
// write is bounded by the client's WriteTimeout.
func (l *link) Send(subscribe bool, channels []string) error {
	if subscribe {
		return l.ps.Subscribe(l.life, channels...)
	}
	return l.ps.Unsubscribe(l.life, channels...)
}

// Close closes the PubSub, which ends the reader's wait, and waits for the
// reader to return.
func (l *link) Close() error {
	l.cancel()
	_ = l.ps.Close() // reports only that it was closed already
	<-l.read
	return nil
}
