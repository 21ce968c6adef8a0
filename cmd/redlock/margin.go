package main

import (
	"fmt"
	"time"

	"github.com/quorumlock/quorumlock/clock"
)

// When a hold of redlock run cannot renew its lock, it ends a margin
// before the lock's validity does; the program then gets SIGTERM, and
// SIGKILL --grace later. So that SIGKILL comes while the lock is still
// valid, the margin is the grace plus a slack for the time the command
// takes to notice and act. What is left of the validity before the margin
// is when the hold renews the lock, and must leave room for that.

// driftFactor is the clock drift allowance redlock run acquires with: the
// library's default, given explicitly so that the margin arithmetic here
// is the library's.
const driftFactor = clock.DefaultDriftFactor

// killSlack is how long before the end of the lock's validity SIGKILL is
// sent at the latest: a tenth of the ttl, at least 100ms.
func killSlack(ttl time.Duration) time.Duration {
	return max(ttl/10, 100*time.Millisecond)
}

// renewWindow is the least time a hold must have to renew the lock before
// its margin: a quarter of the ttl.
func renewWindow(ttl time.Duration) time.Duration { return ttl / 4 }

// fits reports whether a lock with ttl leaves room for grace.
func fits(ttl, grace time.Duration) bool {
	return clock.Validity(ttl, 0, driftFactor)-(grace+killSlack(ttl)) >= renewWindow(ttl)
}

// holdMargin returns the hold margin for ttl and grace, or an error that
// says which --grace or --ttl would fit. A ttl the library refuses anyway
// (not positive, not whole milliseconds) gets no margin and no error here,
// so that the library's message names the problem.
func holdMargin(ttl, grace time.Duration) (time.Duration, error) {
	if ttl <= 0 || ttl%time.Millisecond != 0 {
		return 0, nil
	}
	if fits(ttl, grace) {
		return grace + killSlack(ttl), nil
	}
	validity := clock.Validity(ttl, 0, driftFactor)
	margin := grace + killSlack(ttl)
	why := fmt.Sprintf("SIGKILL must come %v (--grace plus %v) before the lock's validity of %v ends, "+
		"and renewal needs a quarter of the ttl (%v) before that",
		margin, killSlack(ttl), validity, renewWindow(ttl))
	need := fmt.Sprintf("--ttl %v or more", minTTL(grace))
	if most := maxGrace(ttl); most >= 0 {
		return 0, fmt.Errorf("--grace %v does not fit the %v ttl: %s; use --grace %v or less, or %s",
			grace, ttl, why, most, need)
	}
	return 0, fmt.Errorf("--ttl %v is too short: %s; use %s", ttl, why, need)
}

// defaultGrace is the grace when --grace is not given: 5s, or the most
// that fits ttl if that is less (and at least 0, so that a ttl too short
// for any grace gets its error from holdMargin).
func defaultGrace(ttl time.Duration) time.Duration {
	return max(min(5*time.Second, maxGrace(ttl)), 0)
}

// maxGrace is the longest grace that fits ttl, in whole 100ms (whole
// milliseconds below a second), or negative if none does.
func maxGrace(ttl time.Duration) time.Duration {
	g := clock.Validity(ttl, 0, driftFactor) - killSlack(ttl) - renewWindow(ttl)
	if g >= time.Second {
		return g.Truncate(100 * time.Millisecond)
	}
	return g.Truncate(time.Millisecond)
}

// minTTL is the shortest ttl that fits grace, in whole 100ms below a
// second and whole seconds above.
func minTTL(grace time.Duration) time.Duration {
	// No ttl below this fits: validity-slack-window is less than 0.74*ttl-2ms.
	t := ((grace + 2*time.Millisecond) / 74 * 100).Truncate(100 * time.Millisecond)
	for !fits(t, grace) {
		if t < time.Second {
			t += 100 * time.Millisecond
		} else {
			t = t.Truncate(time.Second) + time.Second
		}
	}
	return t
}
