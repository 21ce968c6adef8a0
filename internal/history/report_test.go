package history_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/quorumlock/quorumlock/internal/history"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// everyKind records one violation of each kind, and a refused write.
func everyKind(tl *timeline) {
	a := tl.hold("job", "a", 0, 10, 100, 5)
	b := tl.hold("job", "b", 5, 20, 100, 3)  // overlaps a
	c := tl.hold("job", "c", 30, 40, 100, 4) // token 4 after a's 5 ended
	tl.hold("job", "d", 50, 60, 100, 4)      // token 4 again
	a.Update(0, 1)
	b.Update(0, 1) // lost update; final 2 expected, 1 found
	c.Wrote(4, true)
	b.Wrote(3, true) // accepted below 4
	b.Wrote(3, false)
	late := tl.grant("other", "late", 0, 30, 0, true)
	require.NoError(tl.t, late.End(tl.at(45), history.Released))
}

func TestReport_Examples(t *testing.T) {
	tl := newTimeline(t)
	everyKind(tl)
	rep := tl.check(100)
	want := []history.Example{
		{Kind: history.Overlap, Name: "job", Holder: "b", Other: "a", At: 5 * ms, Span: 5 * ms},
		{Kind: history.TokenOrder, Name: "job", Holder: "c", Other: "a", At: 30 * ms, Token: 4, OtherToken: 5},
		{Kind: history.TokenOrder, Name: "job", Holder: "d", Other: "a", At: 50 * ms, Token: 4, OtherToken: 5},
		{Kind: history.SharedToken, Name: "job", Holder: "d", Other: "c", At: 50 * ms, Token: 4},
		{Kind: history.LostUpdate, Name: "job", Holder: "b", Other: "a", At: 5 * ms, Got: 0, Want: 1},
		{Kind: history.FinalMismatch, Name: "job", At: 100 * ms, Got: 1, Want: 2},
		{Kind: history.StaleAccepted, Name: "job", Holder: "b", Other: "c", At: 5 * ms, Token: 3, OtherToken: 4},
		{Kind: history.LateLost, Name: "other", Holder: "late", At: 30 * ms, Span: 15 * ms, NoSignal: true},
	}
	assert.Equal(t, want, rep.Examples)
	assert.False(t, rep.OK())
	assert.Equal(t, 8, rep.Total.Violations())
	assert.Equal(t, 1, rep.Total.StaleRejected)

	s := rep.String()
	for _, line := range []string{
		"history up to t=0.100s: grants 5, names 2: violations 8\n",
		"  overlaps  1, longest 5ms\n",
		"  name job: grants 4, violations 7\n",
		"  name other: grants 1, violations 1\n",
		"    overlap: job: b from t=0.005s while a held it, for 5ms\n",
		"    lost-update: job: b (granted t=0.005s) read 0 after a wrote 1\n",
		"    final-mismatch: job: final value 1, expected 2\n",
		"    late-lost-signal: other: late acted 15ms past its validity end at t=0.030s, no lost signal\n",
		"    token-order: job: c got token 4 at t=0.030s, after a's hold with token 5 ended\n",
		"    shared-token: job: d got token 4 at t=0.050s, as c had\n",
		"    stale-accepted: job: b's write with token 3 accepted after c's with token 4\n",
		"refused as stale 1 of 3 writes\n",
	} {
		assert.Contains(t, s, line)
	}
}

func TestReport_String_clean(t *testing.T) {
	tl := newTimeline(t)
	tl.hold("job", "a", 0, 10, 100, 0)
	rep := tl.check(20)
	assert.True(t, rep.OK())
	assert.Contains(t, rep.String(), "history up to t=0.020s: grants 1, names 1: no violations\n")
	assert.NotContains(t, rep.String(), "examples")
}

// TestReport_String_short checks that a history with 100,000 grants, every
// one overlapping the one before, still gives a summary of one screen.
func TestReport_String_short(t *testing.T) {
	tl := newTimeline(t)
	const names, perName = 10, 10_000
	for n := range names {
		for i := range perName {
			tl.hold(fmt.Sprintf("lock-%d", n), fmt.Sprintf("w%d", i%7), i*10, i*10+15, i*10+100, 0)
		}
	}
	rep := tl.check(perName*10 + 100)
	require.Equal(t, names*perName, rep.Total.Grants)
	assert.Equal(t, names*(perName-1), rep.Total.Overlaps)
	s := rep.String()
	lines := strings.Count(s, "\n")
	assert.LessOrEqual(t, lines, 40, "summary lines")
	assert.Contains(t, s, "  names not shown 5\n")
	assert.Equal(t, history.MaxExamples, strings.Count(s, "    overlap: "), "overlap examples")
}

func TestReport_JSON(t *testing.T) {
	tl := newTimeline(t)
	everyKind(tl)
	rep := tl.check(100)
	data, err := json.Marshal(rep)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"kind":"late-lost-signal"`)
	assert.Contains(t, string(data), `"longest_overlap_ns":5000000`)

	var back history.Report
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, rep, &back)
	assert.Equal(t, rep.String(), back.String())
}

func TestKind_text(t *testing.T) {
	for k := history.Overlap; k <= history.StaleAccepted; k++ {
		text, err := k.MarshalText()
		require.NoError(t, err)
		var back history.Kind
		require.NoError(t, back.UnmarshalText(text))
		assert.Equal(t, k, back, string(text))
	}
	var k history.Kind
	require.ErrorContains(t, k.UnmarshalText([]byte("overlapping")), `history: no violation kind "overlapping"`)
	_, err := history.Kind(0).MarshalText()
	require.ErrorContains(t, err, "history: no violation kind 0")
	_, err = history.Kind(8).MarshalText()
	require.ErrorContains(t, err, "history: no violation kind 8")
}
