package redlocktest

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// A proxy forwards loopback connections to a Redis server and injects the
// wire faults the suite needs: it stalls (accepts and reads, never answers),
// holds commands back until told to go on, cuts a connection when a script
// command arrives, or lets a script command run and drops its reply with the
// connection. It parses the protocol to
// tell commands and replies apart, so pipelined clients see the same faults
// as others. With a TLS configuration it terminates TLS for the client.
type proxy struct {
	ln     net.Listener
	target string
	tls    *tls.Config
	wg     sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	stalled  bool
	gate     chan struct{} // not nil: commands wait until it is closed
	held     []string      // the commands that waited at the gate
	cutNext  int           // script commands on which to close the connection
	loseNext int           // script commands whose reply to drop
	accepted int
	cuts     int
	lost     int
	firsts   []string // first command of each connection accepted while stalled
	links    map[*link]struct{}
}

// newProxy starts a proxy to target, closed when tb ends.
func newProxy(tb testing.TB, target string, tlsConf *tls.Config) *proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("proxy: listening on loopback: %v", err)
	}
	p := &proxy{ln: ln, target: target, tls: tlsConf, links: map[*link]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	tb.Cleanup(p.close)
	return p
}

// addr returns the address clients connect to.
func (p *proxy) addr() string { return p.ln.Addr().String() }

// stall makes the proxy answer nothing from now on: commands on open
// connections are read and dropped, and new connections are accepted and
// read but never reach the server (nor, with TLS, finish a handshake).
func (p *proxy) stall() { p.set(func() { p.stalled = true }) }

// hold makes commands wait, from now on until release, before they are
// forwarded; heldCommands names them.
func (p *proxy) hold() {
	p.set(func() {
		if p.gate == nil {
			p.gate = make(chan struct{})
		}
	})
}

// release forwards the commands held back, and the next ones at once.
func (p *proxy) release() {
	p.set(func() {
		if p.gate != nil {
			close(p.gate)
			p.gate = nil
		}
	})
}

// heldCommands returns the names of the commands held back so far.
func (p *proxy) heldCommands() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.held...)
}

// dropSubscribers closes the connections that sent SUBSCRIBE, and returns
// how many.
func (p *proxy) dropSubscribers() int {
	p.mu.Lock()
	var links []*link
	for l := range p.links {
		if l.isSubscriber() {
			links = append(links, l)
		}
	}
	p.mu.Unlock()
	for _, l := range links {
		l.close()
	}
	return len(links)
}

// cutNextScript closes the connection on which the next EVAL or EVALSHA
// arrives, after reading it and without forwarding it.
func (p *proxy) cutNextScript() { p.set(func() { p.cutNext++ }) }

// loseNextScriptReply forwards the next EVAL or EVALSHA, then drops its
// reply and closes the connection: the command ran, its caller never hears.
func (p *proxy) loseNextScriptReply() { p.set(func() { p.loseNext++ }) }

// drop closes every open connection, so that the next command dials anew.
func (p *proxy) drop() {
	p.mu.Lock()
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	for _, l := range links {
		l.close()
	}
}

// counts returns how many connections were accepted, cut on a command, and
// had a reply dropped, and the first command of each connection accepted
// while stalled.
func (p *proxy) counts() (accepted, cuts, lost int, firsts []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted, p.cuts, p.lost, append([]string(nil), p.firsts...)
}

func (p *proxy) set(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f()
}

func (p *proxy) close() {
	p.set(func() { p.closed = true })
	p.release()
	_ = p.ln.Close()
	p.drop()
	p.wg.Wait()
}

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		l := &link{raw: c}
		l.changed.L = &l.mu
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			_ = c.Close()
			return
		}
		p.accepted++
		stalled := p.stalled
		p.links[l] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.handle(l, stalled)
	}
}

// dialBound bounds the proxy's own dial to the server.
const dialBound = 5 * time.Second

func (p *proxy) handle(l *link, stalled bool) {
	defer p.wg.Done()
	defer p.forget(l)
	defer l.close()
	if stalled {
		p.swallow(l)
		return
	}
	client := l.raw
	if p.tls != nil {
		client = tls.Server(l.raw, p.tls)
	}
	server, err := net.DialTimeout("tcp", p.target, dialBound)
	if err != nil || !l.attach(client, server) {
		return
	}
	p.wg.Add(1)
	go p.replies(l)
	p.commands(l)
}

func (p *proxy) forget(l *link) { p.set(func() { delete(p.links, l) }) }

// swallow reads a connection accepted while stalled until it closes,
// recording its first command (unless it speaks TLS, which it never gets
// to).
func (p *proxy) swallow(l *link) {
	if p.tls != nil {
		_, _ = io.Copy(io.Discard, l.raw)
		return
	}
	r := bufio.NewReader(l.raw)
	for first := true; ; first = false {
		_, args, err := readCommand(r)
		if err != nil {
			return
		}
		if first {
			p.set(func() { p.firsts = append(p.firsts, describe(args)) })
		}
	}
}

// describe names a command for the record: its name, and AUTH if it
// carries credentials (HELLO 3 AUTH ...), never the credentials.
func describe(args []string) string {
	name := commandName(args)
	if name == "HELLO" {
		for _, a := range args[1:] {
			if strings.EqualFold(a, "AUTH") {
				return name + " AUTH"
			}
		}
	}
	return name
}

// commands forwards a client's commands to the server, applying faults.
func (p *proxy) commands(l *link) {
	r := bufio.NewReader(l.client)
	for {
		raw, args, err := readCommand(r)
		if err != nil {
			return
		}
		name := commandName(args)
		if name == "SUBSCRIBE" {
			l.subscribed()
		}
		var stalled, cut, lose bool
		var gate chan struct{}
		p.set(func() {
			script := name == "EVAL" || name == "EVALSHA" || name == "EVAL_RO" || name == "EVALSHA_RO"
			switch {
			case p.stalled:
				stalled = true
			case script && p.cutNext > 0:
				p.cutNext--
				p.cuts++
				cut = true
			case script && p.loseNext > 0:
				p.loseNext--
				lose = true
			}
			if gate = p.gate; gate != nil && !stalled {
				p.held = append(p.held, name)
			}
		})
		if gate != nil && !stalled {
			<-gate // released by release, or by close
		}
		switch {
		case stalled:
			continue
		case cut:
			l.drain() // the replies to earlier commands go out first
			return
		}
		l.push(lose)
		if _, err := l.server.Write(raw); err != nil {
			return
		}
	}
}

// replies forwards the server's replies to the client, dropping one marked
// lost together with the connection. Push messages answer no command.
func (p *proxy) replies(l *link) {
	defer p.wg.Done()
	defer l.close()
	r := bufio.NewReader(l.server)
	for {
		raw, kind, err := readReply(r)
		if err != nil {
			return
		}
		if kind == '>' {
			if _, err := l.client.Write(raw); err != nil {
				return
			}
			continue
		}
		if l.next() {
			p.set(func() { p.lost++ })
			return
		}
		if _, err := l.client.Write(raw); err != nil {
			return
		}
		l.delivered()
	}
}
