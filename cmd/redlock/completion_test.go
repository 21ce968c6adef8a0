package main

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each shell's script names every subcommand and every flag name the
// commands parse, short aliases included, as their own flag sets have them.
func TestCompletion_everyFlag(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			r := runInProcess(nil, "completion", shell)
			require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
			assert.Empty(t, r.stderr)
			names := 0
			for _, c := range commands() {
				assert.True(t, strings.Contains(r.stdout, c.name), "no subcommand %s", c.name)
				if c.flags == nil {
					continue
				}
				c.flags().VisitAll(func(f *flag.Flag) {
					names++
					want := "--" + f.Name
					switch {
					case shell == "fish" && len(f.Name) == 1:
						want = " -s " + f.Name + " "
					case shell == "fish":
						want = "__fish_seen_subcommand_from " + c.name + "' -l " + f.Name + " "
					case len(f.Name) == 1:
						want = "-" + f.Name
					}
					assert.True(t, strings.Contains(r.stdout, want), "%s: no flag %s (%q)", c.name, f.Name, want)
				})
			}
			assert.Greater(t, names, 20, "flags seen")
		})
	}
	r := runInProcess(nil, "completion", "tcsh")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, `no completion for "tcsh": bash, zsh or fish`)
}

// The bash script, sourced in bash, completes subcommands, flags, shells,
// files for --nodes-file and the program after --.
func TestCompletion_bash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skipf("SKIP: no bash to source the script in: %v", err)
	}
	dir := t.TempDir()
	r := runInProcess(nil, "completion", "bash")
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	script := filepath.Join(dir, "redlock.bash")
	require.NoError(t, os.WriteFile(script, []byte(r.stdout), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "nodes.conf"), nil, 0o644))

	complete := func(words ...string) []string {
		t.Helper()
		line := `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _redlock; printf '%s\n' "${COMPREPLY[@]}"`
		cmd := exec.Command(bash, append([]string{"--norc", "--noprofile", "-c", line, "bash", script}, words...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return strings.Fields(string(out))
	}
	assert.Equal(t, []string{"run"}, complete("redlock", "ru"))
	assert.Equal(t, []string{"doctor", "demo"}, complete("redlock", "d"))
	assert.Equal(t, []string{"--wait"}, complete("redlock", "run", "--wa"))
	assert.ElementsMatch(t, []string{"--nodes", "--nodes-file", "--node-timeout"}, complete("redlock", "status", "--no"))
	assert.Subset(t, complete("redlock", "run", "-"), []string{"-w", "-q", "-v", "--fence", "--max-hold"})
	assert.Equal(t, []string{"nodes.conf"}, complete("redlock", "run", "--nodes-file", "no"))
	assert.Empty(t, complete("redlock", "run", "--ttl", ""), "a duration has nothing to complete")
	assert.Equal(t, []string{"zsh"}, complete("redlock", "completion", "z"))
	assert.Equal(t, []string{"status"}, complete("redlock", "help", "st"))
	assert.Contains(t, complete("redlock", "run", "job", "--", "bas"), "bash", "the program")
	assert.Equal(t, []string{"nodes.conf"}, complete("redlock", "run", "job", "--", "cat", "no"), "the program's files")
}
