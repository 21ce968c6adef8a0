package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/quorumlock/quorumlock/internal/history"
)

func TestDemo_quick(t *testing.T) {
	r := runInProcess(nil, "demo", "--quick")
	assert.Equal(t, exitOK, r.code, "stderr: %s\nstdout tail: %s", r.stderr, tail(r.stdout, 12))
	assert.Empty(t, r.stderr)
	for _, want := range []string{
		"5 in-process Redis nodes, 5 workers contending",
		"phase 2 (t=", "taking down nodes 4 and 5",
		"nodes [##...] 2/5 up  holder nobody",
		"3 three down", "no grant: ok",
		"overlaps found: 0\n",
		"holder A holds the lock with fencing token",
		"and writes with token", "refused, since the resource has seen token",
		"stale writes accepted 0",
		"demo OK",
	} {
		assert.True(t, strings.Contains(r.stdout, want), "the demo did not print %q", want)
	}
	assert.False(t, strings.Contains(r.stdout, "NOT MET"), "stdout tail: %s", tail(r.stdout, 12))
}

// unfenced is a resource that accepts every write, as one that ignores
// fencing tokens does.
type unfenced struct{}

func (unfenced) write(h *history.Hold, token uint64) bool {
	h.Wrote(token, true)
	return true
}

// The demo fails if the paused holder's late write is accepted.
func TestDemo_staleWriteAccepted(t *testing.T) {
	var out, errs syncBuffer
	code := runDemo(&demoOptions{duration: demoMinDuration, workers: 2}, stdio{out: &out, err: &errs}, unfenced{})
	assert.Equal(t, exitSoftware, code, "stdout tail: %s", tail(out.String(), 12))
	for _, want := range []string{"accepted: the fence failed", "stale writes accepted 1", "violation: ", "demo FAILED"} {
		assert.True(t, strings.Contains(out.String(), want), "the demo did not print %q", want)
	}
}
