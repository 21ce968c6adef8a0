package main

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateREADME = flag.Bool("update", false, "rewrite the README's tables of flags and exit statuses")

// readmePath is the README, from this package's directory.
const readmePath = "../../README.md"

// commandSection returns the README's section "The command", and where it
// starts and ends.
func commandSection(t *testing.T, readme string) (section string, start, end int) {
	t.Helper()
	start = strings.Index(readme, "\n## The command\n")
	require.GreaterOrEqual(t, start, 0, "README.md has no section \"The command\"")
	end = strings.Index(readme[start+1:], "\n## ")
	require.GreaterOrEqual(t, end, 0, "the section \"The command\" does not end")
	end += start + 1
	return readme[start:end], start, end
}

// table returns where the Markdown table whose first line is header lies
// in s: from its header to the end of its last row.
func table(s, header string) (start, end int, ok bool) {
	start = strings.Index(s, header)
	if start < 0 {
		return 0, 0, false
	}
	end = start
	for end < len(s) && s[end] == '|' {
		nl := strings.IndexByte(s[end:], '\n')
		if nl < 0 {
			return start, len(s), true
		}
		end += nl + 1
	}
	return start, end, true
}

// The README's tables of flags and exit statuses are the ones the command
// makes from its flag sets and exit table; go test -run TestREADME -update
// rewrites them.
func TestREADME_tables(t *testing.T) {
	b, err := os.ReadFile(readmePath)
	require.NoError(t, err)
	readme := string(b)
	section, from, to := commandSection(t, readme)
	for _, tt := range []struct{ header, want string }{
		{"| command | flag | what it does |\n", flagsMarkdown()},
		{"| exit status | meaning |\n", exitsMarkdown()},
	} {
		start, end, ok := table(section, tt.header)
		require.True(t, ok, "the section \"The command\" has no table %q", strings.TrimSpace(tt.header))
		if *updateREADME {
			section = section[:start] + tt.want + section[end:]
			continue
		}
		assert.True(t, section[start:end] == tt.want,
			"README.md's table %q is not the command's; run: go test ./cmd/redlock -run TestREADME -update", strings.TrimSpace(tt.header))
	}
	if *updateREADME {
		require.NoError(t, os.WriteFile(readmePath, []byte(readme[:from]+section+readme[to:]), 0o644))
	}
}

// The section names every subcommand and environment variable, and
// redlock help every exit status.
func TestREADME_mentions(t *testing.T) {
	b, err := os.ReadFile(readmePath)
	require.NoError(t, err)
	section, _, _ := commandSection(t, string(b))
	for _, c := range commands() {
		if c.name != "version" { // in the section "Build and release"
			assert.True(t, strings.Contains(section, "redlock "+c.name), "README: no subcommand %s", c.name)
		}
	}
	runHelp := runInProcess(nil, "help", "run").stdout
	for _, v := range []string{nodesEnv, nodesFileEnv, "REDLOCK_NAME", "REDLOCK_FINGERPRINT", "REDLOCK_FENCE", "REDLOCK_SLOT"} {
		assert.True(t, strings.Contains(section, v), "README: no variable %s", v)
		assert.True(t, strings.Contains(runHelp+usage(), v), "help: no variable %s", v)
	}
	help := runInProcess(nil, "help").stdout
	for _, r := range exitTable {
		assert.True(t, strings.Contains(help, "\n  "+r.status+" "), "help: no exit status %s", r.status)
	}
}
