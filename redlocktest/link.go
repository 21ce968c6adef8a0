package redlocktest

import (
	"net"
	"sync"
)

// A link is one client connection and its connection to the server.
type link struct {
	raw net.Conn // the accepted connection

	mu      sync.Mutex
	changed sync.Cond // on mu: a reply was delivered, or the link closed
	client  net.Conn  // raw, or TLS over it
	server  net.Conn
	dead    bool
	pending []bool // per forwarded command not yet answered, in order: drop its reply
	subs    bool   // the client sent SUBSCRIBE
}

// subscribed records that the client sent SUBSCRIBE.
func (l *link) subscribed() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.subs = true
}

func (l *link) isSubscriber() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.subs
}

// attach records the link's connections, or closes server and reports
// false if the link was closed meanwhile.
func (l *link) attach(client, server net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dead {
		_ = server.Close()
		return false
	}
	l.client, l.server = client, server
	return true
}

func (l *link) push(lose bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = append(l.pending, lose)
}

// next reports whether the reply now arriving is to be dropped.
func (l *link) next() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pending) > 0 && l.pending[0]
}

// delivered records that the oldest command's reply reached the client.
func (l *link) delivered() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending) > 0 {
		l.pending = l.pending[1:]
	}
	l.changed.Broadcast()
}

// drain waits until every forwarded command's reply has reached the client,
// or the link closed.
func (l *link) drain() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.pending) > 0 && !l.dead {
		l.changed.Wait()
	}
}

func (l *link) close() {
	l.mu.Lock()
	l.dead = true
	l.changed.Broadcast()
	server := l.server
	l.mu.Unlock()
	_ = l.raw.Close()
	if server != nil {
		_ = server.Close()
	}
}
