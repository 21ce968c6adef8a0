package clock_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/quorumlock/quorumlock/clock"
)

func TestDrift(t *testing.T) {
	tests := []struct {
		name   string
		ttl    time.Duration
		factor float64
		want   time.Duration
	}{
		{"default factor adds 2ms", 10 * time.Second, 0.01, 100*time.Millisecond + 2*time.Millisecond},
		{"zero factor is only the 2ms", 10 * time.Second, 0, 2 * time.Millisecond},
		{"zero ttl is only the 2ms", 0, 0.01, 2 * time.Millisecond},
		{"negative factor counts as zero", 10 * time.Second, -0.5, 2 * time.Millisecond},
		{"short ttl", 30 * time.Millisecond, 0.01, 300*time.Microsecond + 2*time.Millisecond},
		// 3s*0.29 is 869.999999999...ms in float64; truncating would drop a nanosecond.
		{"float error rounds to the nearest ns", 3 * time.Second, 0.29, 870*time.Millisecond + 2*time.Millisecond},
		{"float error rounds to the nearest ns, 7s", 7 * time.Second, 0.29, 2030*time.Millisecond + 2*time.Millisecond},
		{"half a nanosecond rounds up", 3, 0.5, 2 + 2*time.Millisecond},
		{"sub-nanosecond drift rounds down", 1, 0.4, 2 * time.Millisecond},
		{"NaN factor saturates", 10 * time.Second, math.NaN(), math.MaxInt64},
		{"infinite factor saturates", 10 * time.Second, math.Inf(1), math.MaxInt64},
		{"overflowing drift saturates", math.MaxInt64, 2, math.MaxInt64},
		{"drift just past the 2ms headroom saturates", math.MaxInt64, 1, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, clock.Drift(tt.ttl, tt.factor))
		})
	}
}

func TestValidity(t *testing.T) {
	tests := []struct {
		name    string
		ttl     time.Duration
		elapsed time.Duration
		factor  float64
		want    time.Duration
	}{
		{"nothing elapsed", 10 * time.Second, 0, 0.01, 10*time.Second - 102*time.Millisecond},
		{"elapsed is subtracted", 10 * time.Second, time.Second, 0.01, 9*time.Second - 102*time.Millisecond},
		{"zero factor still subtracts 2ms", 10 * time.Second, 0, 0, 10*time.Second - 2*time.Millisecond},
		{"the 2ms alone can leave nothing", 100 * time.Millisecond, 99 * time.Millisecond, 0, -time.Millisecond},
		{"one millisecond left", 10 * time.Second, 9897 * time.Millisecond, 0.01, time.Millisecond},
		{"exactly used up is zero", 10 * time.Second, 9898 * time.Millisecond, 0.01, 0},
		{"negative once drift is reached", 10 * time.Second, 10 * time.Second, 0.01, -102 * time.Millisecond},
		{"negative well past the ttl", 10 * time.Second, 20 * time.Second, 0.01, -10*time.Second - 102*time.Millisecond},
		{"factor rounding", 3 * time.Second, 0, 0.29, 3*time.Second - 872*time.Millisecond},
		{"negative factor counts as zero", time.Second, 0, -1, time.Second - 2*time.Millisecond},
		{"infinite factor leaves nothing", 10 * time.Second, 0, math.Inf(1), 10*time.Second - math.MaxInt64},
		{"saturated drift does not wrap", 10 * time.Second, 20 * time.Second, math.NaN(), math.MinInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := clock.Validity(tt.ttl, tt.elapsed, tt.factor)
			assert.Equal(t, tt.want, got)
			if got > 0 {
				assert.Equal(t, tt.ttl-tt.elapsed-clock.Drift(tt.ttl, tt.factor), got, "validity is ttl - elapsed - drift")
			}
		})
	}
}
