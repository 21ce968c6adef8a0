package redlock

import (
	"strconv"
	"strings"
	"sync"
	"time"
)

// A hand-off gives a released lock to the first waiter in its queue on the
// node itself, in the releasing script, instead of waking the waiter to
// acquire it, so that passing the lock on takes the release alone, not a
// release, a notification and an acquisition in turn. The waiter's
// unfenced attempts leave, on every node where they find the lock busy, an
// offer: the attempt's number, token and ttl. A release by the holder
// publishes, on the new head's own channel, the attempt's number, the
// server's incarnation and the lock's key, and if the message reached a
// subscriber (the head's), sets the key to the head's offered token with
// the offered ttl (pass in queue.lua). The waiter holds the lock, with that
// attempt's token, once a quorum of nodes has told it so, each of them
// counting only if all of these hold:
//
//   - the message names the waiter's latest attempt, n, and the lock's key;
//   - the node answered attempt n, saying the lock was busy;
//   - the message names the incarnation of the server that the node last
//     saw (see [WithQuarantine]): the server has not restarted, nor lost its
//     data, since the node last heard from it;
//   - the node is not suspect of a restart, nothing in its vetting refuses
//     it, and with the quarantine on, the node is out of quarantine as for
//     a grant by a command sent when attempt n began ([Client.quarantined]);
//
// and it holds until the start of attempt n plus the ttl less the drift.
//
// Why that is safe. A node registers attempt n's offer when it runs attempt
// n, and a hand-off of attempt n's token names n, so the hand-off on node i
// came after attempt n ran there, which was after the attempt began on the
// client: the key's ttl there runs from later than the start of attempt n.
// After answering "busy" the node gets no command of this waiter's that
// deletes that key until the waiter has its answer: the undo of a failed
// attempt goes only to nodes that may have set the key (not those that
// answered "busy"), and deletes only that attempt's own token there; the
// waiter's next attempt, which replaces a handed key by its own token
// there, also moves the waiter on to a new n, after which messages naming n
// are not counted. Attempt numbers only grow on a node: a straggling copy of
// an earlier attempt, which may run after a later one (a node's commands
// travel over more than one connection), neither takes over the later
// attempt's key nor replaces its offer. So each counted node holds the token
// from before its message until at least start + ttl, as with a grant, by
// the node's clock, unless it forgot the key: a restart without its data,
// which changes the incarnation, so that the message does not count (the
// message is published in the same script that sets the key, after any
// restart), or one that the quarantine covers as it covers a grant. This
// leans on the restart detection of [WithQuarantine] exactly as a grant
// does, with the same assumptions (see the package documentation). The
// restart checks stand in for those of [Client.admit]: a hand-off is made by
// another client's release, so the waiter's own scripts have not told it of
// a restart, and the incarnation read with the hand-off does instead.
// Publishing first and setting the key only if someone heard changes
// nothing above: a message that reached no one counts nowhere, and a key
// set for a waiter that did not hear of it (it unsubscribed just after the
// publish) is one it never counts, which expires by its ttl or is freed by
// the waiter's release or departure (below).
//
// A waiter with fewer than a quorum of such messages waits up to the node
// timeout for the other nodes' (not once every node has told it), then
// tries again: its attempt takes over the keys handed to it (acquire.lua),
// so nothing handed is lost but that time and the attempt's; and its
// release frees, besides its own key, a key handed to an earlier attempt
// of its that it never counted (release.lua).
//
// A waiter that leaves the queue, by giving up (leave.lua) or by releasing
// the lock it was granted or handed (release.lua), gives its keys back and
// is marked gone there for a while ([goneFor]): its attempts still on their
// way neither queue it again nor offer to take the lock, which would hand
// the lock to no one for its ttl. Such an attempt may still take a free
// lock with no one queued, as any late SET may; the gate sends the undo of
// its failed attempt after it (see [gate]), and its key expires by its ttl
// if the node ran it later than that. The undo of a waiter's own failed attempt
// frees the key its attempt set, and neither takes the waiter out of the
// queue nor tells it that the lock is free: it knows, and would only try
// again at once, over and over while another client holds the lock on the
// other nodes.
//
// What a waiter that dies costs. Its process's end closes its connections,
// and with them its subscriptions: a release then reaches no one, hands the
// lock to no one, and the next waiter takes the free lock once the dead
// one's life in the queue has ended ([queueLife], 2s) and it tries again
// (within [queueRefresh]). A waiter whose host dies, or that is cut off from
// a node, keeps its subscription there until the server notices the
// connection is dead (TCP keepalive: minutes): if it reaches the head
// within its life in the queue, it is handed the lock and holds it for its
// ttl, as a holder that dies does. Bounding that too would need the waiter
// to confirm each hand-off before the lock is its for its ttl (the node
// sets a short claim, and the waiter extends it): one more round trip on
// every hand-over, to bound a cost that only a host's death or a partition
// within the queue's life incurs. The figures of both are in
// docs/operations.md.
type handoff struct {
	mu          sync.Mutex
	n           uint64   // the number of the attempt whose hand-off counts; 0 before the first
	lock        *Lock    // that attempt, until it is granted or handed over
	busy        []bool   // node i answered attempt n: the lock was busy
	handed      []bool   // node i handed the lock to attempt n
	incarnation []string // the incarnation of node i's server with which it did
	messages    int      // hand-off messages for attempt n
	over        bool     // attempt n was handed over: its messages are only counted
}

