// Package quorum runs one operation on N targets at once and decides at a
// threshold. It knows nothing about what the targets are.
//
// [Go] starts one call per target and returns a [Round]. [Round.Wait] returns
// as soon as enough calls have succeeded, or as soon as so many have failed
// that the threshold can no longer be reached: a slow or frozen minority never
// delays it. Calls still running when Wait returns are not abandoned: their
// outcomes arrive later through [Round.Outcomes], so a caller can undo what a
// late call did.
package quorum

import (
	"context"
	"iter"
)

// An Outcome is the result of the call made for one target.
type Outcome struct {
	Target int   // index of the target, 0 <= Target < n
	Err    error // what the call returned; nil is a success
}

// A Round is one operation in flight on n targets, created by [Go].
//
// Wait and Outcomes must be called from one goroutine at a time, in that
// order: Wait at most once, then Outcomes at most once. A Round is not reused.
type Round struct {
	n       int
	results chan Outcome // buffered to n: no call ever blocks on sending
	seen    []Outcome    // outcomes Wait has received, in arrival order
	failed  int          // how many of seen are failures
	buf     [7]Outcome   // backs seen for rounds of up to 7 targets
}

// Majority returns the smallest number of n targets that is more than half.
func Majority(n int) int { return n/2 + 1 }

// Go calls fn once for each of n targets, each call in its own goroutine,
// and returns at once. The calls get ctx; they are not cancelled when Wait
// returns, so bound each one with ctx or its own timeout. Every goroutine
// Go starts exits as soon as its call returns, whether or not anyone reads
// its outcome. A negative n is treated as zero.
func Go(ctx context.Context, n int, fn func(ctx context.Context, target int) error) *Round {
	if n < 0 {
		n = 0
	}
	r := &Round{n: n, results: make(chan Outcome, n)}
	r.seen = r.buf[:0]
	if n > len(r.buf) {
		r.seen = make([]Outcome, 0, n)
	}
	for i := range n {
		go r.call(ctx, i, fn)
	}
	return r
}

func (r *Round) call(ctx context.Context, target int, fn func(context.Context, int) error) {
	r.results <- Outcome{Target: target, Err: fn(ctx, target)}
}

// Wait blocks until need calls have returned nil, until so many have failed
// that need can no longer be reached, or until ctx ends, whichever comes
// first. It returns how many calls succeeded and an error aggregating every
// failure seen so far (nil if none), with ctx's cause added when ctx ended
// before the decision. The round succeeded if and only if ok >= need; the
// error may be non-nil even then, naming the minority that failed.
//
// Outcomes already delivered are counted before a done ctx: if enough
// calls returned before Wait noticed ctx end, the round is decided by them
// rather than reported as interrupted.
//
// A need of zero or less is met at once. A need above n can never be met,
// and Wait returns at once with ok == 0.
func (r *Round) Wait(ctx context.Context, need int) (ok int, err error) {
	var failed errorList
	for ok < need && len(r.seen) < r.n && r.n-len(failed) >= need {
		var o Outcome
		select {
		case o = <-r.results:
		default:
			select {
			case o = <-r.results:
			case <-ctx.Done():
				return ok, failed.err(len(r.seen), r.n, context.Cause(ctx))
			}
		}
		r.seen = append(r.seen, o)
		if o.Err == nil {
			ok++
		} else {
			failed = append(failed, o.Err)
			r.failed++
		}
	}
	return ok, failed.err(len(r.seen), r.n, nil)
}

// Outcomes returns an iterator over all n outcomes: first those Wait has
// already received, then each remaining one as its call returns. The iterator
// blocks until the last call has returned, so run it where waiting is fine,
// typically in a goroutine the caller owns. Stopping the iteration early
// leaves the remaining outcomes unread; their goroutines still exit.
func (r *Round) Outcomes() iter.Seq[Outcome] {
	return func(yield func(Outcome) bool) {
		for _, o := range r.seen {
			if !yield(o) {
				return
			}
		}
		for range r.n - len(r.seen) {
			o := <-r.results
			r.seen = append(r.seen, o)
			if !yield(o) {
				return
			}
		}
	}
}

// Seen returns the outcomes Wait has received, in arrival order. It is meant
// for the goroutine that called Wait, before Outcomes; the slice must not be
// modified.
func (r *Round) Seen() []Outcome { return r.seen }

// Pending reports how many calls Wait has not seen return. It is meant for
// the goroutine that called Wait, before Outcomes.
func (r *Round) Pending() int { return r.n - len(r.seen) }

// Failed reports how many of the calls Wait has seen failed. After a Wait
// that returned ok < need, Failed() <= n-need means the round did not fail
// but was interrupted by its context.
func (r *Round) Failed() int { return r.failed }
