package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// A logger writes the run's lines to stderr, each prefixed with "chaos:"
// and the time since the program started. Safe for concurrent use.
type logger struct {
	mu    sync.Mutex
	w     io.Writer
	quiet bool // no progress lines
	start time.Time
}

func newLogger(w io.Writer, quiet bool) *logger {
	return &logger{w: w, quiet: quiet, start: time.Now()}
}

// printf writes one line.
func (l *logger) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "chaos: %v: %s\n", time.Since(l.start).Round(time.Second), fmt.Sprintf(format, args...))
}

// every writes line() every period until the returned stop is called,
// unless the logger is quiet.
func (l *logger) every(period time.Duration, line func() string) (stop func()) {
	if l.quiet {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				l.printf("%s", line())
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
