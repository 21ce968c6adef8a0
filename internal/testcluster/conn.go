package testcluster

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/quorumlock/quorumlock/backend/redigo"
)

// An Op is a kind of command a node sends: one of its Lua scripts, or INFO.
type Op int

// The operations, told apart by the script's name (the first line of each
// .lua file names it) rather than by command strings.
const (
	OpAcquire Op = iota // acquire.lua
	OpExtend            // extend.lua
	OpRelease           // release.lua
	OpStatus            // status.lua
	OpInfo              // INFO
	OpOther             // a script by a digest the fault layer has not seen
	numOps
)

var opNames = [numOps]string{"acquire", "extend", "release", "status", "info", "other"}

// String names the operation.
func (o Op) String() string {
	if o < 0 || o >= numOps {
		return "op?"
	}
	return opNames[o]
}

// A Conn is a server's fault layer: it implements redlock.Conn over the
// redigo backend and injects the faults set on it. It is safe for
// concurrent use.
type Conn struct {
	inner  *redigo.Conn
	server *Server

	mu      sync.Mutex
	down    bool
	blocked [numOps]chan struct{}
	paused  bool
	queue   []func() // commands held by Pause, in arrival order
	delay   [numOps]time.Duration
	lose    [numOps]int
	calls   [numOps]int
	ran     [numOps]int
	ops     map[string]Op // script digest -> operation
	gates   []*gateCh
	late    sync.WaitGroup // commands running after their caller gave up
}

// timeoutError is what a command that outlived its deadline returns.
type timeoutError struct{}

func (timeoutError) Error() string   { return "testcluster: injected: i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// SetDown makes every command fail at once with [ErrDown], or stops that.
func (c *Conn) SetDown(down bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = down
}

// Block holds every op command before it reaches the server until release
// is called; one whose deadline passes first fails with a timeout and never
// runs.
func (c *Conn) Block(op Op) (release func()) { return c.gate(&c.blocked[op]) }

// Pause holds every command as a paused Redis (docker pause, SIGSTOP)
// does: each caller gets a timeout at its deadline, and the commands run
// when resume is called, in the order they arrived, before any command
// sent after that. Close resumes a paused server.
func (c *Conn) Pause() (resume func()) {
	c.mu.Lock()
	c.paused = true
	c.mu.Unlock()
	var once sync.Once
	return func() { once.Do(c.resume) }
}

func (c *Conn) resume() {
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.paused = false
			c.mu.Unlock()
			return
		}
		job := c.queue[0]
		c.queue = c.queue[1:]
		c.mu.Unlock()
		job()
	}
}

// A gateCh is a channel closed once, by whoever comes first.
type gateCh struct {
	ch   chan struct{}
	once sync.Once
}

func (g *gateCh) open() { g.once.Do(func() { close(g.ch) }) }

func (c *Conn) gate(slot *chan struct{}) func() {
	g := &gateCh{ch: make(chan struct{})}
	c.mu.Lock()
	*slot = g.ch
	c.gates = append(c.gates, g)
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		if *slot == g.ch {
			*slot = nil
		}
		c.mu.Unlock()
		g.open()
	}
}

// Delay makes every op command run d late; a caller whose deadline passes
// first gets a timeout, and the command still runs.
func (c *Conn) Delay(op Op, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.delay[op] = d
}

// LoseReplies makes the next n op commands run and then fail with io.EOF,
// as when the connection closes before the reply arrives.
func (c *Conn) LoseReplies(op Op, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lose[op] = n
}

// Calls returns how many op commands were sent to this Conn.
func (c *Conn) Calls(op Op) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op]
}

// Ran returns how many op commands reached the server (or, for INFO, were
// answered), late ones included.
func (c *Conn) Ran(op Op) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ran[op]
}

// EvalSHA implements redlock.Conn.
func (c *Conn) EvalSHA(ctx context.Context, sha string, keys []string, args []any) (any, error) {
	return c.call(ctx, c.opOf(sha), func(ctx context.Context) (any, error) {
		return c.inner.EvalSHA(ctx, sha, keys, args)
	})
}

// Eval implements redlock.Conn.
func (c *Conn) Eval(ctx context.Context, src string, keys []string, args []any) (any, error) {
	return c.call(ctx, c.learn(src), func(ctx context.Context) (any, error) {
		return c.inner.Eval(ctx, src, keys, args)
	})
}

