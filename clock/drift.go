package clock

import (
	"math"
	"time"
)

// DefaultDriftFactor is the share of a ttl allowed for clock drift between
// a client and the nodes unless the client says otherwise: the Redlock
// reference implementation's 1%.
const DefaultDriftFactor = 0.01

// precision is the allowance for Redis's 1 ms expiry resolution, counted
// twice: once when the key is set, once when it is checked.
const precision = 2 * time.Millisecond

// maxDrift is the largest ttl*factor to which precision can be added
// without overflowing a Duration.
const maxDrift = float64(math.MaxInt64 - precision)

// Drift is the allowance for clock drift between the client and the nodes
// over ttl: ttl*factor, rounded to the nearest nanosecond, plus 2 ms for
// Redis's millisecond expiry precision. The Redlock reference implementation
// uses the same formula. A negative factor is treated as zero; callers
// validate factors before they get here. A drift too large for a Duration,
// or a NaN factor, gives the largest Duration, so [Validity] is never
// positive.
func Drift(ttl time.Duration, factor float64) time.Duration {
	if factor < 0 {
		factor = 0
	}
	d := math.Round(float64(ttl) * factor)
	if !(d < maxDrift) { // also +Inf and NaN, whose conversion is undefined
		return math.MaxInt64
	}
	return time.Duration(d) + precision
}

// Validity is how much of ttl is left after elapsed, less [Drift]. A lock is
// held only while its validity is positive. The result may be zero or
// negative, meaning no validity is left; it saturates rather than wraps.
func Validity(ttl, elapsed time.Duration, factor float64) time.Duration {
	left, drift := ttl-elapsed, Drift(ttl, factor)
	if drift > 0 && left < math.MinInt64+drift { // left-drift would wrap
		return math.MinInt64
	}
	return left - drift
}
