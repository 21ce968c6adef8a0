package main

import (
	"net"
	"sync"
	"time"
)

// A delayProxy forwards TCP connections to one server and holds every
// chunk a client sends for a fixed delay before passing it on, in order:
// each request reaches the server that much later, so each round-trip
// through the proxy is that much slower, without limiting how many
// requests are in flight. Replies pass straight through.
type delayProxy struct {
	ln     net.Listener
	target string
	delay  time.Duration

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// startDelayProxy listens on a free loopback port in front of target.
func startDelayProxy(target string, delay time.Duration) (*delayProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &delayProxy{ln: ln, target: target, delay: delay, conns: make(map[net.Conn]struct{})}
	p.wg.Go(p.accept)
	return p, nil
}

// addr returns the address clients should dial.
func (p *delayProxy) addr() string { return p.ln.Addr().String() }

// close stops accepting, closes every connection and waits for the
// proxy's goroutines to end.
func (p *delayProxy) close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	_ = p.ln.Close()
	p.wg.Wait()
}

// track records c to be closed by close; it reports false (and closes c)
// once the proxy is closing.
func (p *delayProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *delayProxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	_ = c.Close()
}

func (p *delayProxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		if !p.track(client) {
			return
		}
		p.wg.Go(func() { p.serve(client) })
	}
}

// serve joins one client to a new connection to the target; when either
// direction ends, both connections are closed.
func (p *delayProxy) serve(client net.Conn) {
	defer p.untrack(client)
	upstream, err := net.DialTimeout("tcp", p.target, time.Second)
	if err != nil || !p.track(upstream) {
		return
	}
	defer p.untrack(upstream)
	done := make(chan struct{}, 2)
	go func() { p.delayed(client, upstream); done <- struct{}{} }()
	go func() { copyConn(client, upstream); done <- struct{}{} }()
	<-done
	_ = client.Close()
	_ = upstream.Close()
	<-done
}

// chunk is what one read from the client returned, and when.
type chunk struct {
	data []byte
	at   time.Time
}

// delayed copies src to dst, each chunk no sooner than delay after it was
// read. A reader and a writer run apart, so a chunk waiting does not hold
// back the reading of the next.
func (p *delayProxy) delayed(src, dst net.Conn) {
	queue := make(chan chunk, 1024)
	go func() {
		defer close(queue)
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				// A copy of its own size: a fresh 32 KiB buffer per chunk
				// made the garbage collector run often enough to slow the
				// whole process, the library measured included.
				queue <- chunk{data: append([]byte(nil), buf[:n]...), at: time.Now()}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range queue {
		time.Sleep(time.Until(c.at.Add(p.delay)))
		if _, err := dst.Write(c.data); err != nil {
			_ = src.Close() // ends the reader, which closes queue
			for range queue {
			}
			return
		}
	}
}

func copyConn(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