func newHandoff(nodes int) *handoff {
	return &handoff{busy: make([]bool, nodes), handed: make([]bool, nodes), incarnation: make([]string, nodes)}
}

// arm makes l, an attempt about to be sent, the one whose hand-off counts,
// and returns its number as the script's argument.
func (h *handoff) arm(l *Lock) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n++
	h.lock, h.over = l, false
	clear(h.busy)
	clear(h.handed)
	h.messages = 0
	return strconv.FormatUint(h.n, 10)
}

// disarm ends the wait for a hand-off: the attempt was granted.
func (h *handoff) disarm() {
	h.mu.Lock()
	h.lock = nil
	h.mu.Unlock()
}

// answered records that node i answered l "busy". It reports whether the
// node's hand-off message came first, so that the waiter must look again.
func (h *handoff) answered(l *Lock, i int) (late bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lock != l {
		return false
	}
	h.busy[i] = true
	return h.handed[i]
}

// heard records a hand-off message from node i, its text after the kind:
// "<attempt> <incarnation> <key>". It reports whether the message names
// the attempt whose hand-off counts, of the lock key.
func (h *handoff) heard(i int, text, key string) bool {
	num, rest, ok := strings.Cut(text, " ")
	if !ok {
		return false
	}
	inc, k, ok := strings.Cut(rest, " ")
	if !ok || k != key || inc == "" {
		return false
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if (h.lock == nil && !h.over) || n != h.n || h.handed[i] {
		return false
	}
	h.handed[i], h.incarnation[i] = true, inc
	h.messages++
	return true
}

// mayHearMore reports whether some nodes, not all, have told of a hand-off
// to the current attempt, so that the others' messages may be on their way.
func (h *handoff) mayHearMore() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return (h.lock != nil || h.over) && h.messages > 0 && h.messages < len(h.handed)
}

// handedOver returns the lock if a quorum of nodes has handed it to the
// waiter's current attempt within its validity (see [handoff]), and stops
// the wait for it; otherwise nil.
func (c *Client) handedOver(h *handoff) *Lock {
	h.mu.Lock()
	defer h.mu.Unlock()
	l := h.lock
	if l == nil || h.messages < c.quorum {
		return nil
	}
	count := 0
	for i := range c.nodes {
		if h.handed[i] && h.busy[i] && c.mayHandOff(i, h.incarnation[i], l.sent, l.acquired) == nil {
			count++
		}
	}
	if count < c.quorum {
		return nil
	}
	until, _, valid := heldUntil(&l.cfg, l.acquired)
	if !valid {
		return nil
	}
	l.until = until
	h.lock, h.over = nil, true
	return l
}

// mayHandOff returns why node i's hand-off, made in its server's
// incarnation inc to an attempt sent at sent, does not count, or nil: the
// checks of [Client.admit] that need no command; sentC is sent on the
// client's clock. A hand-off in a new
// incarnation does not count: the server restarted or lost its data since
// the node last saw it, and its quarantine starts. A node that is suspect
// (never probed, or a new incarnation seen since its last probe) is probed
// in the background, and its hand-offs count from then on; so is one that
// answers a waiter's attempt (see [Lock.acquireOn]), so that the first
// hand-off counts. A node last vetted longer than revet ago is vetted again
// in the background, as by admit.
func (c *Client) mayHandOff(i int, inc string, sent, sentC time.Time) error {
	n := c.nodes[i]
	if n.sawIncarnation(inc) {
		return errRestarted
	}
	st := c.keepVetted(i)
	if st.suspect {
		return errSuspect
	}
	if err := c.refusal(i, false); err != nil {
		return err
	}
	return c.quarantined(n, i, st, sent, sentC)
}

// keepVetted probes node i in the background if it is suspect, or was last
// vetted longer than revet ago, as admit would; it returns the node's state
// before that probe.
func (c *Client) keepVetted(i int) nodeState {
	st := c.nodes[i].state()
	if !st.probing && (st.suspect || st.stale()) {
		c.revet(c.nodes[i])
	}
	return st
}
