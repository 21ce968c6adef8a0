package main

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var updateREADME = flag.Bool("update", false, "rewrite the tables of flags and exit statuses in docs/command.md")

// readmePath is the command's documentation, from this package's directory.
const readmePath = "../../docs/command.md"

// commandSection returns the command's documentation, whole, and where it
// starts and ends.
func commandSection(t *testing.T, readme string) (section string, start, end int) {
	t.Helper()
	require.True(t, strings.HasPrefix(readme, "# The command\n"), "docs/command.md does not start with \"# The command\"")
	return readme, 0, len(readme)
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

// The tables of flags and exit statuses in docs/command.md are the ones the command
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
			"docs/command.md's table %q is not the command's; run: go test ./cmd/redlock -run TestREADME -update", strings.TrimSpace(tt.header))
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
		if c.name != "version" { // in docs/operations.md, "Build and release"
			assert.True(t, strings.Contains(section, "redlock "+c.name), "docs/command.md: no subcommand %s", c.name)
		}
	}
	runHelp := runInProcess(nil, "help", "run").stdout
	for _, v := range []string{nodesEnv, nodesFileEnv, "REDLOCK_NAME", "REDLOCK_FINGERPRINT", "REDLOCK_FENCE", "REDLOCK_SLOT"} {
		assert.True(t, strings.Contains(section, v), "docs/command.md: no variable %s", v)
		assert.True(t, strings.Contains(runHelp+usage(), v), "help: no variable %s", v)
	}
	help := runInProcess(nil, "help").stdout
	for _, r := range exitTable {
		assert.True(t, strings.Contains(help, "\n  "+r.status+" "), "help: no exit status %s", r.status)
	}
}
