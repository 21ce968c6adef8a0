package rueidis

import (
	"context"
	"errors"

	"github.com/redis/rueidis"

	"github.com/quorumlock/quorumlock/backend/internal/pubsub"
)

// Subscribe subscribes to channels and calls deliver with each message
// published on one of them, until unsubscribe is called or the connection
// breaks (see [redlock.Subscriber]). All the subscriptions of a Conn share
// one dedicated connection of the client (Client.Dedicate), taken out of
// its pool of blocking connections for as long as it lasts, on which the
// Conn sends SUBSCRIBE and UNSUBSCRIBE and sets pub/sub hooks; deliver is
// called from the goroutine of rueidis that reads it, and should return
// at once.
//
// Subscribe returns once the server has confirmed every channel, or when
// ctx's deadline passes, since the confirmation may still come. rueidis
// dials a dedicated connection without a context, bounded by its
// Dialer.Timeout (5s by default): Subscribe waits for the dial as long as
// ctx lets it, and a dial that ends later is kept for the next Subscribe.
// Subscribe fails if the connection cannot be had by then, or breaks
// before the confirmation. The subscriptions end with the connection,
// without notice; the next Subscribe dials a new one.
//
// What rueidis does by itself on that connection: it pings it when idle,
// and closes it when a ping is not answered within ConnWriteTimeout (10s by
// default), which ends its subscriptions as a break does; it does not
// redial or resubscribe a dedicated connection. (Client.Receive, which
// does resubscribe after a break, on the client's shared connections, is
// not used.) With RESP2 (ClientOption.AlwaysRESP2) rueidis carries the
// subscriptions over a second connection of its own.
//
// [redlock.Subscriber]: https://pkg.go.dev/github.com/quorumlock/quorumlock/redlock#Subscriber
func (c *Conn) Subscribe(ctx context.Context, channels []string, deliver func(channel, message string)) (unsubscribe func(), err error) {
	return c.subs.Subscribe(ctx, channels, deliver)
}

// dialSubs takes a dedicated connection and sets the session's hooks on
// it; a goroutine waits for the connection to break.
func (c *Conn) dialSubs(ctx context.Context, s *pubsub.Session) (pubsub.Link, error) {
	dc, err := c.dedicated.get(ctx)
	if err != nil {
		return nil, err
	}
	ended := dc.SetPubSubHooks(rueidis.PubSubHooks{
		OnMessage: func(m rueidis.PubSubMessage) { s.Message(m.Channel, m.Message) },
		OnSubscription: func(sub rueidis.PubSubSubscription) {
			if sub.Kind == "subscribe" {
				s.Confirmed(sub.Channel)
			}
		},
	})
	select {
	case err := <-ended: // the dial failed, or the connection broke since
		dc.Close()
		if err == nil {
			err = errLinkClosed
		}
		return nil, err
	default:
	}
	life, cancel := context.WithCancel(context.Background())
	l := &link{dc: dc, life: life, cancel: cancel, watched: make(chan struct{})}
	s.Go(func() {
		defer close(l.watched)
		err, ok := <-ended // rueidis sends why the connection broke, or closes it when closed
		if !ok || err == nil {
			err = errLinkClosed
		}
		s.End(err)
	})
	return l, nil
}

var errLinkClosed = errors.New("rueidis: the subscription connection was closed")

// A link is a subscription connection: a dedicated client.
type link struct {
	dc rueidis.DedicatedClient
	// life is the context of SUBSCRIBE and UNSUBSCRIBE, which wait for
	// their confirmation; Close cancels it.
	life    context.Context
	cancel  context.CancelFunc
	watched chan struct{} // closed when the goroutine waiting for a break returns
}

// Send sends SUBSCRIBE or UNSUBSCRIBE and waits for the server to confirm
// the first channel (the hooks see each confirmation).
func (l *link) Send(subscribe bool, channels []string) error {
	cmd := l.dc.B().Unsubscribe().Channel(channels...).Build()
	if subscribe {
		cmd = l.dc.B().Subscribe().Channel(channels...).Build()
	}
	return l.dc.Do(l.life, cmd).Error()
}

// Close closes the connection, which rueidis does not put back in its
// pool, and waits for the goroutine waiting for a break to return.
func (l *link) Close() error {
	l.cancel()
	l.dc.Close()
	<-l.watched
	return nil
}
