package redlocktest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// rawClient is a bare connection through the proxy, to see its faults
// without any client library in between.
type rawClient struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialProxy(t *testing.T, p *proxy) *rawClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.addr(), 5*time.Second)
	if err != nil {
		t.Fatalf("dialling the proxy: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return &rawClient{t: t, c: c, r: bufio.NewReader(c)}
}

func (rc *rawClient) send(cmds string) {
	rc.t.Helper()
	if _, err := io.WriteString(rc.c, cmds); err != nil {
		rc.t.Fatalf("writing to the proxy: %v", err)
	}
}

func (rc *rawClient) reply() (string, error) {
	raw, _, err := readReply(rc.r)
	return string(raw), err
}

// command encodes a command as clients send it.
func command(args ...string) string {
	s := fmt.Sprintf("*%d\r\n", len(args))
	for _, a := range args {
		s += fmt.Sprintf("$%d\r\n%s\r\n", len(a), a)
	}
	return s
}

var (
	incr = command("INCR", "n")
	eval = command("EVAL", "return redis.call('INCR', KEYS[1])", "1", "n")
)

func TestProxy_loseReply(t *testing.T) {
	s := startMiniredis(t, "")
	p := newProxy(t, s.addr(), nil)
	rc := dialProxy(t, p)
	p.loseNextScriptReply()
	rc.send(incr + eval) // pipelined: the first reply arrives, then none
	if got, err := rc.reply(); err != nil || got != ":1\r\n" {
		t.Fatalf("reply to the command before the script: %q, %v", got, err)
	}
	if got, err := rc.reply(); err == nil {
		t.Fatalf("the script's reply arrived: %q", got)
	}
	if v, _ := s.get(t, "n"); v != "2" {
		t.Errorf("n is %q on the server, want 2: the script ran, its reply was dropped", v)
	}
	if _, _, lost, _ := p.counts(); lost != 1 {
		t.Errorf("lost %d replies, want 1", lost)
	}
}

func TestProxy_cut(t *testing.T) {
	s := startMiniredis(t, "")
	p := newProxy(t, s.addr(), nil)
	rc := dialProxy(t, p)
	p.cutNextScript()
	rc.send(incr + eval)
	if got, err := rc.reply(); err != nil || got != ":1\r\n" {
		t.Fatalf("reply to the command before the script: %q, %v", got, err)
	}
	if got, err := rc.reply(); err == nil {
		t.Fatalf("the cut script was answered: %q", got)
	}
	if v, _ := s.get(t, "n"); v != "1" {
		t.Errorf("n is %q on the server, want 1: the cut script never reached it", v)
	}
}

func TestProxy_stall(t *testing.T) {
	s := startMiniredis(t, "")
	p := newProxy(t, s.addr(), nil)
	open := dialProxy(t, p)
	open.send(incr)
	if got, err := open.reply(); err != nil || got != ":1\r\n" {
		t.Fatalf("reply before the stall: %q, %v", got, err)
	}
	p.stall()
	late := dialProxy(t, p)
	for _, rc := range []*rawClient{open, late} {
		rc.send(incr)
		if err := rc.c.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if got, err := rc.reply(); err == nil {
			t.Errorf("a stalled proxy answered %q", got)
		}
	}
	// The late connection's first command is recorded when it arrives.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, _, _, firsts := p.counts(); len(firsts) == 1 && firsts[0] == "INCR" {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("first commands of stalled connections: %q, want [INCR]", firsts)
		}
	}
	if v, _ := s.get(t, "n"); v != "1" {
		t.Errorf("n is %q on the server, want 1: nothing passes a stalled proxy", v)
	}
}

func TestProxy_drop(t *testing.T) {
	s := startMiniredis(t, "")
	p := newProxy(t, s.addr(), nil)
	rc := dialProxy(t, p)
	rc.send(incr)
	if _, err := rc.reply(); err != nil {
		t.Fatal(err)
	}
	p.drop()
	if got, err := rc.reply(); err == nil {
		t.Errorf("a dropped connection read %q", got)
	}
	if accepted, _, _, _ := p.counts(); accepted != 1 {
		t.Errorf("accepted %d connections, want 1", accepted)
	}
}
