package main

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/internal/history"
	"github.com/quorumlock/quorumlock/redlock"
)

func TestExpect(t *testing.T) {
	got := map[string]int{mOverlap: 2, mLostUpdate: 0}
	assert.True(t, some(mOverlap).holds(got))
	assert.False(t, some(mLostUpdate).holds(got))
	assert.True(t, none(mLostUpdate).holds(got))
	assert.True(t, none(mStaleRejected).holds(got), "a measure not seen is zero")
	assert.False(t, exactly(mOverlap, 3).holds(got))
	assert.Equal(t, "overlap >= 1", some(mOverlap).String())
	assert.Equal(t, "lost-update = 0", none(mLostUpdate).String())
	assert.Equal(t, "vetting-refused = 3", exactly(mVetRefused, 3).String())
}

// history of a victim whose late write was refused, and a contender, as an
// out-of-model phase with fencing records it.
func fencedHistory(t *testing.T) *history.Report {
	t.Helper()
	start := time.Now()
	rec := history.NewRecorder(start)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	var fence history.Fence
	victim, err := rec.Grant(history.Grant{Name: "n", Holder: "victim", At: at(0), Until: at(1000), Token: 1})
	require.NoError(t, err)
	other, err := rec.Grant(history.Grant{Name: "n", Holder: "contender1", At: at(10), Until: at(1010), Token: 2})
	require.NoError(t, err)
	require.True(t, other.Write(&fence))
	other.Update(0, 1)
	require.NoError(t, other.End(at(20), history.Released))
	require.False(t, victim.Write(&fence))
	require.NoError(t, victim.End(at(30), history.ReleasedNotHeld))
	rep, err := rec.Check(at(40))
	require.NoError(t, err)
	return rep
}

func TestPhaseRecord_judge(t *testing.T) {
	rep := fencedHistory(t)
	p := &phaseRecord{Label: "fencing", Expected: droppedKeyFenced.expect}
	p.judge(rep, map[string]int{mContenders: 1})
	assert.True(t, p.Matched, "missed: %v", p.Missed)
	assert.Equal(t, 1, p.Got[mOverlap])
	assert.Equal(t, 1, p.Got[mStaleRejected])

	p = &phaseRecord{Label: "unprotected", Expected: droppedKeyUnprotected.expect}
	p.judge(rep, map[string]int{mContenders: 1})
	assert.False(t, p.Matched)
	assert.Equal(t, []string{"expected lost-update >= 1, saw 0"}, p.Missed)
}

func TestRecord_print(t *testing.T) {
	cfg, err := parseFlags([]string{"-fault", "third-party-del"}, io.Discard)
	require.NoError(t, err)
	r := &record{Config: cfg, Started: time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)}
	p := &phaseRecord{Label: "unprotected", Expected: droppedKeyUnprotected.expect}
	p.judge(fencedHistory(t), nil)
	r.Phases = append(r.Phases, p)
	r.fail(exitViolation, "unprotected: "+strings.Join(p.Missed, "; "))
	r.fail(exitFailed, "a later failure keeps the first status")
	var b bytes.Buffer
	r.print(&b)
	out := b.String()
	assert.Contains(t, out, "out-of-model fault third-party-del, ttl 5s: FAIL (exit status 1)")
	assert.Contains(t, out, "unprotected: NOT as expected: expected lost-update >= 1, saw 0")
	assert.Contains(t, out, "saw: overlap 1, lost-update 0")
	assert.LessOrEqual(t, strings.Count(out, "\n"), 25, "one screen")
}

func TestEnding(t *testing.T) {
	assert.Equal(t, history.StoppedOnLoss, ending(true, nil))
	assert.Equal(t, history.Released, ending(false, nil))
	assert.Equal(t, history.ReleasedNotHeld, ending(false, errors.Join(errors.New("x"), redlock.ErrNotHeld)))
	assert.Equal(t, history.ReleasedUnknown, ending(false, errors.New("nodes unreachable")))
}

func TestMono(t *testing.T) {
	now := time.Now()
	back := fromMono(toMono(now.Add(time.Second)))
	assert.InDelta(t, float64(time.Second), float64(back.Sub(now)), float64(50*time.Millisecond),
		"an instant survives the round trip through CLOCK_MONOTONIC")
}

func TestLogger_every(t *testing.T) {
	var b syncBuffer
	lg := newLogger(&b, false)
	stop := lg.every(time.Millisecond, func() string { return "tick" })
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(b.String(), "tick") && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	stop()
	assert.Contains(t, b.String(), "chaos: 0s: tick")
	quiet := newLogger(&b, true)
	quiet.every(time.Millisecond, func() string { t.Error("a quiet logger printed progress"); return "" })()
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
