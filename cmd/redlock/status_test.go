package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/redlock"
)

func TestStatus(t *testing.T) {
	tn := startNodes(t, 5)
	client, err := redlock.New(tn.Nodes, redlock.WithTTL(30*time.Second))
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	lock, err := client.Lock(context.Background(), "held")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(tn.holding("held")) == 5 }, 5*time.Second, 5*time.Millisecond,
		"the last nodes answer after Lock returned")
	t.Cleanup(func() { _ = lock.Unlock(context.Background()) })

	// split: two owners on two nodes each, the fifth free
	for i, s := range tn.servers[:4] {
		require.NoError(t, s.Set("split", []string{"token-a", "token-b"}[i%2]))
		s.SetTTL("split", 20*time.Second)
	}
	// partly held: one owner on two nodes, three free
	for _, s := range tn.servers[:2] {
		require.NoError(t, s.Set("partly", "token-a"))
	}

	fp := lock.Fingerprint()
	tests := []struct {
		name    string
		lock    string
		lines   []string // regexps, one per output line
		verdict string   // a regexp
		code    int
	}{
		{name: "held", lock: "held", code: exitOK, verdict: `verdict: held by ` + fp + ` on 5 of 5 nodes \(quorum 3\)`,
			lines: []string{`^127\.0\.0\.1:\d+ +yes +yes +` + fp + ` +(29\.\d+|30)s$`}},
		{name: "free", lock: "free", code: exitFalse, verdict: regexp.QuoteMeta("verdict: free on 5 of 5 nodes (quorum 3)"),
			lines: []string{`^127\.0\.0\.1:\d+ +yes +no +- +-$`}},
		{name: "split", lock: "split", code: exitSplit, verdict: regexp.QuoteMeta("verdict: split: 5 of 5 nodes answered, but neither one owner nor absence is on a quorum of 3 (it resolves as keys are released or expire)"),
			lines: []string{`^127\.0\.0\.1:\d+ +yes +yes +` + redlock.Fingerprint("token-a") + ` +(19\.\d+|20)s$`,
				`^127\.0\.0\.1:\d+ +yes +yes +` + redlock.Fingerprint("token-b") + ` +(19\.\d+|20)s$`,
				`^127\.0\.0\.1:\d+ +yes +no +- +-$`}},
		{name: "no expiry", lock: "partly", code: exitFalse, verdict: regexp.QuoteMeta("verdict: free on 3 of 5 nodes (quorum 3)"),
			lines: []string{`^127\.0\.0\.1:\d+ +yes +yes +` + redlock.Fingerprint("token-a") + ` +no expiry$`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runInProcess(tn.env(), "status", tt.lock)
			require.Equal(t, tt.code, r.code, "stderr: %s", r.stderr)
			assert.Empty(t, r.stderr)
			assert.Regexp(t, `^NODE +REACHABLE +HELD +OWNER +TTL\n`, r.stdout)
			for _, re := range tt.lines {
				assert.Regexp(t, regexp.MustCompile("(?m)"+re), r.stdout)
			}
			assert.Regexp(t, "\n"+tt.verdict+"\n$", r.stdout)
			assert.NotContains(t, r.stdout, lock.Token(), "the token is a secret")
		})
	}

	t.Run("json", func(t *testing.T) {
		r := runInProcess(tn.env(), "status", "--json", "held")
		require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
		var got jsonStatus
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
		assert.Equal(t, "held", got.Name)
		assert.Equal(t, "held", got.Verdict)
		assert.Equal(t, fp, got.Owner)
		assert.Equal(t, 3, got.Quorum)
		require.Len(t, got.Nodes, 5)
		for _, n := range got.Nodes {
			assert.True(t, n.Reachable)
			assert.True(t, n.Held)
			assert.Equal(t, fp, n.Owner)
			require.NotNil(t, n.TTLMillis)
			assert.InDelta(t, 30000, *n.TTLMillis, 2000)
		}
		assert.NotContains(t, r.stdout, lock.Token())
	})

	t.Run("two nodes down", func(t *testing.T) {
		tn.Servers[3].Stop()
		tn.Servers[4].Stop()
		t.Cleanup(func() {
			require.NoError(t, tn.Servers[3].Restart())
			require.NoError(t, tn.Servers[4].Restart())
		})
		r := runInProcess(tn.env(), "status", "held")
		assert.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
		assert.Regexp(t, `(?m)^127\.0\.0\.1:\d+ +no +- +- +- +dial tcp .*connection refused$`, r.stdout)
		assert.Contains(t, r.stdout, "verdict: held by "+fp+" on 3 of 5 nodes (quorum 3)")

		t.Run("then three", func(t *testing.T) {
			tn.Servers[2].Stop()
			t.Cleanup(func() { require.NoError(t, tn.Servers[2].Restart()) })
			r := runInProcess(tn.env(), "status", "held")
			assert.Equal(t, exitUnavailable, r.code)
			assert.Contains(t, r.stdout, "verdict: unknown: 2 of 5 nodes answered, 3 needed")
			assert.Contains(t, r.stderr, "redlock status: only 2 of 5 nodes answered, 3 needed for a verdict")

			r = runInProcess(tn.env(), "status", "--json", "held")
			assert.Equal(t, exitUnavailable, r.code)
			var got jsonStatus
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
			assert.Equal(t, "unknown", got.Verdict)
			assert.False(t, got.Nodes[2].Reachable)
			assert.Contains(t, got.Nodes[2].Error, "connection refused")
		})
	})
}

// The built command shows what redlock run holds.
func TestStatus_ofRun(t *testing.T) {
	tn := startNodes(t, 3)
	dir := t.TempDir()
	cmd, stdout, stderr := command(t, append(tn.env(), "DIR="+dir), "run", "job", "--",
		"sh", "-c", `echo "$REDLOCK_FINGERPRINT" > "$DIR/fp"; while [ ! -e "$DIR/go" ]; do sleep 0.01; done`)
	start := time.Now()
	require.NoError(t, cmd.Start())
	fp := waitFile(t, filepath.Join(dir, "fp"))
	r := runBinary(t, tn.env(), "status", "job")
	assert.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	assert.Regexp(t, `verdict: held by `+strings.TrimSpace(fp)+` on [23] of 3 nodes \(quorum 2\)`, r.stdout)
	require.NoError(t, writeFile(filepath.Join(dir, "go")))
	assert.Equal(t, exitOK, wait(t, cmd, stdout, stderr, start).code)

	r = runBinary(t, tn.env(), "status", "job")
	assert.Equal(t, exitFalse, r.code, "stderr: %s", r.stderr)
	assert.Contains(t, r.stdout, "verdict: free on 3 of 3 nodes (quorum 2)")
}
