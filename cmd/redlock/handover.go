package main

import (
	"context"
	"os"
	"sync"
)

// A handover decides where the signals redlock run receives go: while it
// waits for the lock, a signal ends the wait (nothing is run); once the
// program may start, every signal is the program's and none can end the
// lock's hold. The switch is made once, under one mutex, so that a signal
// that races the grant either ends the wait before the program starts or
// reaches the program, never both and never neither.
type handover struct {
	mu      sync.Mutex
	cancel  context.CancelCauseFunc // ends the wait
	intr    os.Signal               // the signal that ended the wait, if one did
	started bool                    // the program may start
	begun   chan struct{}           // closed when started is set
}

func newHandover(cancel context.CancelCauseFunc) *handover {
	return &handover{cancel: cancel, begun: make(chan struct{})}
}

// interrupted is the cause of a wait ended by a signal.
type interrupted struct{ sig os.Signal }

func (e interrupted) Error() string { return "interrupted by " + e.sig.String() }

// interrupt takes sig as the end of the wait, and reports true, unless the
// program may start already: then sig is the program's, and it reports
// false. Signals after the first that ended the wait are dropped.
func (h *handover) interrupt(sig os.Signal) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.started {
		return false
	}
	if h.intr == nil {
		h.intr = sig
		h.cancel(interrupted{sig})
	}
	return true
}

// begin lets the program start, unless a signal has ended the wait; it
// reports whether it did. From then on no signal cancels the wait's
// context, and so none reaches the hold derived from it.
func (h *handover) begin() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.intr != nil {
		return false
	}
	if !h.started {
		h.started = true
		close(h.begun)
	}
	return true
}

// interruption returns the signal that ended the wait, or nil.
func (h *handover) interruption() os.Signal {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.intr
}

// whileWaiting runs f unless the program may start already, so that what
// f prints about the wait never follows the program's first output.
func (h *handover) whileWaiting(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.started {
		f()
	}
}

// watch hands each signal from sigs to interrupt, and passes those that
// are the program's on to forward, until done is closed.
func (h *handover) watch(sigs <-chan os.Signal, forward chan<- os.Signal, done <-chan struct{}) {
	for {
		select {
		case sig := <-sigs:
			if h.interrupt(sig) {
				continue
			}
			select {
			case forward <- sig:
			case <-done:
				return
			}
		case <-done:
			return
		}
	}
}
