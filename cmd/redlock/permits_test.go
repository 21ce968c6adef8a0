//go:build unix

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/redlock"
)

// slotKey is the key of a semaphore's slot, as the library documents it.
func slotKey(name string, slot int) string {
	return fmt.Sprintf("%s%sslot:%d", name, redlock.Reserved, slot)
}

// Two runs with --permits 2 hold both permits at once, each with its own
// REDLOCK_SLOT; a third finds none and exits 75 without running; the lock
// of the same name is apart; and once the two end, no slot is held.
func TestRun_permits(t *testing.T) {
	tn := startNodes(t, 5)
	dir := t.TempDir()
	env := append(tn.env(), "DIR="+dir, "REDLOCK_SLOT=inherited")
	// A holder says its slot in a file named after its ID, then waits for
	// the file "go".
	const holder = `echo "$REDLOCK_SLOT" > "$DIR/$ID.tmp" && mv "$DIR/$ID.tmp" "$DIR/$ID"; ` +
		`while [ ! -e "$DIR/go" ]; do sleep 0.05; done`
	var holders []func() result
	for _, id := range []string{"a", "b"} {
		cmd, stdout, stderr := command(t, append(env, "ID="+id), "run", "-n", "2", "--ttl", "5s", "pool", "--", "sh", "-c", holder)
		start := time.Now()
		require.NoError(t, cmd.Start())
		holders = append(holders, func() result { return wait(t, cmd, stdout, stderr, start) })
	}
	slots := []string{waitFile(t, filepath.Join(dir, "a")), waitFile(t, filepath.Join(dir, "b"))}
	slices.Sort(slots)
	assert.Equal(t, []string{"0\n", "1\n"}, slots, "two runs at once, on the two slots")

	marker := filepath.Join(dir, "third")
	r := runBinary(t, env, "run", "--permits", "2", "pool", "--", "touch", marker)
	assert.Equal(t, exitNotObtained, r.code, "a third run: %s", tail(r.stderr, 2))
	// Why in detail depends on what the nodes answered first: none of the
	// slots free, or one that looked free on a node taken on the others.
	assert.Regexp(t, `^redlock: permit of "pool" not obtained, nothing was run: redlock: not obtained: .*"pool"`, r.stderr)
	assert.NoFileExists(t, marker)

	r = runInProcess(env, "run", "-n", "2", "-v", "pool", "--", "touch", marker)
	assert.Equal(t, exitNotObtained, r.code)
	assert.Regexp(t, `\nredlock run: "pool": 2 of 2 permits held, the first for [0-9.]+s more unless renewed\n$`, r.stderr,
		"--verbose says how many permits are held")

	r = runInProcess(env, "run", "pool", "--", "sh", "-c", `test -z "$REDLOCK_SLOT"`)
	assert.Equal(t, 0, r.code, "the lock of the semaphore's name is apart, and its program sees no REDLOCK_SLOT: %s", r.stderr)

	require.NoError(t, writeFile(filepath.Join(dir, "go")))
	for i, h := range holders {
		r := h()
		assert.Equal(t, 0, r.code, "holder %d: %s", i, tail(r.stderr, 2))
	}
	for slot := range 2 {
		assert.Empty(t, tn.holding(slotKey("pool", slot)), "slot %d released", slot)
	}
}

// Six processes started at once share two permits. Each takes its slot's
// directory with mkdir, which fails, and makes the program exit 3, if
// another holder of the slot has it; and the slots are 0 and 1 only: so
// at most two programs run at once.
func TestRun_permitsContention(t *testing.T) {
	tn := startNodes(t, 5)
	dir := t.TempDir()
	env := append(tn.env(), "DIR="+dir)
	const program = `mkdir "$DIR/held-$REDLOCK_SLOT" || exit 3; echo "$REDLOCK_SLOT" >> "$DIR/slots"; ` +
		`sleep 0.2; rmdir "$DIR/held-$REDLOCK_SLOT"`
	const n = 6
	results := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		cmd, stdout, stderr := command(t, env, "run", "-w", "30s", "-n", "2", "--ttl", "5s", "workers", "--", "sh", "-c", program)
		wg.Go(func() {
			<-start
			began := time.Now()
			if err := cmd.Start(); err != nil {
				results[i] = result{code: -1, stderr: err.Error()}
				return
			}
			_ = cmd.Wait()
			results[i] = result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String(), took: time.Since(began)}
		})
	}
	close(start)
	wg.Wait()
	for i, r := range results {
		assert.Equal(t, 0, r.code, "process %d (3: its slot was held twice): %s", i, tail(r.stderr, 2))
	}
	b, err := os.ReadFile(filepath.Join(dir, "slots"))
	require.NoError(t, err)
	slots := strings.Fields(string(b))
	assert.Len(t, slots, n, "every program ran")
	for _, s := range slots {
		assert.Contains(t, []string{"0", "1"}, s, "REDLOCK_SLOT")
	}
	for slot := range 2 {
		assert.Empty(t, tn.holding(slotKey("workers", slot)), "slot %d released", slot)
	}
}

func TestRun_permitsUsage(t *testing.T) {
	for _, tt := range []struct {
		args    []string
		message string
	}{
		{[]string{"-n", "0"}, "--permits must be 1 to 1024, got 0"},
		{[]string{"--permits", "-2"}, "--permits must be 1 to 1024, got -2"},
		{[]string{"-n", "1025"}, "--permits must be 1 to 1024, got 1025"},
		{[]string{"-n", "two"}, `invalid value "two" for flag -n`},
	} {
		args := append(append([]string{"run"}, tt.args...), "x", "--", "true")
		r := runInProcess(environ(), args...)
		assert.Equal(t, exitUsage, r.code, "%v", tt.args)
		assert.Contains(t, r.stderr, tt.message, "%v", tt.args)
	}
}
