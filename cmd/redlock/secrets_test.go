//go:build unix

package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The nodes' password; a comma in it must not cut a URL in two.
const secret = "hunter2,secret"

// authNodes starts n servers that require password and returns them with
// their URLs carrying password instead.
func authNodes(t *testing.T, n int, password, given string) (*testNodes, []string) {
	t.Helper()
	tn := startNodes(t, n)
	var urls []string
	for _, s := range tn.Servers {
		s.Redis().RequireAuth(password)
		urls = append(urls, "redis://:"+given+"@"+s.Addr())
	}
	return tn, urls
}

// A password with a comma works from the environment and from a file; the
// program sees neither the password nor REDLOCK_NODES, and ps shows no
// password for redlock.
func TestRun_passwordStaysSecret(t *testing.T) {
	_, urls := authNodes(t, 3, secret, secret)
	script := `echo "nodes=${REDLOCK_NODES-unset}"; env | grep -c "hunter$((1+1))"; ps -o args= -p $PPID`
	file := writeNodesFile(t, "# nodes\n"+strings.Join(urls, "\n")+"\n")
	for _, env := range [][]string{
		{nodesEnv + "=" + strings.Join(urls, ", ")},
		{nodesFileEnv + "=" + file},
	} {
		name, _, _ := strings.Cut(env[0], "=")
		t.Run(name, func(t *testing.T) {
			r := runBinary(t, append(environ(), env...), "run", "job", "--", "sh", "-c", script)
			require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
			lines := strings.Split(r.stdout, "\n")
			require.Len(t, lines, 4, "stdout: %s", r.stdout)
			assert.Equal(t, "nodes=unset", lines[0], "REDLOCK_NODES is not passed on")
			assert.Equal(t, "0", lines[1], "no variable holds the password")
			assert.Contains(t, lines[2], "redlock", "ps shows redlock")
			assert.NotContains(t, r.stdout+r.stderr, "hunter2")
		})
	}
}

// A password given with --nodes draws one warning naming the
// alternatives; the warning does not show it.
func TestRun_passwordInFlagWarned(t *testing.T) {
	_, urls := authNodes(t, 3, secret, secret)
	r := runInProcess(nil, "run", "--nodes", strings.Join(urls, ","), "job", "--", "true")
	assert.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	assert.Equal(t, 1, strings.Count(r.stderr, "warning"), "stderr: %s", r.stderr)
	assert.Contains(t, r.stderr, "redlock run: warning: --nodes holds a password, which every user of this machine can see with ps; "+
		"use --nodes-file PATH, or REDLOCK_NODES_FILE or REDLOCK_NODES in the environment")
	assert.NotContains(t, r.stderr, "hunter2")

	r = runInProcess([]string{nodesEnv + "=" + strings.Join(urls, ",")}, "run", "job", "--", "true")
	assert.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	assert.Empty(t, r.stderr, "no warning for the environment")
}

// A refused password exits 77 from run, status and doctor, and status
// shows the nodes as refusing it, not as unreachable.
func TestRun_authRefused(t *testing.T) {
	_, urls := authNodes(t, 3, "the-right-one", "hunter2-wrong")
	env := []string{nodesEnv + "=" + strings.Join(urls, ",")}
	marker := filepath.Join(t.TempDir(), "ran")

	r := runInProcess(env, "run", "job", "--", "touch", marker)
	assert.Equal(t, exitNoPerm, r.code, "stderr: %s", r.stderr)
	assert.Contains(t, r.stderr, "redlock run: a node refused the credentials or a command: check the user and password")
	assert.NoFileExists(t, marker)

	r = runInProcess(env, "status", "job")
	assert.Equal(t, exitNoPerm, r.code, "stderr: %s", r.stderr)
	assert.Regexp(t, `(?m)^127\.0\.0\.1:\d+ +auth refused +- +- +- +redlock: authentication or permission refused: .*WRONGPASS`, r.stdout)
	assert.NotContains(t, r.stdout, " no ")
	assert.Contains(t, r.stderr, "redlock status: the credentials or a command were refused, on 3 nodes: 127.0.0.1:")

	r = runInProcess(env, "status", "--json", "job")
	assert.Equal(t, exitNoPerm, r.code, "stderr: %s", r.stderr)
	var js jsonStatus
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &js))
	require.Len(t, js.Nodes, 3)
	assert.True(t, js.Nodes[0].AuthRefused)
	assert.False(t, js.Nodes[0].Reachable)

	r = runInProcess(env, "doctor")
	assert.Equal(t, exitNoPerm, r.code, "stderr: %s", r.stderr)
	assert.Regexp(t, `(?m)^127\.0\.0\.1:\d+ +auth refused: `, r.stdout)

	for _, cmd := range [][]string{{"run", "job", "--", "true"}, {"status", "job"}, {"doctor"}} {
		r := runInProcess(env, cmd...)
		assert.NotContains(t, r.stdout+r.stderr, "hunter2", "%s", cmd[0])
	}
}

// A database number the servers cannot select is a usage error, not a
// lock held elsewhere.
func TestRun_databaseOutOfRange(t *testing.T) {
	tn := startNodes(t, 3)
	var urls []string
	for _, s := range tn.Servers {
		urls = append(urls, s.URL()+"/16")
	}
	env := []string{nodesEnv + "=" + strings.Join(urls, ",")}
	for _, cmd := range [][]string{{"run", "job", "--", "true"}, {"status", "job"}, {"doctor"}} {
		t.Run(cmd[0], func(t *testing.T) {
			r := runInProcess(env, cmd...)
			assert.Equal(t, exitUsage, r.code, "stderr: %s", r.stderr)
			assert.Contains(t, r.stdout+r.stderr, "DB index is out of range")
			assert.Contains(t, r.stderr, fmt.Sprintf("Run 'redlock %s --help' for usage.", cmd[0]))
		})
	}
}
