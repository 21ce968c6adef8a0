package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/quorumlock/quorumlock/redlock"
)

const runHelp = `Usage: redlock run [flags] NAME -- PROGRAM [ARGS...]

Acquires the lock NAME on a majority of the nodes, runs PROGRAM while the
lock is held and renewed in the background (about every ttl/3), and releases
the lock when PROGRAM exits. Like flock(1), but across Redis masters: run the
same line on every host and at most one PROGRAM runs at a time.

PROGRAM inherits stdin, stdout, stderr and the environment, plus
REDLOCK_NAME (the lock's name) and REDLOCK_FINGERPRINT (a short fingerprint
of this holder's token, as 'redlock status' shows it; never the token).
SIGINT, SIGTERM and SIGHUP sent to redlock are passed on to PROGRAM. When
stdin is not a terminal (cron, systemd, scripts), PROGRAM runs in a session
and process group of its own, with no controlling terminal, and signals go
to the whole group, so a script's children stop with it.

If the lock is not obtained within --wait (by default: one attempt, no
waiting), nothing is run and redlock exits 75. If the lock is lost while
PROGRAM runs (the nodes no longer hold it, or renewal failed and its
validity is running out), redlock says so on stderr, sends PROGRAM SIGTERM,
then SIGKILL after --grace, and exits 76. When renewal fails, SIGTERM goes
out while at least --grace of the lock's validity remains (at least ttl/10,
at most ttl/2), so with the defaults even a PROGRAM that ignores SIGTERM is
killed before the lock expires.

Flags:
{{flags}}
Examples:
  # the same crontab on three hosts: the job runs on one of them at a time;
  # the others exit 75, quietly
  REDLOCK_NODES=redis://:secret@r1:6379,redis://:secret@r2:6379,redis://:secret@r3:6379
  0 3 * * *  redlock run --quiet nightly-backup -- /usr/local/bin/backup.sh

  # wait up to a minute for the lock, renewing a 30s ttl
  redlock run --wait 1m --ttl 30s reindex -- ./reindex --all

Exit status: PROGRAM's own, or 128+N if signal N killed it (or
interrupted redlock while it waited for the lock); 75 if the lock was not
obtained; 76 if it was lost while PROGRAM ran, or PROGRAM exited 0
but the lock was no longer held by a quorum at release; 64 for a usage
error; 126 or 127 if PROGRAM could not be started or was not found; 70 for
an unexpected failure.
`

// releaseTimeout bounds the release after PROGRAM exits; each node's part
// is bounded by the node timeout anyway.
const releaseTimeout = 10 * time.Second

func cmdRun(args []string, sio stdio) int {
	fs := newFlagSet("run")
	var nf nodeFlags
	nf.register(fs)
	ttl := fs.Duration("ttl", 10*time.Second, "how long the lock lives on each node without renewal")
	wait := fs.Duration("wait", 0, "how long to wait for the lock; 0 makes a single attempt")
	grace := fs.Duration("grace", 5*time.Second, "time between SIGTERM and SIGKILL when the lock is lost")
	quiet := fs.Bool("quiet", false, "say nothing when the lock is not obtained (the exit status is still 75)")
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
	case *wait < 0:
		return usageError(sio, fs, "--wait must not be negative, got %v", *wait)
	case *grace < 0:
		return usageError(sio, fs, "--grace must not be negative, got %v", *grace)
	}
	name, argv := rest[0], rest[2:]
	cmd := exec.Command(argv[0], argv[1:]...)
	if status := findProgram(cmd, sio); status != 0 {
		return status // before taking the lock: a typo must not hold it
	}

	margin := min(max(*grace, *ttl/10), *ttl/2)
	client, closeClient, status := connect(fs, &nf, sio, redlock.WithTTL(*ttl), redlock.WithHoldMargin(margin))
	if client == nil {
		return status
	}
	defer closeClient()

	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)

	lock, status := acquire(client, name, *wait, *quiet, sigs, sio)
	if lock == nil {
		return status
	}
	r := runner{lock: lock, cmd: cmd, grace: *grace, sigs: sigs, sio: sio}
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

// interrupted is the cause of an acquisition cut short by a signal.
type interrupted struct{ sig os.Signal }

func (e interrupted) Error() string { return "interrupted by " + e.sig.String() }