// Info implements redlock.Conn with the server's simulated INFO.
func (c *Conn) Info(ctx context.Context) (string, error) {
	reply, err := c.call(ctx, OpInfo, func(context.Context) (any, error) {
		return c.server.infoText()
	})
	text, _ := reply.(string)
	return text, err
}

// Subscribe implements redlock.Subscriber over the redigo backend; a Conn
// set down refuses it.
func (c *Conn) Subscribe(ctx context.Context, channels []string, deliver func(channel, message string)) (func(), error) {
	c.mu.Lock()
	down := c.down
	c.mu.Unlock()
	if down {
		return nil, ErrDown
	}
	return c.inner.Subscribe(ctx, channels, deliver)
}

// Close implements redlock.Conn.
func (c *Conn) Close() error { return c.inner.Close() }

// learn records which operation the script src is, by its header.
func (c *Conn) learn(src string) Op {
	op := OpOther
	for i, name := range opNames[:OpInfo] {
		if strings.Contains(src, "-- "+name+".lua:") {
			op = Op(i)
			break
		}
	}
	sum := sha1.Sum([]byte(src))
	c.mu.Lock()
	if c.ops == nil {
		c.ops = map[string]Op{}
	}
	c.ops[hex.EncodeToString(sum[:])] = op
	c.mu.Unlock()
	return op
}

func (c *Conn) opOf(sha string) Op {
	c.mu.Lock()
	defer c.mu.Unlock()
	if op, ok := c.ops[sha]; ok {
		return op
	}
	return OpOther
}

// lateBound bounds a command that runs after its caller gave up.
const lateBound = 5 * time.Second

func (c *Conn) call(ctx context.Context, op Op, do func(context.Context) (any, error)) (any, error) {
	run := func(ctx context.Context) (any, error) {
		c.mu.Lock()
		c.ran[op]++
		c.mu.Unlock()
		return do(ctx)
	}
	c.mu.Lock()
	c.calls[op]++
	down, blocked, delay := c.down, c.blocked[op], c.delay[op]
	// A reply can only be lost by a command that reaches the server.
	lose := c.lose[op] > 0 && !down && blocked == nil
	if lose {
		c.lose[op]--
	}
	if c.paused && !down {
		return c.queued(ctx, run) // unlocks c.mu
	}
	c.mu.Unlock()

	if down {
		return nil, ErrDown
	}
	if blocked != nil {
		select {
		case <-blocked:
		case <-ctx.Done():
			return nil, timeoutError{}
		}
	}
	if delay > 0 {
		ready := after(delay)
		select {
		case <-ready:
		case <-ctx.Done():
			c.late.Add(1)
			go func() {
				defer c.late.Done()
				<-ready
				lctx, cancel := context.WithTimeout(context.Background(), lateBound)
				defer cancel()
				_, _ = run(lctx)
			}()
			return nil, timeoutError{}
		}
	}
	reply, err := run(ctx)
	if lose && err == nil {
		return nil, io.EOF
	}
	return reply, err
}

// queued holds run until the pause ends. c.mu is held on entry.
func (c *Conn) queued(ctx context.Context, run func(context.Context) (any, error)) (any, error) {
	type result struct {
		reply any
		err   error
	}
	done := make(chan result, 1)
	c.late.Add(1)
	c.queue = append(c.queue, func() {
		defer c.late.Done()
		lctx, cancel := context.WithTimeout(context.Background(), lateBound)
		defer cancel()
		reply, err := run(lctx)
		done <- result{reply, err}
	})
	c.mu.Unlock()
	select {
	case r := <-done:
		return r.reply, r.err
	case <-ctx.Done():
		return nil, timeoutError{}
	}
}

func after(d time.Duration) <-chan struct{} {
	ch := make(chan struct{})
	time.AfterFunc(d, func() { close(ch) })
	return ch
}

// wait opens every gate, resumes a pause and waits for the commands running
// late.
func (c *Conn) wait() {
	c.mu.Lock()
	gates := c.gates
	c.gates = nil
	c.blocked = [numOps]chan struct{}{}
	c.mu.Unlock()
	c.resume()
	for _, g := range gates {
		g.open()
	}
	c.late.Wait()
}
