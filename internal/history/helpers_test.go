package history_test

import (
	"testing"
	"time"

	"github.com/quorumlock/quorumlock/internal/history"
	"github.com/stretchr/testify/require"
)

// timeline builds hand-made histories: instants are milliseconds after t0.
type timeline struct {
	t  *testing.T
	t0 time.Time
	r  *history.Recorder
}

func newTimeline(t *testing.T) *timeline {
	t0 := time.Now()
	return &timeline{t: t, t0: t0, r: history.NewRecorder(t0)}
}

// at returns the instant ms milliseconds after t0.
func (tl *timeline) at(ms int) time.Time { return tl.t0.Add(time.Duration(ms) * time.Millisecond) }

// grant records a grant of name to holder at from, valid until until.
func (tl *timeline) grant(name, holder string, from, until int, token uint64, watched bool) *history.Hold {
	tl.t.Helper()
	h, err := tl.r.Grant(history.Grant{Name: name, Holder: holder, At: tl.at(from), Until: tl.at(until),
		Token: token, Watched: watched})
	require.NoError(tl.t, err)
	return h
}

// hold records a grant of name to holder from from to to, valid until
// until, released while still held.
func (tl *timeline) hold(name, holder string, from, to, until int, token uint64) *history.Hold {
	tl.t.Helper()
	h := tl.grant(name, holder, from, until, token, false)
	require.NoError(tl.t, h.End(tl.at(to), history.Released))
	return h
}

// check checks the history as of stop.
func (tl *timeline) check(stop int) *history.Report {
	tl.t.Helper()
	rep, err := tl.r.Check(tl.at(stop))
	require.NoError(tl.t, err)
	return rep
}
