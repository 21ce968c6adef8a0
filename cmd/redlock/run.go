package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/quorumlock/quorumlock/redlock"
)

const runHelp = `Usage: redlock run [flags] NAME -- PROGRAM [ARGS...]

Acquires the lock NAME on a majority of the nodes, runs PROGRAM while the
lock is held and renewed in the background (about every ttl/3), and releases
the lock when PROGRAM exits. Like flock(1), but across Redis masters: run the
same line on every host and at most one PROGRAM runs at a time. With
--permits N it holds one of N permits of the semaphore NAME instead, so
that at most N PROGRAMs run at once, as consul lock -n does; the semaphore
and the lock NAME are apart; give every run of NAME the same N.

PROGRAM inherits stdin, stdout, stderr and the environment (less
REDLOCK_NODES), plus REDLOCK_NAME (the lock's name), REDLOCK_FINGERPRINT (a
short fingerprint of this holder's token, as 'redlock status' shows it;
never the token), with --permits, REDLOCK_SLOT (which permit it holds, 0
to N-1: at most one PROGRAM at a time has each) and, with --fence,
REDLOCK_FENCE (the fencing token, a decimal number that grows from one
holder of NAME, or of the slot, to the next: have the resource PROGRAM
writes to refuse numbers below the highest it has seen).

By default redlock makes one attempt; with --wait it retries until the lock
is granted or the wait is over. A signal (SIGINT, SIGTERM, SIGHUP) that
comes while redlock waits ends the wait: nothing is run, and redlock exits
128+N. Once PROGRAM runs, those signals are passed on to it and never end
the lock's hold. When stdin is not a terminal (cron, systemd, scripts),
PROGRAM runs in a session and process group of its own, with no controlling
terminal, and signals go to the whole group, so a script's children stop
with it.

If the lock is lost while PROGRAM runs (the nodes no longer hold it, or
renewal failed and its validity is running out), or PROGRAM has held it for
--max-hold, redlock says so on stderr, sends PROGRAM SIGTERM, then SIGKILL
after --grace, and exits 76 (lost) or 79 (--max-hold). The renewal gives up
early enough that SIGKILL comes before the lock's validity ends, even for a
PROGRAM that ignores SIGTERM: --grace plus a slack (a tenth of the ttl, at
least 100ms) before it. The renewal needs the first three quarters of the
ttl less that margin, so a --grace too long for the ttl is a usage error
that says what would fit.

Flags:
{{flags}}
Examples:
  # the same crontab on three hosts: the job runs on one of them at a time;
  # the others exit 75, quietly
  REDLOCK_NODES_FILE=/etc/redlock/nodes
  0 3 * * *  redlock run -q nightly-backup -- /usr/local/bin/backup.sh

  # wait up to a minute for the lock, saying who holds it meanwhile
  redlock run -w 1m -v --ttl 30s reindex -- ./reindex --all

  # at most four encoders at once across the hosts, each on its own GPU
  redlock run -n 4 -w 10m encoders -- sh -c 'encode --gpu "$REDLOCK_SLOT"'

Exit status: PROGRAM's own, or 128+N if signal N killed it (or
interrupted redlock while it waited for the lock); 75 if the lock (with
--permits, a permit) was not obtained; 76 if it was lost while PROGRAM
ran, or PROGRAM exited 0 but it was no longer held by a quorum at release; 79 if PROGRAM reached
--max-hold; 64 for a usage error; 77 if a node refused the credentials;
126 or 127 if PROGRAM could not be started or was not found; 70 for an
unexpected failure.
`

// runOptions are the flags of redlock run.
type runOptions struct {
	nodes   nodeFlags
	ttl     time.Duration
	wait    time.Duration
	grace   time.Duration
	maxHold time.Duration
	quiet   bool
	verbose bool
	fence   bool
	permits int // 0: the lock NAME; else one of this many permits of the semaphore NAME
}

