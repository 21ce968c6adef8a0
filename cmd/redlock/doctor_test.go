package main

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDoctor(t *testing.T) {
	node := `(?m)^127\.0\.0\.1:\d+ +`
	t.Run("sound", func(t *testing.T) {
		tn := startNodes(t, 3)
		r := runInProcess(tn.env(), "doctor")
		assert.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
		assert.Regexp(t, `^NODE +VERDICT\n`, r.stdout)
		assert.Len(t, regexp.MustCompile(node+"sound$").FindAllString(r.stdout, -1), 3, "stdout: %s", r.stdout)
		assert.Contains(t, r.stdout, "3 of 3 nodes sound; 0 findings, 0 unreachable, 0 refused the credentials\n")
		assert.Empty(t, r.stderr)
	})
	t.Run("findings", func(t *testing.T) {
		tn := startNodes(t, 3)
		tn.Servers[0].SetInfo("maxmemory_policy", "allkeys-lru")
		tn.Servers[0].SetInfo("role", "slave")
		tn.Servers[1].SetInfo("aof_enabled", "0")
		r := runInProcess(tn.env(), "doctor")
		assert.Equal(t, exitFalse, r.code, "stderr: %s", r.stderr)
		assert.Regexp(t, node+`eviction: maxmemory-policy allkeys-lru \(refused\); replica: role slave \(refused\)$`, r.stdout)
		assert.Regexp(t, node+`no-persistence: appendonly no \(warning\)$`, r.stdout)
		assert.Contains(t, r.stdout, "1 of 3 nodes sound; 3 findings, 0 unreachable")

		r = runInProcess(tn.env(), "doctor", "--fence")
		assert.Equal(t, exitFalse, r.code, "stderr: %s", r.stderr)
		assert.Regexp(t, node+`no-persistence: appendonly no \(refused\)$`, r.stdout, "fencing needs persistence")
	})
	t.Run("even nodes", func(t *testing.T) {
		tn := startNodes(t, 4)
		r := runInProcess(tn.env(), "doctor")
		assert.Equal(t, exitFalse, r.code, "stderr: %s", r.stderr)
		assert.Contains(t, r.stdout, "(all nodes)      even-nodes: 4 nodes: a quorum of 3 tolerates 1 failures, as 3 nodes would (warning)\n")
		assert.Contains(t, r.stdout, "4 of 4 nodes sound; 1 finding,")
	})
	t.Run("unreachable", func(t *testing.T) {
		tn := startNodes(t, 3)
		tn.Servers[2].Stop()
		r := runInProcess(tn.env(), "doctor")
		assert.Equal(t, exitUnavailable, r.code, "stderr: %s", r.stderr)
		assert.Regexp(t, node+`unreachable: dial tcp .*connection refused$`, r.stdout)
		assert.Contains(t, r.stdout, "2 of 3 nodes sound; 0 findings, 1 unreachable")
	})
	t.Run("usage", func(t *testing.T) {
		r := runInProcess(nil, "doctor", "now")
		assert.Equal(t, exitUsage, r.code)
		assert.Contains(t, r.stderr, `redlock doctor: unexpected arguments ["now"]`)
	})
}
