package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestDemo_quick(t *testing.T) {
	r := runInProcess(nil, "demo", "--quick")
	assert.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Empty(t, r.stderr)
	for _, want := range []string{
		"5 in-process Redis nodes, 5 workers contending",
		"phase 2 (t=", "taking down nodes 4 and 5",
		"nodes [##...] 2/5 up  holder nobody",
		"3 three down", "no grant: ok",
		"overlaps found: 0\n",
		"demo OK",
	} {
		assert.Contains(t, r.stdout, want)
	}
	assert.NotContains(t, r.stdout, "NOT MET")
	assert.Less(t, r.took, 30*time.Second, "--quick ends by itself")
}

func TestLedger_overlaps(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := []struct {
		name  string
		holds [][2]int
		want  int
	}{
		{name: "none", want: 0},
		{name: "apart", holds: [][2]int{{0, 10}, {20, 30}, {11, 19}}, want: 0},
		{name: "touching", holds: [][2]int{{0, 10}, {10, 20}}, want: 0},
		{name: "overlapping", holds: [][2]int{{0, 10}, {9, 20}}, want: 1},
		{name: "nested", holds: [][2]int{{0, 100}, {30, 40}, {50, 60}}, want: 2},
		{name: "after a long one", holds: [][2]int{{0, 100}, {10, 20}, {150, 160}}, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLedger(1)
			for i, h := range tt.holds {
				l.granted(i, 0, 0, ms(h[0]), ms(h[1]), time.Hour, true)
			}
			assert.Equal(t, tt.want, l.overlaps())
		})
	}
	t.Run("trimmed to validity", func(t *testing.T) {
		l := newLedger(1)
		l.granted(0, 0, 0, ms(0), ms(50), ms(30), true) // ran past its validity
		l.granted(1, 0, 0, ms(40), ms(60), time.Hour, true)
		assert.Equal(t, 0, l.overlaps(), "no one is promised the lock past its validity")
		assert.Equal(t, 1, l.overtime)
	})
}
