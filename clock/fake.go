package clock

import (
	"context"
	"sync"
	"time"
)

// Fake is a [Clock] whose time moves only when [Fake.Advance] is called.
// Timers fire, in deadline order, when an Advance reaches them. Use
// [Fake.BlockUntil] to wait until code under test has started its timers
// before advancing, so that tests need no real sleeps.
//
// A Fake is safe for concurrent use. Its zero value is not usable; create one
// with [NewFake].
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer
	changed chan struct{} // closed and replaced whenever the timer set changes
}

// NewFake returns a Fake clock reading start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, changed: make(chan struct{})}
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Since returns the fake time elapsed since t.
func (f *Fake) Since(t time.Time) time.Duration { return f.Now().Sub(t) }

// NewTimer returns a Timer that fires when the fake time reaches now+d. A
// timer with d <= 0 fires at once.
func (f *Fake) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{f: f, c: make(chan time.Time, 1)}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.schedule(t, d)
	return t
}

// Advance moves the fake time forward by d and fires, in deadline order,
// every timer whose deadline has been reached.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	end := f.now.Add(d)
	for {
		next := -1
		for i, t := range f.timers {
			if !t.at.After(end) && (next < 0 || t.at.Before(f.timers[next].at)) {
				next = i
			}
		}
		if next < 0 {
			break
		}
		t := f.timers[next]
		if t.at.After(f.now) {
			f.now = t.at
		}
		f.remove(t)
		t.fire(f.now)
	}
	f.now = end
}

// BlockUntil waits until at least n timers are waiting to fire, or until ctx
// ends, in which case it returns ctx's cause.
func (f *Fake) BlockUntil(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		waiting, changed := len(f.timers), f.changed
		f.mu.Unlock()
		if waiting >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// Waiters returns how many timers are waiting to fire.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// schedule arms t to fire at now+d; f.mu must be held.
func (f *Fake) schedule(t *fakeTimer, d time.Duration) {
	t.at = f.now.Add(d)
	if d <= 0 {
		t.fire(f.now)
		return
	}
	t.armed = true
	f.timers = append(f.timers, t)
	f.notify()
}

// remove disarms t; f.mu must be held. It reports whether t was armed.
func (f *Fake) remove(t *fakeTimer) bool {
	if !t.armed {
		return false
	}
	t.armed = false
	for i, x := range f.timers {
		if x == t {
			f.timers = append(f.timers[:i], f.timers[i+1:]...)
			break
		}
	}
	f.notify()
	return true
}

func (f *Fake) notify() {
	close(f.changed)
	f.changed = make(chan struct{})
}

type fakeTimer struct {
	f     *Fake
	c     chan time.Time
	at    time.Time
	armed bool // guarded by f.mu
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

// Stop and Reset discard a value fired but not yet received, as
// time.Timer does since Go 1.23, so no stale time is read after them. Like
// time.Timer, they count such a timer as still active and report true: the
// caller has not received its value, and now never will.
func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	unread := t.drain()
	return t.f.remove(t) || unread
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	unread := t.drain()
	was := t.f.remove(t) || unread
	t.f.schedule(t, d)
	return was
}

// drain discards a value fired but not received, and reports whether there
// was one.
func (t *fakeTimer) drain() bool {
	select {
	case <-t.c:
		return true
	default:
		return false
	}
}

// fire delivers now without blocking, as time.Timer does with its buffered
// channel: a value not yet received is kept, a second one is dropped.
func (t *fakeTimer) fire(now time.Time) {
	select {
	case t.c <- now:
	default:
	}
}
