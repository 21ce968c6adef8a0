package clock_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/clock"
)

// generous bounds a wait on a real timer that should take about a millisecond.
const generous = 10 * time.Second

var (
	_ clock.Clock = clock.Real()
	_ clock.Clock = (*clock.Fake)(nil)
)

func TestReal_Now(t *testing.T) {
	now := clock.Real().Now()
	assert.Contains(t, now.String(), "m=", "Now carries a monotonic reading")
	assert.NotContains(t, now.Round(0).String(), "m=", "the check above can tell the difference")
}

func TestReal_Since(t *testing.T) {
	c := clock.Real()
	start := c.Now()
	prev := time.Duration(0)
	for range 1000 {
		d := c.Since(start)
		require.GreaterOrEqual(t, d, prev, "Since never goes backwards")
		prev = d
	}
	assert.GreaterOrEqual(t, prev, time.Duration(0))
	assert.GreaterOrEqual(t, c.Since(c.Now()), time.Duration(0), "Since of now is not negative")
}

func TestReal_NewTimer(t *testing.T) {
	c := clock.Real()

	t.Run("fires after d", func(t *testing.T) {
		start := c.Now()
		tm := c.NewTimer(time.Millisecond)
		defer tm.Stop()
		select {
		case v := <-tm.C():
			assert.GreaterOrEqual(t, v.Sub(start), time.Millisecond)
			assert.GreaterOrEqual(t, c.Since(start), time.Millisecond)
		case <-time.After(generous):
			t.Fatal("a 1ms timer did not fire")
		}
	})

	t.Run("fires again after Reset", func(t *testing.T) {
		tm := c.NewTimer(time.Hour)
		defer tm.Stop()
		assert.True(t, tm.Reset(time.Millisecond), "the timer was active")
		select {
		case <-tm.C():
		case <-time.After(generous):
			t.Fatal("the reset timer did not fire")
		}
	})
}

// TestTimer_StopReset checks that Stop and Reset report the same on Fake as
// on the real clock, in each state a timer can be in, and that no stale value
// is received after them.
func TestTimer_StopReset(t *testing.T) {
	clocks := []struct {
		name string
		// make returns a clock and a function that lets a 1ms timer fire.
		make func() (clock.Clock, func())
	}{
		{"real", func() (clock.Clock, func()) {
			return clock.Real(), func() { <-time.After(5 * time.Millisecond) }
		}},
		{"fake", func() (clock.Clock, func()) {
			f := clock.NewFake(time.Unix(1000, 0))
			return f, func() { f.Advance(time.Millisecond) }
		}},
	}
	states := []struct {
		name   string
		make   func(c clock.Clock, tick func()) clock.Timer
		active bool
	}{
		{"active", func(c clock.Clock, _ func()) clock.Timer { return c.NewTimer(time.Hour) }, true},
		{"fired, value not received", func(c clock.Clock, tick func()) clock.Timer {
			tm := c.NewTimer(time.Millisecond)
			tick()
			return tm
		}, true},
		{"fired, value received", func(c clock.Clock, _ func()) clock.Timer {
			tm := c.NewTimer(0)
			<-tm.C()
			return tm
		}, false},
		{"stopped", func(c clock.Clock, _ func()) clock.Timer {
			tm := c.NewTimer(time.Hour)
			tm.Stop()
			return tm
		}, false},
	}
	ops := []struct {
		name string
		do   func(clock.Timer) bool
	}{
		{"Stop", func(tm clock.Timer) bool { return tm.Stop() }},
		{"Reset", func(tm clock.Timer) bool { return tm.Reset(time.Hour) }},
	}
	for _, ck := range clocks {
		for _, st := range states {
			for _, op := range ops {
				t.Run(ck.name+"/"+st.name+"/"+op.name, func(t *testing.T) {
					c, tick := ck.make()
					tm := st.make(c, tick)
					defer tm.Stop()
					assert.Equal(t, st.active, op.do(tm))
					select {
					case v := <-tm.C():
						t.Errorf("received a stale value %v after %s", v, op.name)
					default:
					}
				})
			}
		}
	}
}
