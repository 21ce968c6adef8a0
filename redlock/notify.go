package redlock

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quorumlock/quorumlock/quorum"
)

// A Subscriber is a [Conn] that can also deliver messages published on
// channels. It is optional: with it, a waiter for a lock learns at once
// that its turn has come, when the holder releases the lock; without it,
// the waiter finds out when it tries again (see [Client.Lock]). The backends
// in this repository implement it.
type Subscriber interface {
	// Subscribe subscribes to channels and calls deliver with each message
	// published on one of them, from one goroutine per Conn, until
	// unsubscribe is called; it returns once the server has confirmed the
	// subscription, or ctx's deadline has passed. A Conn should carry all its
	// subscriptions over one connection. When that connection breaks, the
	// subscriptions end without notice, which costs only the wake-ups.
	Subscribe(ctx context.Context, channels []string, deliver func(channel, message string)) (unsubscribe func(), err error)
}

// How a waiter keeps its place in a lock's queue: it tries again at least
// every queueRefresh, and a node drops it after queueLife without a try.
const (
	queueRefresh = 500 * time.Millisecond
	queueLife    = 4 * queueRefresh
)

var queueLifeArg any = queueLife.Milliseconds()

// newWaiter returns a waiter with a random id, whose place in the queues is
// now; hands says whether it takes hand-offs (see [handoff]).
func (c *Client) newWaiter(r io.Reader, hands bool) (*waiter, error) {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return nil, fmt.Errorf("redlock: reading a random waiter id: %w", err)
	}
	id := hex.EncodeToString(b[:])
	w := &waiter{id: id, idArg: id, score: time.Now().UnixMilli(), wake: make(chan struct{}, 1)}
	if hands {
		w.hand = newHandoff(len(c.nodes))
	}
	return w, nil
}

// stopWaiting ends w's subscriptions and, if it may be queued anywhere,
// takes it out of the queues of keys (one lock's, or every slot's of a
// semaphore) in the background, each node within the node timeout, and
// releases a lock handed to it meanwhile. A straggling attempt of w's that
// lands after that queues it again until its life there ends; unless w
// takes hand-offs: then, for twice its life in a queue plus the node
// timeout, its straggling attempts neither queue it nor offer to take the
// lock, which would hand the lock to no one for its ttl.
func (c *Client) stopWaiting(w *waiter, keys ...string) {
	w.unsubscribe()
	if !w.queued || len(keys) == 0 {
		return
	}
	args := []any{w.idArg}
	if w.hand != nil {
		args = append(args, (2*queueLife + c.cfg.nodeTimeout).Milliseconds())
	}
	oc := newOpContext(context.Background(), c.cfg.nodeTimeout)
	r := quorum.Go(oc, len(c.nodes), func(ctx context.Context, i int) error {
		start := c.nodeStart()
		_, _, err := c.nodes[i].run(ctx, leaveScript, keys, args)
		c.nodeDone(ctx, c.nodes[i], OpLeave, start, err)
		return err
	})
	c.finish(r, oc)
}

// A waiter is one Lock or Semaphore call waiting for its turn.
type waiter struct {
	id       string // random, stable across the call's attempts
	idArg    any    // id, boxed once
	score    any    // when it began waiting, in ms since 1970, boxed
	wake     chan struct{}
	channels map[string]int // the channels of the queues it waits in, to their key's index; nil until subscribed
	rang     atomic.Int32   // 1 + the index of the key whose queue last woke it; 0 if none since read
	queued   bool           // some attempt may have queued it on a node
	unsubs   []func()
	hand     *handoff // for a lock without fencing; nil for others
}

// handoffs returns w's hand-off state: nil if w is nil or takes none.
func (w *waiter) handoffs() *handoff {
	if w == nil {
		return nil
	}
	return w.hand
}

// ring wakes the waiter, without blocking; wake-ups coalesce.
func (w *waiter) ring() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// subscribe makes w hear when its turn comes in the queue of any of keys
// (one lock's, or every slot's of a semaphore) on every node that can tell
// it, each bounded by the node timeout; nodes that cannot are left to the
// timer.
func (c *Client) subscribe(w *waiter, keys ...string) {
	w.channels = make(map[string]int, len(keys))
	channels := make([]string, len(keys))
	for i, key := range keys {
		channels[i] = Reserved + "q:" + key
		w.channels[channels[i]] = i
	}
	// A message is the id of the waiter woken, or for a hand-off the id,
	// the attempt's number and the server's uptime.
	deliver := func(node int) func(channel, message string) {
		return func(channel, message string) {
			k, ok := w.channels[channel]
			if !ok {
				return
			}
			id, rest, handed := strings.Cut(message, " ")
			switch {
			case id != w.id:
			case !handed:
				w.rang.Store(int32(k) + 1)
				w.ring()
			case w.hand != nil && w.hand.heard(node, rest):
				w.ring()
			}
		}
	}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for i, n := range c.nodes {
		s, ok := n.conn.(Subscriber)
		if !ok {
			continue
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), c.cfg.nodeTimeout)
			defer cancel()
			unsub, err := s.Subscribe(ctx, channels, deliver(i))
			if err != nil {
				return
			}
			mu.Lock()
			w.unsubs = append(w.unsubs, unsub)
			mu.Unlock()
		})
	}
	wg.Wait()
}

// unsubscribe ends w's subscriptions.
func (w *waiter) unsubscribe() {
	for _, u := range w.unsubs {
		u()
	}
	w.unsubs = nil
}
