// Package clock is where quorumlock reads time for the algorithm: the
// validity of a lock, the timing of renewals and retries, a waiter's place,
// the quarantine of a node whose restart the client saw. The library reads
// the system clock directly only where time is compared with something
// outside the client, which a test's fake clock must not bend: the deadline
// of each network call (the node timeout), which sockets take from the
// system clock through a context's deadline; when a node's INFO was read
// and a command sent, compared with the server's uptime; how often a node
// is vetted again; and the latency it reports to observers.
//
// [Real] uses Go's monotonic clock readings, so elapsed times measured with
// [Clock.Since] on a value taken from [Clock.Now] are immune to wall-clock
// steps on the client. [Fake] is a deterministic clock for tests. [Drift] and
// [Validity] hold the Redlock validity arithmetic.
package clock

import "time"

// A Clock tells time and makes timers. Implementations must be safe for
// concurrent use.
type Clock interface {
	// Now returns the current time. Real clocks include a monotonic reading.
	Now() time.Time
	// Since returns the time elapsed since t.
	Since(t time.Time) time.Duration
	// NewTimer returns a Timer that sends the current time on its channel
	// once d has elapsed.
	NewTimer(d time.Duration) Timer
}

// A Timer is a single event, as [time.Timer]. As with time.Timer since Go
// 1.23, no stale value is received after Stop or Reset returns.
type Timer interface {
	// C returns the channel on which the time is delivered.
	C() <-chan time.Time
	// Stop prevents the Timer from firing. It reports whether the call
	// stopped the timer, false if its value had already been received or
	// it had been stopped. A value fired but not yet received is discarded,
	// and Stop reports true, as time.Timer does since Go 1.23.
	Stop() bool
	// Reset changes the timer to fire after d. It reports whether the timer
	// had been active, counting a value fired but not yet received, which
	// it discards.
	Reset(d time.Duration) bool
}

// Real returns the system clock. Its zero-allocation Now and Since use Go's
// monotonic readings.
func Real() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time                  { return time.Now() }
func (realClock) Since(t time.Time) time.Duration { return time.Since(t) }
func (realClock) NewTimer(d time.Duration) Timer  { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }
