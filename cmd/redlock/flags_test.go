package main

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRun_usage(t *testing.T) {
	const nodes = "redis://127.0.0.1:1,redis://127.0.0.1:2,redis://127.0.0.1:3"
	withNodes := []string{nodesEnv + "=" + nodes}
	tests := []struct {
		name   string
		env    []string
		args   []string
		code   int
		stdout string // a part of stdout, if not empty
		stderr string // a part of stderr, if not empty
	}{
		{name: "no command", args: nil, code: exitUsage, stderr: "Usage:"},
		{name: "unknown command", args: []string{"lock"}, code: exitUsage, stderr: `unknown command "lock"`},
		{name: "help", args: []string{"help"}, code: exitOK, stdout: "Exit statuses:"},
		{name: "--help", args: []string{"--help"}, code: exitOK, stdout: "redlock run [flags] NAME -- PROGRAM"},
		{name: "help run", args: []string{"help", "run"}, code: exitOK, stdout: "Usage: redlock run"},
		{name: "help unknown", args: []string{"help", "lock"}, code: exitUsage, stderr: `unknown command "lock"`},
		{name: "run --help", args: []string{"run", "--help"}, code: exitOK, stdout: "\n  --ttl duration\n"},
		{name: "run -h", args: []string{"run", "-h"}, code: exitOK, stdout: "SIGKILL\nafter --grace"},
		{name: "status --help", args: []string{"status", "--help"}, code: exitOK, stdout: "Usage: redlock status"},
		{name: "demo --help", args: []string{"demo", "--help"}, code: exitOK, stdout: "--quick"},

		{name: "run: unknown flag", env: withNodes, args: []string{"run", "--ttll", "1s", "x", "--", "true"},
			code: exitUsage, stderr: "flag provided but not defined: -ttll"},
		{name: "run: bad duration", env: withNodes, args: []string{"run", "--ttl", "10", "x", "--", "true"},
			code: exitUsage, stderr: `invalid value "10" for flag -ttl`},
		{name: "run: no NAME", env: withNodes, args: []string{"run"}, code: exitUsage, stderr: "no lock NAME given"},
		{name: "run: empty NAME", env: withNodes, args: []string{"run", "", "--", "true"}, code: exitUsage, stderr: "the lock NAME is empty"},
		{name: "run: no --", env: withNodes, args: []string{"run", "x", "true"}, code: exitUsage, stderr: `expected -- between NAME and PROGRAM, got "true"`},
		{name: "run: flag after NAME", env: withNodes, args: []string{"run", "x", "--ttl", "1s", "--", "true"}, code: exitUsage, stderr: "flags go before NAME"},
		{name: "run: no PROGRAM", env: withNodes, args: []string{"run", "x"}, code: exitUsage, stderr: "no PROGRAM given"},
		{name: "run: nothing after --", env: withNodes, args: []string{"run", "x", "--"}, code: exitUsage, stderr: "no PROGRAM given after --"},
		{name: "run: negative wait", env: withNodes, args: []string{"run", "--wait", "-1s", "x", "--", "true"}, code: exitUsage, stderr: "--wait must not be negative"},
		{name: "run: negative grace", env: withNodes, args: []string{"run", "--grace", "-1s", "x", "--", "true"}, code: exitUsage, stderr: "--grace must be 0 to 24h0m0s, got -1s"},
		{name: "run: zero ttl", env: withNodes, args: []string{"run", "--ttl", "0", "x", "--", "true"}, code: exitUsage, stderr: "ttl must be positive"},
		{name: "run: ttl too short for the drift", env: withNodes, args: []string{"run", "--ttl", "40ms", "--grace", "0", "x", "--", "true"},
			code: exitUsage, stderr: "--ttl 40ms is too short: SIGKILL must come 100ms (--grace plus 100ms) before the lock's validity of 37.6ms ends"},
		{name: "run: ttl not whole ms", env: withNodes, args: []string{"run", "--ttl", "1500us", "x", "--", "true"},
			code: exitUsage, stderr: "whole number of milliseconds"},
		{name: "run: grace too long for the ttl", env: withNodes, args: []string{"run", "--ttl", "10s", "--grace", "8s", "x", "--", "true"},
			code: exitUsage, stderr: "--grace 8s does not fit the 10s ttl: SIGKILL must come 9s (--grace plus 1s) before the lock's validity of 9.898s ends, " +
				"and renewal needs a quarter of the ttl (2.5s) before that; use --grace 6.3s or less, or --ttl 13s or more"},
		{name: "run: default grace shortened for a short ttl", env: withNodes, args: []string{"run", "--ttl", "5s", "x", "--", "no-such-program-redlock-test"},
			code: exitNotFound, stderr: "executable file not found"},
		{name: "run: negative max hold", env: withNodes, args: []string{"run", "--max-hold", "-1s", "x", "--", "true"},
			code: exitUsage, stderr: "--max-hold must not be negative, got -1s"},
		{name: "run: both node flags", args: []string{"run", "--nodes", "redis://127.0.0.1:1", "--nodes-file", "f", "x", "--", "true"},
			code: exitUsage, stderr: "give --nodes or --nodes-file, not both"},
		{name: "run: both node variables", env: []string{nodesEnv + "=redis://127.0.0.1:1", nodesFileEnv + "=f"}, args: []string{"run", "x", "--", "true"},
			code: exitUsage, stderr: "both REDLOCK_NODES and REDLOCK_NODES_FILE are set: unset one"},
		{name: "run: missing nodes file", args: []string{"run", "--nodes-file", "/no/such/nodes", "x", "--", "true"},
			code: exitUsage, stderr: "--nodes-file /no/such/nodes: no such file or directory"},
		{name: "run: zero node timeout", env: withNodes, args: []string{"run", "--node-timeout", "0", "x", "--", "true"},
			code: exitUsage, stderr: "node timeout must be positive"},
		{name: "run: no nodes", args: []string{"run", "x", "--", "true"}, code: exitUsage, stderr: "no nodes: give --nodes-file PATH or --nodes URL,URL,..., or set REDLOCK_NODES_FILE or REDLOCK_NODES"},
		{name: "run: blank REDLOCK_NODES", env: []string{nodesEnv + "= "}, args: []string{"run", "x", "--", "true"}, code: exitUsage, stderr: "no nodes"},
		{name: "run: bad scheme", args: []string{"run", "--nodes", "http://127.0.0.1:1", "x", "--", "true"},
			code: exitUsage, stderr: "scheme must be redis or rediss"},
		{name: "run: no port", args: []string{"run", "--nodes", "redis://127.0.0.1", "x", "--", "true"},
			code: exitUsage, stderr: "host must be host:port"},
		{name: "run: empty URL in list", args: []string{"run", "--nodes", "redis://127.0.0.1:1,,redis://127.0.0.1:2", "x", "--", "true"},
			code: exitUsage, stderr: "--nodes: URL 1 of 2: it is followed by an empty entry"},
		{name: "run: empty URL in env", env: []string{nodesEnv + "=redis://127.0.0.1:1,"}, args: []string{"run", "x", "--", "true"},
			code: exitUsage, stderr: "$REDLOCK_NODES: URL 1 of 1: it is followed by an empty entry"},
		{name: "run: duplicate nodes", args: []string{"run", "--nodes", "redis://127.0.0.1:1,redis://127.0.0.1:2,redis://:pw@127.0.0.1:1", "x", "--", "true"},
			code: exitUsage, stderr: "have the same name 127.0.0.1:1"},
		{name: "run: flag overrides env", env: []string{nodesEnv + "=redis://127.0.0.1:1"}, args: []string{"run", "--nodes", "bogus", "x", "--", "true"},
			code: exitUsage, stderr: `--nodes: URL 1 of 1: redlock: invalid argument: node URL "xxxxx": scheme must be redis or rediss`},
		{name: "run: program not found", env: withNodes, args: []string{"run", "x", "--", "no-such-program-redlock-test"},
			code: exitNotFound, stderr: "executable file not found"},
		{name: "run: program path not found", env: withNodes, args: []string{"run", "x", "--", "./no/such/program"},
			code: exitNotFound, stderr: "no such file or directory"},

		{name: "status: no NAME", env: withNodes, args: []string{"status"}, code: exitUsage, stderr: "no lock NAME given"},
		{name: "status: two NAMEs", env: withNodes, args: []string{"status", "a", "b"}, code: exitUsage, stderr: "one lock NAME expected"},
		{name: "status: flag after NAME", env: withNodes, args: []string{"status", "a", "--json"}, code: exitUsage, stderr: "flags go before NAME"},
		{name: "status: empty NAME", env: withNodes, args: []string{"status", ""}, code: exitUsage, stderr: "the lock NAME is empty"},
		{name: "status: no nodes", args: []string{"status", "a"}, code: exitUsage, stderr: "no nodes"},

		{name: "demo: too short", args: []string{"demo", "--duration", "1s"}, code: exitUsage, stderr: "--duration must be at least 4s"},
		{name: "demo: no workers", args: []string{"demo", "--workers", "0"}, code: exitUsage, stderr: "--workers must be 1 to 50"},
		{name: "demo: arguments", args: []string{"demo", "now"}, code: exitUsage, stderr: `unexpected arguments ["now"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runInProcess(tt.env, tt.args...)
			assert.Equal(t, tt.code, r.code, "stderr: %s", r.stderr)
			if tt.stdout != "" {
				assert.Contains(t, r.stdout, tt.stdout)
			}
			if tt.stderr != "" {
				assert.Contains(t, r.stderr, tt.stderr)
			}
			switch {
			case tt.code != exitUsage:
			case len(tt.args) > 0 && slices.Contains([]string{"run", "status", "demo"}, tt.args[0]):
				assert.Contains(t, r.stderr, "Run 'redlock "+tt.args[0]+" --help' for usage.")
			case len(tt.args) > 0:
				assert.Contains(t, r.stderr, "Run 'redlock help' for usage.")
			}
			if tt.code == exitOK {
				assert.Empty(t, r.stderr)
			}
		})
	}
}

// A password in a node URL never appears in a message, whatever is wrong.
func TestRun_passwordNeverShown(t *testing.T) {
	const secret = "hunter2-secret" // and "hunter2" alone, for the passwords with a comma
	for _, urls := range []string{
		"redis://user:" + secret + "@127.0.0.1",                      // no port
		"redis://:" + secret + "@127.0.0.1:99999",                    // bad port
		"http://:" + secret + "@127.0.0.1:1",                         // bad scheme
		"redis://:" + secret + "@127.0.0.1:1/x",                      // bad database
		"redis://:" + secret + "@[::1",                               // unparsable
		"redis://:" + secret + "@127.0.0.1:1?db=2",                   // query
		"redis://:a@127.0.0.1:1,redis://:" + secret + "@127.0.0.1:1", // duplicate
		"redis://:hunter2,secret@127.0.0.1,redis://127.0.0.1:2",      // a comma in the password, no port
		"http://:hunter2,secret@127.0.0.1:1,redis://127.0.0.1:2",     // a comma in the password, bad scheme
		"redis://:hunter2,secret@127.0.0.1:1/x",                      // a comma in the password, bad database
	} {
		for _, cmd := range []string{"run", "status"} {
			args := []string{cmd, "--nodes", urls, "x"}
			if cmd == "run" {
				args = append(args, "--", "true")
			}
			r := runInProcess(nil, args...)
			assert.Equal(t, exitUsage, r.code, "%s %s: %s", cmd, urls, r.stderr)
			assert.NotContains(t, r.stderr+r.stdout, "hunter2")
		}
	}
}

func TestStdio_getenv(t *testing.T) {
	sio := stdio{env: []string{"A=1", "B", "A=2", "C=x=y"}}
	assert.Equal(t, "2", sio.getenv("A"), "the last one wins, as in exec")
	assert.Equal(t, "x=y", sio.getenv("C"))
	assert.Empty(t, sio.getenv("B"))
	assert.Empty(t, sio.getenv("D"))
}
