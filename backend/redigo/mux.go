package redigo

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomodule/redigo/redis"
)

// A mux carries the commands of many goroutines to one server over a few
// connections, pipelined: each connection (a lane) has a writer that sends
// queued commands and flushes when its queue runs dry, and a reader that
// receives the replies in order. Commands on one key always take the same
// lane, so the server runs them in the order they were sent, even when it
// was paused in between: a release sent after a SET that timed out runs
// after it.
//
// A caller waits for its reply until its deadline; a reply that comes later
// is dropped. A lane whose reply is overdue by readBound is closed, as is a
// lane whose connection fails; every command waiting on it fails, and the
// next command dials again.
type mux struct {
	dial  func(ctx context.Context) (redis.Conn, error)
	lanes []*lane
	seed  maphash.Seed
	rr    atomic.Uint32 // lane for commands without a key

	mu     sync.Mutex
	closed bool
}

// A lane is one pipelined connection.
type lane struct {
	m *mux

	mu      sync.Mutex
	conn    *laneConn     // nil until dialed, and after it broke
	dialing chan struct{} // closed when a dial in progress ends
}

// A laneConn is a live connection and its two goroutines.
type laneConn struct {
	conn    redis.Conn
	queue   chan *call // to the writer
	pending chan *call // sent, awaiting replies, in order
	once    sync.Once
	done    chan struct{} // closed when the connection is broken
	err     error         // why, set before done is closed
	wg      sync.WaitGroup
}

const (
	queueLen   = 256              // commands waiting to be sent, per lane
	pendingLen = 4096             // commands sent and awaiting replies, per lane
	readBound  = 30 * time.Second // an overdue reply breaks the connection
)

// A call is one command in flight. Calls are recycled: whoever finishes with
// a call last (the caller, or the reader after the caller gave up) puts it
// back.
type call struct {
	cmd   string
	argv  []any
	reply any
	err   error
	state atomic.Int32 // callWaiting, callDone, callAbandoned
	done  chan struct{}
	timer *time.Timer
}

const (
	callWaiting int32 = iota
	callDone
	callAbandoned
)

var callPool = sync.Pool{New: func() any {
	c := &call{done: make(chan struct{}, 1), timer: time.NewTimer(time.Hour)}
	c.timer.Stop()
	return c
}}

func getCall(cmd string) *call {
	c := callPool.Get().(*call)
	c.cmd = cmd
	c.state.Store(callWaiting)
	return c
}

func putCall(c *call) {
	clear(c.argv)
	c.argv = c.argv[:0]
	c.reply, c.err = nil, nil
	callPool.Put(c)
}

func newMux(lanes int, dial func(ctx context.Context) (redis.Conn, error)) *mux {
	m := &mux{dial: dial, seed: maphash.MakeSeed()}
	for range lanes {
		m.lanes = append(m.lanes, &lane{m: m})
	}
	return m
}

// laneFor picks the lane of key, or the next lane if key is empty.
func (m *mux) laneFor(key string) *lane {
	if key == "" {
		return m.lanes[int(m.rr.Add(1))%len(m.lanes)]
	}
	return m.lanes[maphash.String(m.seed, key)%uint64(len(m.lanes))]
}

// errClosed is the error of a command sent through a closed Conn.
var errClosed = errors.New("redigo: connection closed")

// do sends cmd with argv on key's lane and waits for the reply until ctx's
// deadline (or, lacking one, until ctx ends). argv is copied.
func (m *mux) do(ctx context.Context, key string, cmd string, argv []any) (any, error) {
	l := m.laneFor(key)
	lc, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	c := getCall(cmd)
	c.argv = append(c.argv, argv...)
	select {
	case lc.queue <- c:
	case <-lc.done:
		putCall(c)
		return nil, lc.err
	default:
		putCall(c)
		return nil, fmt.Errorf("redigo: %d commands queued on one connection; the server is not keeping up", queueLen)
	}
	return c.wait(ctx, lc)
}

// wait waits for c's reply until ctx's deadline or, if it has none, until
// ctx ends, or until lc breaks: a call queued just as lc broke may never be
// taken by its writer. It recycles c unless the lane still owns it.
func (c *call) wait(ctx context.Context, lc *laneConn) (any, error) {
	var timeout <-chan time.Time
	var cancelled <-chan struct{}
	if deadline, ok := ctx.Deadline(); ok {
		c.timer.Reset(time.Until(deadline))
		timeout = c.timer.C
	} else {
		cancelled = ctx.Done()
	}
	select {
	case <-c.done:
		c.timer.Stop()
		reply, err := c.reply, c.err
		putCall(c)
		return reply, err
	case <-timeout:
	case <-cancelled:
	case <-lc.done:
	}
	c.timer.Stop()
	if !c.state.CompareAndSwap(callWaiting, callAbandoned) {
		<-c.done // the reply came just now
		reply, err := c.reply, c.err
		putCall(c)
		return reply, err
	}
	select {
	case <-lc.done:
		return nil, lc.err
	default:
	}
	if timeout != nil {
		return nil, timeoutError{}
	}
	return nil, context.Cause(ctx)
}

