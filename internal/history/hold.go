package history

import (
	"fmt"
	"time"
)

// An Ending says how a hold ended, for [Hold.End].
type Ending uint8

const (
	// Running is the ending of a hold whose End was never recorded: its
	// holder was still acting when the run stopped.
	Running Ending = iota
	// Released: Unlock said a quorum still held the lock.
	Released
	// ReleasedNotHeld: Unlock returned ErrNotHeld; the critical section may
	// have run unprotected.
	ReleasedNotHeld
	// ReleasedUnknown: Unlock could not tell (nodes unreachable, timeout).
	ReleasedUnknown
	// StoppedOnLoss: the holder stopped because it received its lost
	// signal, without a release that said the lock was still held.
	StoppedOnLoss
	endings // the number of Endings
)

// String returns the ending in words, such as "released, not held".
func (e Ending) String() string {
	switch e {
	case Running:
		return "running"
	case Released:
		return "released"
	case ReleasedNotHeld:
		return "released, not held"
	case ReleasedUnknown:
		return "released, unknown"
	case StoppedOnLoss:
		return "stopped on loss"
	}
	return fmt.Sprintf("Ending(%d)", e)
}

// A Hold is the handle of one recorded grant, on which its holder records
// what it does until it stops; only [Recorder.Grant] makes one. Its methods
// are safe for concurrent use, so that a lost signal can be recorded from
// the goroutine that observes it.
type Hold struct {
	r *Recorder
	i int32
}

// Extend records a new validity end, after a successful Extend or renewal;
// the last one recorded is the hold's validity end. It returns an error if
// until is the zero time.
func (h *Hold) Extend(until time.Time) error {
	if until.IsZero() {
		return h.errorf("zero validity end")
	}
	h.r.mu.Lock()
	defer h.r.mu.Unlock()
	h.r.grants[h.i].until = until.Sub(h.r.start)
	return nil
}

// Lost records when the holder received its lost signal: for a hold under
// Lock.Hold, when the returned context was cancelled with cause ErrLost
// (context.AfterFunc can record it). It returns an error if at is the zero
// time or before the grant, or if a lost signal was already recorded.
func (h *Hold) Lost(at time.Time) error {
	if at.IsZero() {
		return h.errorf("zero lost-signal time")
	}
	h.r.mu.Lock()
	defer h.r.mu.Unlock()
	g := &h.r.grants[h.i]
	switch off := at.Sub(h.r.start); {
	case g.lostSeen:
		return h.errorfLocked("lost signal recorded twice")
	case off < g.at:
		return h.errorfLocked("lost signal %v before the grant", g.at-off)
	default:
		g.lost, g.lostSeen = off, true
	}
	return nil
}

// Update records a read-modify-write of the counter the lock protects: the
// value read and the value written. Record it right after the write and
// before the hold ends, so that the recording order is the order of the
// writes whenever holds do not overlap.
func (h *Hold) Update(read, wrote int64) {
	h.r.mu.Lock()
	defer h.r.mu.Unlock()
	h.r.updates = append(h.r.updates, update{grant: h.i, read: read, wrote: wrote})
}

// Write presents the hold's fencing token to f, records whether f accepted
// it, and returns that. The record is made while f decides, so records are
// in the order f saw the writes. Use one Fence per lock name; f must not be
// nil.
func (h *Hold) Write(f *Fence) bool {
	h.r.mu.Lock()
	token := h.r.grants[h.i].token
	h.r.mu.Unlock()
	return f.write(token, func(accepted bool) { h.Wrote(token, accepted) })
}

// Wrote records a write to a fenced resource other than a [Fence]: the
// token presented and whether the resource accepted it. Record the writes
// to one resource in the order it decided them, for instance under its own
// lock, or Check may take writes it ordered otherwise for StaleAccepted.
func (h *Hold) Wrote(token uint64, accepted bool) {
	h.r.mu.Lock()
	defer h.r.mu.Unlock()
	h.r.writes = append(h.r.writes, write{grant: h.i, token: token, accepted: accepted})
}

// End records when the holder stopped acting (the end of its critical
// section) and how the hold ended. It returns an error if at is the zero
// time or before the grant, if how is Running or unknown, or if the hold
// had already ended.
func (h *Hold) End(at time.Time, how Ending) error {
	if at.IsZero() {
		return h.errorf("zero end time")
	}
	if how == Running || how >= endings {
		return h.errorf("ending %v is not an end", how)
	}
	h.r.mu.Lock()
	defer h.r.mu.Unlock()
	g := &h.r.grants[h.i]
	switch off := at.Sub(h.r.start); {
	case g.ended:
		return h.errorfLocked("ended twice")
	case off < g.at:
		return h.errorfLocked("ends %v before its grant", g.at-off)
	default:
		g.end, g.how, g.ended = off, how, true
	}
	return nil
}

// errorf returns an error about h, naming its lock and holder.
func (h *Hold) errorf(format string, args ...any) error {
	h.r.mu.Lock()
	defer h.r.mu.Unlock()
	return h.errorfLocked(format, args...)
}

// errorfLocked is errorf for callers holding the recorder's mutex.
func (h *Hold) errorfLocked(format string, args ...any) error {
	g := h.r.grants[h.i]
	return fmt.Errorf("history: hold of %q by %q: %s", h.r.list[g.name], g.holder, fmt.Sprintf(format, args...))
}