// acquire takes the lock: one attempt if wait is 0, else attempts until
// wait has passed. A signal on sigs ends the wait. It returns the lock, or
// nil and the exit status after saying why (unless quiet and the lock is
// merely not obtained).
func acquire(client *redlock.Client, name string, wait time.Duration, quiet bool, sigs <-chan os.Signal, sio stdio) (*redlock.Lock, int) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	if wait > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeoutCause(ctx, wait, fmt.Errorf("waited %v", wait))
		defer stop()
	}
	done, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case sig := <-sigs:
			cancel(interrupted{sig})
		case <-done:
		}
	}()
	var (
		lock *redlock.Lock
		err  error
	)
	if wait > 0 {
		lock, err = client.Lock(ctx, name)
	} else {
		lock, err = client.TryLock(ctx, name)
	}
	close(done)
	<-watched

	var intr interrupted
	if errors.As(context.Cause(ctx), &intr) {
		if lock != nil {
			_ = release(lock)
		}
		fmt.Fprintf(sio.err, "redlock run: %v while acquiring %q; nothing was run\n", intr, name)
		return nil, signalStatus(intr.sig)
	}
	switch {
	case err == nil:
		return lock, 0
	case errors.Is(err, redlock.ErrNotObtained):
		if quiet {
			return nil, exitNotObtained
		}
		fmt.Fprintf(sio.err, "redlock: lock %q not obtained, nothing was run: %s\n", name, describe(err))
		return nil, exitNotObtained
	case errors.Is(err, redlock.ErrInvalidArgument):
		fmt.Fprintf(sio.err, "redlock run: %s\nRun 'redlock run --help' for usage.\n", describe(err))
		return nil, exitUsage
	}
	fmt.Fprintf(sio.err, "redlock run: acquiring %q: %s\n", name, describe(err))
	return nil, exitSoftware
}

// release unlocks l, bounded by releaseTimeout.
func release(l *redlock.Lock) error {
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	return l.Unlock(ctx)
}

// A runner runs the program while a lock is held.
type runner struct {
	lock  *redlock.Lock
	cmd   *exec.Cmd
	grace time.Duration
	sigs  <-chan os.Signal
	sio   stdio
}

// run starts the program under a hold of the lock, waits for it, releases
// the lock and returns the exit status.
func (r *runner) run() int {
	name, cmd := r.lock.Name(), r.cmd
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r.sio.in, r.sio.out, r.sio.err
	cmd.Env = append(slices.Clip(r.sio.env),
		"REDLOCK_NAME="+name, "REDLOCK_FINGERPRINT="+r.lock.Fingerprint())
	cmd.WaitDelay = time.Second // for stdio that are not files
	group := ownGroup(cmd, r.sio.in)

	held, stop := r.lock.Hold(context.Background())
	defer stop()
	if held.Err() != nil { // lost before the program could start
		fmt.Fprintf(r.sio.err, "redlock: lock %q lost before the program started: %s\n", name, describe(context.Cause(held)))
		_ = release(r.lock)
		return exitLost
	}
	if err := cmd.Start(); err != nil {
		stop()
		_ = release(r.lock)
		fmt.Fprintf(r.sio.err, "redlock run: %v\n", err)
		if errors.Is(err, os.ErrNotExist) {
			return exitNotFound
		}
		return exitCannotExec
	}

	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var (
		waitErr  error
		lost     error // why the lock was lost while the program ran
		heldDone = held.Done()
		kill     *time.Timer
		killC    <-chan time.Time
	)
wait:
	for {
		select {
		case sig := <-r.sigs:
			if err := signalProgram(cmd.Process, group, sig); err != nil {
				fmt.Fprintf(r.sio.err, "redlock run: passing on %v: %v\n", sig, err)
			}
		case <-heldDone:
			heldDone, lost = nil, context.Cause(held)
			fmt.Fprintf(r.sio.err, "redlock: lock %q lost: %s\n", name, describe(lost))
			fmt.Fprintf(r.sio.err, "redlock: stopping the program (pid %d): SIGTERM now, SIGKILL in %v\n", cmd.Process.Pid, r.grace)
			if err := signalProgram(cmd.Process, group, terminate); err != nil {
				fmt.Fprintf(r.sio.err, "redlock run: %v\n", err)
			}
			kill = time.NewTimer(r.grace)
			killC = kill.C
		case <-killC:
			killC = nil
			if err := signalProgram(cmd.Process, group, os.Kill); err != nil {
				fmt.Fprintf(r.sio.err, "redlock run: %v\n", err)
			}
		case waitErr = <-exited:
			break wait
		}
	}
	if kill != nil {
		kill.Stop()
	}
	stop()
	if lost != nil {
		killGroup(cmd.Process.Pid, group) // leave nothing running unprotected
	}
	lostAtExit := context.Cause(held) // a loss between exit and stop
	unlockErr := release(r.lock)

	status := exitSoftware
	if cmd.ProcessState != nil {
		status = exitStatus(cmd.ProcessState)
	} else {
		fmt.Fprintf(r.sio.err, "redlock run: waiting for the program: %v\n", waitErr)
	}
	switch {
	case lost != nil:
		return exitLost
	case errors.Is(lostAtExit, redlock.ErrLost) || errors.Is(unlockErr, redlock.ErrNotHeld):
		cause := unlockErr
		if errors.Is(lostAtExit, redlock.ErrLost) {
			cause = lostAtExit
		}
		fmt.Fprintf(r.sio.err, "redlock: lock %q was not held by a quorum when the program exited; it may have run unprotected: %s\n", name, describe(cause))
		if status == 0 {
			return exitLost
		}
	case unlockErr != nil:
		fmt.Fprintf(r.sio.err, "redlock: releasing %q: %s (the keys expire by their ttl)\n", name, describe(unlockErr))
	}
	return status
}