// finish delivers c's outcome to its caller, or recycles c if the caller
// gave up.
func (c *call) finish(reply any, err error) {
	c.reply, c.err = reply, err
	if c.state.CompareAndSwap(callWaiting, callDone) {
		c.done <- struct{}{}
		return
	}
	putCall(c) // abandoned
}

// timeoutError is the error of a command whose deadline passed.
type timeoutError struct{}

func (timeoutError) Error() string   { return "redigo: i/o timeout (node timeout)" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// get returns the lane's live connection, dialing one if there is none;
// the dial is bounded by ctx, and callers arriving meanwhile wait for it
// within their own deadlines.
func (l *lane) get(ctx context.Context) (*laneConn, error) {
	for {
		l.mu.Lock()
		if l.m.isClosed() {
			l.mu.Unlock()
			return nil, errClosed
		}
		if lc := l.conn; lc != nil {
			select {
			case <-lc.done:
				l.conn = nil // broken: dial again
			default:
				l.mu.Unlock()
				return lc, nil
			}
		}
		if ch := l.dialing; ch != nil {
			l.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			}
		}
		ch := make(chan struct{})
		l.dialing = ch
		l.mu.Unlock()

		conn, err := l.m.dial(ctx)
		l.mu.Lock()
		l.dialing = nil
		close(ch)
		if err != nil {
			l.mu.Unlock()
			return nil, err
		}
		if l.m.isClosed() {
			l.mu.Unlock()
			_ = conn.Close()
			return nil, errClosed
		}
		lc := startLane(conn)
		l.conn = lc
		l.mu.Unlock()
		return lc, nil
	}
}

func startLane(conn redis.Conn) *laneConn {
	lc := &laneConn{
		conn:    conn,
		queue:   make(chan *call, queueLen),
		pending: make(chan *call, pendingLen),
		done:    make(chan struct{}),
	}
	lc.wg.Add(2)
	go lc.write()
	go lc.read()
	return lc
}

// breakOff marks the connection broken with err, once, and closes it.
func (lc *laneConn) breakOff(err error) {
	lc.once.Do(func() {
		lc.err = err
		close(lc.done)
		_ = lc.conn.Close()
	})
}

// write sends queued commands, flushing when the queue runs dry. A command
// whose caller gave up while it waited to be sent is dropped: sending it
// would only add to the server's backlog, which on an overloaded server
// makes the next commands late too.
func (lc *laneConn) write() {
	defer lc.wg.Done()
	for {
		var c *call
		select {
		case c = <-lc.queue:
		case <-lc.done:
			lc.failQueued()
			return
		}
		if c.state.Load() == callAbandoned {
			putCall(c)
		} else if !lc.send(c) {
			continue
		}
		if len(lc.queue) == 0 {
			if err := lc.conn.Flush(); err != nil {
				lc.breakOff(err)
			}
		}
	}
}

// send writes c to the connection's buffer and hands it to the reader; it
// reports false if the connection broke, having failed c.
func (lc *laneConn) send(c *call) bool {
	if err := lc.conn.Send(c.cmd, c.argv...); err != nil {
		lc.breakOff(err)
		c.finish(nil, lc.err) // the first cause, not a closed connection's echo of it
		return false
	}
	select {
	case lc.pending <- c:
		return true
	case <-lc.done:
		c.finish(nil, lc.err)
		return false
	}
}

// read receives the replies in order and hands them to their callers.
func (lc *laneConn) read() {
	defer lc.wg.Done()
	for {
		var c *call
		select {
		case c = <-lc.pending:
		case <-lc.done:
			lc.failPending()
			return
		}
		reply, err := redis.ReceiveWithTimeout(lc.conn, readBound)
		if err != nil && !isReplyError(err) {
			lc.breakOff(err)
			c.finish(nil, lc.err) // the first cause, not a closed connection's echo of it
			continue
		}
		c.finish(reply, err)
	}
}

// isReplyError reports whether err is an error reply from the server, which
// leaves the connection usable.
func isReplyError(err error) bool {
	var re redis.Error
	return errors.As(err, &re)
}

func (lc *laneConn) failQueued() {
	for {
		select {
		case c := <-lc.queue:
			c.finish(nil, lc.err)
		default:
			return
		}
	}
}

func (lc *laneConn) failPending() {
	for {
		select {
		case c := <-lc.pending:
			c.finish(nil, lc.err)
		default:
			return
		}
	}
}

func (m *mux) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

// close breaks every lane and waits for their goroutines.
func (m *mux) close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	for _, l := range m.lanes {
		l.mu.Lock()
		lc := l.conn
		l.conn = nil
		l.mu.Unlock()
		if lc != nil {
			lc.breakOff(errClosed)
			lc.wg.Wait()
		}
	}
	return nil
}
