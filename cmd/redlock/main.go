// Command redlock runs a program under a Redlock lock held across several
// independent Redis masters, shows who holds a lock, and demonstrates the
// algorithm on five in-process nodes.
//
//	redlock run [flags] NAME -- PROGRAM [ARGS...]
//	redlock status [flags] NAME
//	redlock demo [flags]
//
// Nodes come from --nodes URL,URL,... or the REDLOCK_NODES environment
// variable: redis:// or rediss:// URLs with an optional user and password.
// Run "redlock help" for the exit statuses.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit statuses. The program's own status is passed through by run; the
// numbers of redlock's own outcomes follow sysexits.h where one fits.
const (
	exitOK          = 0
	exitUsage       = 64  // EX_USAGE: bad flags, arguments, URLs or options
	exitUnavailable = 69  // EX_UNAVAILABLE: status could not read a quorum of nodes
	exitSoftware    = 70  // EX_SOFTWARE: an unexpected failure; the demo saw a fault
	exitNotObtained = 75  // EX_TEMPFAIL: the lock was not obtained; try again later
	exitLost        = 76  // the lock was lost, or not held at release, while the program ran
	exitCannotExec  = 126 // the program was found but could not be started
	exitNotFound    = 127 // the program was not found
)

const usage = `redlock runs a program under a distributed lock held across independent
Redis masters (the Redlock algorithm), and shows who holds a lock.

Usage:
  redlock run [flags] NAME -- PROGRAM [ARGS...]   run PROGRAM while holding NAME
  redlock status [flags] NAME                     show NAME on every node
  redlock demo [flags]                            five in-process nodes, no Redis needed
  redlock help [COMMAND]                          this text, or a command's
  redlock version                                 redlock's version and Go's

Nodes: --nodes URL,URL,... or the REDLOCK_NODES environment variable, one URL
per independent master: redis://[[user]:password@]host:port[/db], or
rediss:// for TLS. Use an odd number (3 or 5): a lock needs a majority.
` + exitStatuses

const exitStatuses = `
Exit statuses:
  0        success (run: the program exited 0)
  1-125    run: the program's own exit status
  64       usage error: bad flags, arguments, node URLs or options
  69       status: fewer than a quorum of nodes could be read
  70       unexpected failure; demo: an overlap or a phase went wrong
  75       run: the lock was not obtained (held elsewhere, or too many
           nodes down); nothing was run
  76       run: the lock was lost while the program ran (the program was
           terminated), or was no longer held by a quorum when released
           after the program succeeded: it may have run unprotected
  126      run: the program could not be started
  127      run: the program was not found
  128+N    run: the program was killed by signal N (130 for SIGINT,
           143 for SIGTERM, 137 for SIGKILL), or signal N interrupted
           redlock while it waited for the lock
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ()))
}

// run is the whole command: it parses args (without the program name),
// does the work and returns the exit status. env is the environment, as
// os.Environ returns it.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, env []string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	sio := stdio{in: stdin, out: stdout, err: stderr, env: env}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "run":
		return cmdRun(rest, sio)
	case "status":
		return cmdStatus(rest, sio)
	case "demo":
		return cmdDemo(rest, sio)
	case "help", "-h", "-help", "--help":
		return cmdHelp(rest, sio)
	case "version", "-version", "--version":
		return cmdVersion(rest, sio)
	default:
		fmt.Fprintf(stderr, "redlock: unknown command %q\nRun 'redlock help' for usage.\n", cmd)
		return exitUsage
	}
}

// stdio is what a command reads and writes.
type stdio struct {
	in       io.Reader
	out, err io.Writer
	env      []string
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

func cmdHelp(args []string, sio stdio) int {
	if len(args) == 0 {
		fmt.Fprint(sio.out, usage)
		return exitOK
	}
	switch args[0] {
	case "run", "status", "demo", "version":
		return run([]string{args[0], "--help"}, sio.in, sio.out, sio.err, sio.env)
	}
	fmt.Fprintf(sio.err, "redlock help: unknown command %q\nRun 'redlock help' for usage.\n", args[0])
	return exitUsage
}
