package nemesis

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ClockFile is where the clock shim of the local Redis image
// (scripts/redis-clock-shim.c) reads the skew of the container's wall clock.
// The shim reads it again at most every 20ms.
const ClockFile = "/tmp/quorumlock-clock"

// A Skew is what the clock shim adds to a node's wall clock: Offset, plus,
// from Since on, RatePPM millionths of the real time elapsed since then
// (a clock running fast for a positive rate). The zero Skew is the real
// clock.
type Skew struct {
	Offset  time.Duration
	RatePPM int64
	Since   time.Time // required with a rate
}

// At returns the skew's total offset at t.
func (s Skew) At(t time.Time) time.Duration {
	if s.RatePPM == 0 || !t.After(s.Since) {
		return s.Offset
	}
	return s.Offset + time.Duration(int64(t.Sub(s.Since))/1_000_000*s.RatePPM)
}

// line is the shim's file: three integers and a newline.
func (s Skew) line() string {
	var since int64
	if s.RatePPM != 0 {
		since = s.Since.UnixNano()
	}
	return fmt.Sprintf("%d %d %d\n", s.Offset.Nanoseconds(), s.RatePPM, since)
}

// SetClock gives the container's wall clock the skew s, by copying the
// shim's file into it with docker cp (which works on any running
// container, even one with no shell). A container whose image has no shim
// ignores the file: ClockShim tells whether a node has one.
func SetClock(id string, s Skew) error {
	if s.RatePPM != 0 && s.Since.IsZero() {
		return fmt.Errorf("clock skew of %d ppm with no start", s.RatePPM)
	}
	dir, err := os.MkdirTemp("", "quorumlock-clock-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, filepath.Base(ClockFile))
	if err := os.WriteFile(src, []byte(s.line()), 0o644); err != nil {
		return err
	}
	_, err = Docker("cp", src, id+":"+ClockFile)
	return err
}
