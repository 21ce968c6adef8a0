package redlock

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quorumlock/quorumlock/redlock/observe"
)

// A Subscriber is a [Conn] that can also deliver messages published on
// channels. It is optional: with it, a waiter for a lock learns at once
// that its turn has come, when the holder releases the lock, and a lock
// without fencing is handed to it by the release itself; without it, the
// waiter finds out when it tries again (see [Client.Lock]). The backends in
// this repository implement it.
type Subscriber interface {
	// Subscribe subscribes to channels and calls deliver with each message
	// published on one of them, from one goroutine per Conn, until
	// unsubscribe is called; it returns once the server has confirmed the
	// subscription, or ctx's deadline has passed. A Conn should carry all its
	// subscriptions over one connection. When that connection breaks, the
	// subscriptions end without notice, which costs only the wake-ups and
	// hand-offs: a node hands a lock only to a waiter subscribed there.
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
// now on the nodes' clocks (see [nodeClocks]); hands says whether it takes hand-offs (see
// [handoff]). keys are the keys whose queues it waits in: one lock's, or
// every slot's of a semaphore.
func (c *Client) newWaiter(cfg *config, hands bool, keys []string) (*waiter, error) {
	var b [8]byte
	if _, err := io.ReadFull(cfg.rand, b[:]); err != nil {
		return nil, fmt.Errorf("redlock: reading a random waiter id: %w", err)
	}
	id := hex.EncodeToString(b[:])
	w := &waiter{id: id, idArg: id, score: c.clocks.place(cfg.clock.Now()), wake: make(chan struct{}, 1), keys: keys}
	if hands {
		w.hand = newHandoff(len(c.nodes))
	}
	return w, nil
}

// goneFor is how long a waiter that has left a lock's queue is marked gone
// there (see queue.lua): twice its life in a queue plus the node timeout,
// so that its attempts still on their way to a node neither queue it again
// nor offer to take the lock, which would hand the lock to no one for its
// ttl. An attempt that reaches a node frozen for longer than that can.
func goneFor(nodeTimeout time.Duration) time.Duration { return 2*queueLife + nodeTimeout }

// stopWaiting ends w's subscriptions and, if it may be queued anywhere,
// takes it out of the queues of keys (one lock's, or every slot's of a
// semaphore) in the background, each node within the node timeout, marks
// it gone there (see [goneFor]), and releases a lock handed to it
// meanwhile.
func (c *Client) stopWaiting(w *waiter, keys ...string) {
	w.unsubscribe()
	if !w.queued || len(keys) == 0 {
		return
	}
	args := perNode(len(c.nodes), []any{w.idArg, c.goneArg}, nil)
	r, oc := c.everyNode(context.Background(), c.cfg.nodeTimeout, func(ctx context.Context, i int, n *Node) error {
		_, _, err := c.call(ctx, n, command{op: observe.OpLeave, script: leaveScript, keys: keys, args: args.of(i)})
		return err
	})
	c.finish(r, oc)
}

// stopWaitingHanded is stopWaiting for a waiter that was handed the lock by
// a quorum of nodes: it keeps w's subscriptions, in the background, until
// every node has told it of the hand-off or the node timeout has passed,
// so that the other nodes' releases, which hand the lock only to a waiter
// that hears of it, hand it there too.
func (c *Client) stopWaitingHanded(w *waiter) {
	if !w.hand.mayHearMore() {
		w.unsubscribe()
		return
	}
	c.bg.goDo(func() {
		defer w.unsubscribe()
		t := time.NewTimer(c.cfg.nodeTimeout)
		defer t.Stop()
		for w.hand.mayHearMore() {
			select {
			case <-w.wake:
			case <-t.C:
				return
			}
		}
	})
}

// A waiter is one Lock or Semaphore call waiting for its turn.
type waiter struct {
	id     string   // random, stable across the call's attempts
	idArg  any      // id, boxed once
	score  any      // when it began waiting, in ms since 1970, boxed
	keys   []string // the keys whose queues it waits in
	wake   chan struct{}
	rang   atomic.Int32 // 1 + the index of the key whose queue last woke it; 0 if none since read
	queued bool         // some attempt may have queued it on a node
	unsubs []func()
	hand   *handoff // for a lock without fencing; nil for others
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

// channel is the channel on which the waiter w hears of its turn (see
// queue.lua).
func channel(w *waiter) string { return Reserved + "c:" + w.id }

// subscribe makes w hear when its turn comes in the queues of its keys on
// every node that can tell it, each bounded by the node timeout; nodes that
// cannot are left to the timer. A node hands a lock only to a waiter that
// hears of it there.
func (c *Client) subscribe(w *waiter) {
	// A message is "w <key>", the key's queue has come to w's turn, or "h
	// <attempt> <incarnation> <key>", the key was handed to w's attempt.
	deliver := func(node int) func(channel, message string) {
		return func(_, message string) {
			kind, rest, _ := strings.Cut(message, " ")
			switch kind {
			case "w":
				if k := slices.Index(w.keys, rest); k >= 0 {
					w.rang.Store(int32(k) + 1)
					w.ring()
				}
			case "h":
				if w.hand != nil && w.hand.heard(node, rest, w.keys[0]) {
					w.ring()
				}
			}
		}
	}
	channels := []string{channel(w)}
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
				n.couldNotSubscribe(err)
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