// runFlags returns the flag set of redlock run and the options it fills.
func runFlags() (*flagSet, *runOptions) {
	fs, o := newFlagSet("run"), &runOptions{}
	o.nodes.register(fs)
	fs.DurationVar(&o.ttl, "ttl", 10*time.Second, "how long the lock lives on each node without renewal")
	fs.DurationVar(&o.wait, "wait", 0, "how long to wait for the lock; 0 makes a single attempt")
	fs.DurationVar(&o.grace, "grace", 0, "time between SIGTERM and SIGKILL when the lock is lost or\n--max-hold is reached (default 5s, or the most a shorter ttl allows)")
	fs.DurationVar(&o.maxHold, "max-hold", 0, "the longest PROGRAM may hold the lock; then it is stopped as\nwhen the lock is lost, and redlock exits 79 (default: no bound)")
	fs.BoolVar(&o.quiet, "quiet", false, "say nothing when the lock is not obtained (the exit status is\nstill 75)")
	fs.BoolVar(&o.verbose, "verbose", false, "while waiting, say every few seconds who holds the lock and\nuntil when")
	fs.BoolVar(&o.fence, "fence", false, "acquire with a fencing token and pass it to PROGRAM as\nREDLOCK_FENCE; nodes without an append-only file are refused")
	fs.IntVar(&o.permits, "permits", 0, "hold one of `N` permits of the semaphore NAME, not the lock,\n"+
		"so that up to N PROGRAMs run at once; PROGRAM sees which as\n"+
		"REDLOCK_SLOT (default: the lock NAME)")
	fs.alias("w", "wait")
	fs.alias("n", "permits")
	fs.alias("q", "quiet")
	fs.alias("v", "verbose")
	return fs, o
}

// maxGraceFlag bounds --grace, and so the arithmetic of the margin.
const maxGraceFlag = 24 * time.Hour

func cmdRun(args []string, sio stdio) int {
	fs, o := runFlags()
	if status, ok := parse(fs, args, runHelp, sio); !ok {
		return status
	}
	rest := fs.Args()
	switch {
	case len(rest) == 0:
		return usageError(sio, fs, "no lock NAME given")
	case rest[0] == "":
		return usageError(sio, fs, "the lock NAME is empty")
	case len(rest) == 1:
		return usageError(sio, fs, "no PROGRAM given: expected NAME -- PROGRAM [ARGS...]")
	case rest[1] != "--" && strings.HasPrefix(rest[1], "-"):
		return usageError(sio, fs, "expected -- after NAME, got %q (flags go before NAME)", rest[1])
	case rest[1] != "--":
		return usageError(sio, fs, "expected -- between NAME and PROGRAM, got %q", rest[1])
	case len(rest) == 2 || rest[2] == "":
		return usageError(sio, fs, "no PROGRAM given after --")
	case o.wait < 0:
		return usageError(sio, fs, "--wait must not be negative, got %v", o.wait)
	case o.grace < 0 || o.grace > maxGraceFlag:
		return usageError(sio, fs, "--grace must be 0 to %v, got %v", maxGraceFlag, o.grace)
	case o.maxHold < 0:
		return usageError(sio, fs, "--max-hold must not be negative, got %v", o.maxHold)
	case fs.isSet("permits") && (o.permits < 1 || o.permits > redlock.MaxPermits):
		return usageError(sio, fs, "--permits must be 1 to %d, got %d", redlock.MaxPermits, o.permits)
	}
	if !fs.isSet("grace") {
		o.grace = defaultGrace(o.ttl)
	}
	margin, err := holdMargin(o.ttl, o.grace)
	if err != nil {
		return usageError(sio, fs, "%v", err)
	}
	name, argv := rest[0], rest[2:]
	cmd := exec.Command(argv[0], argv[1:]...)
	if status := findProgram(cmd, sio); status != 0 {
		return status // before taking the lock: a typo must not hold it
	}

	opts := []redlock.ClientOption{redlock.WithTTL(o.ttl), redlock.WithDriftFactor(driftFactor)}
	if margin > 0 {
		opts = append(opts, redlock.WithHoldMargin(margin))
	}
	if o.fence {
		opts = append(opts, redlock.WithFencing())
	}
	if o.maxHold > 0 {
		opts = append(opts, redlock.WithMaxHold(o.maxHold))
	}
	client, closeClient, status := connect(fs, &o.nodes, sio, opts...)
	if client == nil {
		return status
	}
	defer closeClient()
	r := &runner{client: client, name: name, cmd: cmd, opts: o, sio: sio}
	return r.run()
}

// findProgram reports, with the exit status, a PROGRAM that cannot be run.
func findProgram(cmd *exec.Cmd, sio stdio) int {
	if cmd.Err != nil {
		fmt.Fprintf(sio.err, "redlock run: %v\n", cmd.Err)
		if errors.Is(cmd.Err, exec.ErrNotFound) {
			return exitNotFound
		}
		return exitCannotExec
	}
	if _, err := os.Stat(cmd.Path); err != nil {
		fmt.Fprintf(sio.err, "redlock run: %v\n", err)
		if errors.Is(err, os.ErrNotExist) {
			return exitNotFound
		}
		return exitCannotExec
	}
	return 0
}
