package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress writes progress lines, each with the time since the start, and
// repeats the current step when nothing else was said for a while, so that
// a line appears at least every heartbeat.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
	last  time.Time
	step  string
	stop  chan struct{}
	done  chan struct{}
}

// heartbeat is the longest stretch without a progress line.
const heartbeat = 10 * time.Second

func newProgress(w io.Writer) *progress {
	now := time.Now()
	p := &progress{w: w, start: now, last: now, stop: make(chan struct{}), done: make(chan struct{})}
	go p.beat()
	return p
}

// printf writes one progress line.
func (p *progress) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.line(fmt.Sprintf(format, args...))
}

// stepf writes one progress line and remembers it as the current step.
func (p *progress) stepf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.step = fmt.Sprintf(format, args...)
	p.line(p.step)
}

func (p *progress) line(s string) {
	p.last = time.Now()
	fmt.Fprintf(p.w, "[%5.1fs] %s\n", p.last.Sub(p.start).Seconds(), s)
}

func (p *progress) beat() {
	defer close(p.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case now := <-t.C:
			p.mu.Lock()
			if now.Sub(p.last) >= heartbeat {
				p.line("still: " + p.step)
			}
			p.mu.Unlock()
		}
	}
}

// close stops the heartbeat.
func (p *progress) close() {
	close(p.stop)
	<-p.done
}
