// Command redlock runs a program under a Redlock lock held across several
// independent Redis masters, shows who holds a lock, vets the nodes, and
// demonstrates the algorithm on five in-process nodes.
//
//	redlock run [flags] NAME -- PROGRAM [ARGS...]
//	redlock status [flags] NAME
//	redlock doctor [flags]
//	redlock demo [flags]
//	redlock completion bash|zsh|fish
//
// Nodes come from --nodes-file PATH or --nodes URL,URL,..., or from the
// REDLOCK_NODES_FILE or REDLOCK_NODES environment variable: redis:// or
// rediss:// URLs with an optional user and password. Run "redlock help"
// for the exit statuses.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/quorumlock/quorumlock/clock"
)

// A subcommand is one of redlock's subcommands. The table of them is the one
// source of the usage text and of shell completion.
type subcommand struct {
	name    string
	args    string // what follows the name on the command line
	summary string
	flags   func() *flagSet // the command's flags, as it parses them; nil for none
	run     func(args []string, sio stdio) int
}

// commands returns the subcommands, in the order the usage lists them.
func commands() []subcommand {
	return []subcommand{
		{"run", "[flags] NAME -- PROGRAM [ARGS...]", "run PROGRAM while holding the lock NAME",
			func() *flagSet { fs, _ := runFlags(); return fs }, cmdRun},
		{"status", "[flags] NAME", "show NAME on every node; exit 0 if held, 1 if free",
			func() *flagSet { fs, _ := statusFlags(); return fs }, cmdStatus},
		{"doctor", "[flags]", "vet the nodes: eviction, replicas, persistence, ...",
			func() *flagSet { fs, _ := doctorFlags(); return fs }, cmdDoctor},
		{"demo", "[flags]", "five in-process nodes, no Redis needed",
			func() *flagSet { fs, _ := demoFlags(); return fs }, cmdDemo},
		{"completion", "bash|zsh|fish", "print a shell completion script", nil, cmdCompletion},
		{"help", "[COMMAND]", "this text, or a command's", nil, cmdHelp},
		{"version", "", "redlock's version and Go's", nil, cmdVersion},
	}
}

// lookup returns the command called name.
func lookup(name string) (subcommand, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return subcommand{}, false
}

// usage is the text of redlock help.
func usage() string {
	var b strings.Builder
	b.WriteString(`redlock runs a program under a distributed lock held across independent
Redis masters (the Redlock algorithm), and shows who holds a lock.

Usage:
`)
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %s\n        %s\n", strings.TrimSpace("redlock "+c.name+" "+c.args), c.summary)
	}
	b.WriteString(`
Nodes: one URL per independent master, redis://[[user]:password@]host:port[/db]
or rediss:// for TLS; use an odd number (3 or 5): a lock needs a majority.
They come from the first of:
  --nodes-file PATH      a file of URLs, one per line (# comments allowed)
  --nodes URL,URL,...    on the command line, where ps shows any password
  $` + nodesFileEnv + `    as --nodes-file
  $` + nodesEnv + `         as --nodes; not passed on to the program run starts

`)
	b.WriteString(exitsText())
	return b.String()
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ()))
}

// run is the whole command: it parses args (without the program name),
// does the work and returns the exit status. env is the environment, as
// os.Environ returns it.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, env []string) int {
	return dispatch(args, stdio{in: stdin, out: stdout, err: stderr, env: env})
}

func dispatch(args []string, sio stdio) int {
	if len(args) == 0 {
		fmt.Fprint(sio.err, usage())
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	case "-version", "--version":
		name = "version"
	}
	c, ok := lookup(name)
	if !ok {
		fmt.Fprintf(sio.err, "redlock: unknown command %q\nRun 'redlock help' for usage.\n", name)
		return exitUsage
	}
	return c.run(rest, sio)
}

// stdio is what a command reads and writes, and the clock it runs on.
type stdio struct {
	in       io.Reader
	out, err io.Writer
	env      []string
	clock    clock.Clock // nil: the real clock
}

// getenv returns the value of the last key=value entry in env, or "".
func (s stdio) getenv(key string) string {
	for i := len(s.env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(s.env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// now returns the clock the command runs on.
func (s stdio) now() clock.Clock {
	if s.clock == nil {
		return clock.Real()
	}
	return s.clock
}

func cmdHelp(args []string, sio stdio) int {
	if len(args) == 0 {
		fmt.Fprint(sio.out, usage())
		return exitOK
	}
	if c, ok := lookup(args[0]); ok && c.name != "help" {
		return c.run([]string{"--help"}, sio)
	}
	fmt.Fprintf(sio.err, "redlock help: unknown command %q\nRun 'redlock help' for usage.\n", args[0])
	return exitUsage
}
