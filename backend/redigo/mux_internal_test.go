package redigo

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// sendConn is a redis.Conn that records the commands sent, holds the first
// Send until release is closed, and answers every command with "OK".
type sendConn struct {
	release chan struct{}
	once    sync.Once

	mu      sync.Mutex
	sent    []string
	flushed int
	replies chan struct{}
}

func (c *sendConn) Close() error { return nil }
func (c *sendConn) Err() error   { return nil }
func (c *sendConn) Do(string, ...any) (any, error) {
	return nil, errors.New("sendConn: Do is not used by the mux")
}
func (c *sendConn) DoWithTimeout(time.Duration, string, ...any) (any, error) {
	return nil, errors.New("sendConn: Do is not used by the mux")
}

func (c *sendConn) Send(cmd string, args ...any) error {
	c.once.Do(func() { <-c.release })
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, cmd)
	return nil
}

func (c *sendConn) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.flushed < len(c.sent) {
		c.flushed++
		c.replies <- struct{}{}
	}
	return nil
}

func (c *sendConn) Receive() (any, error) { return c.ReceiveWithTimeout(time.Minute) }

func (c *sendConn) ReceiveWithTimeout(d time.Duration) (any, error) {
	select {
	case <-c.replies:
		return "OK", nil
	case <-time.After(d):
		return nil, errors.New("sendConn: no reply")
	}
}

// A command whose caller gave up before it could be sent is never sent,
// and the commands sent before it are still flushed.
func TestMux_dropsAbandonedCommands(t *testing.T) {
	fc := &sendConn{release: make(chan struct{}), replies: make(chan struct{}, 16)}
	lc := startLane(fc)
	defer func() { lc.breakOff(errClosed); lc.wg.Wait() }()

	first := getCall("FIRST")
	lc.queue <- first // its Send is held until release
	late := getCall("LATE")
	lc.queue <- late
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := late.wait(ctx, lc); !errors.As(err, new(timeoutError)) {
		t.Fatalf("the late command's wait: %v; want its timeout", err)
	}
	close(fc.release)
	reply, err := first.wait(context.Background(), lc)
	if err != nil || reply != "OK" {
		t.Fatalf("the first command: %v, %v; want OK", reply, err)
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if len(fc.sent) != 1 || fc.sent[0] != "FIRST" {
		t.Errorf("sent %q; want only FIRST, the late command having been given up before it was sent", fc.sent)
	}
}
