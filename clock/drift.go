package clock

import "time"

// precision is the allowance for Redis's 1 ms expiry resolution, counted
// twice: once when the key is set, once when it is checked.
const precision = 2 * time.Millisecond

// Drift is the allowance for clock drift between the client and the nodes
// over ttl: ttl*factor, plus 2 ms for Redis's millisecond expiry precision.
// The Redlock reference implementation uses the same formula. A negative
// factor is treated as zero; callers validate factors before they get here.
func Drift(ttl time.Duration, factor float64) time.Duration {
	if factor < 0 {
		factor = 0
	}
	return time.Duration(float64(ttl)*factor) + precision
}

// Validity is how much of ttl is left after elapsed, less [Drift]. A lock is
// held only while its validity is positive. The result may be zero or
// negative, meaning no validity is left.
func Validity(ttl, elapsed time.Duration, factor float64) time.Duration {
	return ttl - elapsed - Drift(ttl, factor)
}
