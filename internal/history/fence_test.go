package history_test

import (
	"testing"

	"github.com/quorumlock/quorumlock/internal/history"
	"github.com/stretchr/testify/assert"
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
