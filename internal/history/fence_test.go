package history_test

import (
	"sync"
	"testing"

	"github.com/quorumlock/quorumlock/internal/history"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFence_Write(t *testing.T) {
	tests := []struct {
		name    string
		tokens  []uint64
		want    []bool
		highest uint64
	}{
		{name: "nothing written", highest: 0},
		{name: "rising", tokens: []uint64{1, 2, 5}, want: []bool{true, true, true}, highest: 5},
		{name: "equal accepted", tokens: []uint64{3, 3, 3}, want: []bool{true, true, true}, highest: 3},
		{name: "lower refused", tokens: []uint64{4, 2, 4, 3, 5}, want: []bool{true, false, true, false, true}, highest: 5},
		{name: "zero before any token", tokens: []uint64{0, 0, 1, 0}, want: []bool{true, true, true, false}, highest: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f history.Fence
			got := make([]bool, 0, len(tt.tokens))
			for _, tok := range tt.tokens {
				got = append(got, f.Write(tok))
			}
			assert.Equal(t, tt.want, nilIfEmpty(got), "accepted, write by write")
			assert.Equal(t, tt.highest, f.Highest())
		})
	}
}

func nilIfEmpty(b []bool) []bool {
	if len(b) == 0 {
		return nil
	}
	return b
}

// TestFence_pausedHolder shows what fencing is for: a holder that outlived
// its validity writes late, with an older token, and is refused.
func TestFence_pausedHolder(t *testing.T) {
	tl := newTimeline(t)
	var f history.Fence
	a := tl.grant("job", "paused", 0, 30, 1, true)
	require.NoError(t, a.Lost(tl.at(20)), "the lost signal came in time; the process was paused")
	assert.True(t, a.Write(&f), "a writes before its pause")
	b := tl.hold("job", "next", 40, 60, 100, 2)
	assert.True(t, b.Write(&f), "the next holder's token is greater")
	assert.False(t, a.Write(&f), "the paused holder's late write is refused")
	require.NoError(t, a.End(tl.at(70), history.StoppedOnLoss))

	rep := tl.check(100)
	assert.True(t, rep.OK(), rep.String())
	assert.Equal(t, 3, rep.Total.Writes)
	assert.Equal(t, 1, rep.Total.StaleRejected)
	assert.Equal(t, 1, rep.Total.Overran, "a acted past its validity")
	assert.Zero(t, rep.Total.Overlaps, "a's hold ends at its validity end")
}

// TestFence_concurrent has writers race with rising tokens; the records
// Hold.Write makes must be in the order the fence decided, so no accepted
// write follows a greater accepted one.
func TestFence_concurrent(t *testing.T) {
	const writers, tokens = 8, 300
	tl := newTimeline(t)
	var f history.Fence
	holds := make([][]*history.Hold, writers)
	for w := range holds {
		for tok := range tokens {
			holds[w] = append(holds[w], tl.grant("res", "w", 0, 10, uint64(tok+1), false))
		}
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for _, h := range holds[w] {
				h.Write(&f)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, uint64(tokens), f.Highest())
	rep := tl.check(10)
	assert.Equal(t, writers*tokens, rep.Total.Writes)
	assert.Zero(t, rep.Total.StaleAccepted, "records out of the fence's order")
	assert.Positive(t, writers*tokens-rep.Total.StaleRejected, "some writes accepted")
}
