package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quorumlock/quorumlock/clock"
	"github.com/quorumlock/quorumlock/redlock"
)

// A runner runs one program under a lock that [redlock.Client.Do] takes,
// holds and releases: the program runs inside Do's function. The runner
// keeps the rest: signals, the program's process and the exit status.
type runner struct {
	client *redlock.Client
	name   string
	slot   int // with --permits, the slot of the permit held; -1 otherwise
	cmd    *exec.Cmd
	opts   *runOptions
	sio    stdio

	h       *handover
	forward chan os.Signal // signals for the program, from the handover

	// What the program did; written by hold, read after Do returns.
	entered bool // hold got past the handover
	started bool // the program started
	status  int  // the program's exit status, or why it did not run
	stopped int  // exitLost or exitMaxHold if the hold ended while it ran
}

// run takes the lock and runs the program under it, and returns the exit
// status.
func (r *runner) run() int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	r.h = newHandover(cancel)
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	r.forward = make(chan os.Signal, 8)

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { r.h.watch(sigs, r.forward, done) })
	if r.opts.verbose && r.opts.wait > 0 {
		wg.Go(func() { r.report(ctx, done) })
	}
	var err error
	r.slot = -1
	if r.opts.permits > 0 {
		var s *redlock.Semaphore
		if s, err = r.client.Semaphore(r.name, r.opts.permits); err == nil {
			err = s.Do(ctx, func(held context.Context, p *redlock.Permit) error {
				r.slot = p.Slot()
				return r.hold(held)
			}, r.doOptions()...)
		}
	} else {
		err = r.client.Do(ctx, r.name, r.hold, r.doOptions()...)
	}
	close(done)
	wg.Wait()
	return r.exit(err)
}

// doOptions say how long Do waits: one attempt, or retries for --wait.
func (r *runner) doOptions() []redlock.Option {
	if r.opts.wait == 0 {
		return []redlock.Option{redlock.WithRetryLimit(0)}
	}
	return []redlock.Option{redlock.WithWait(r.opts.wait)}
}

// hold is Do's function: it runs the program while the lock is held, and
// stops it if the hold ends first. It returns nil: what the program did is
// in the runner, and Do's error is then the lock's own story.
func (r *runner) hold(held context.Context) error {
	if !r.h.begin() {
		return nil // a signal ended the wait as the lock was granted
	}
	r.entered = true
	lock := redlock.HeldLock(held)
	if held.Err() != nil {
		r.status = r.holdEnded(held, " before the program started")
		return nil
	}
	cmd := r.cmd
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r.sio.in, r.sio.out, r.sio.err
	cmd.Env = programEnv(r.sio.env, lock, r.slot)
	cmd.WaitDelay = time.Second // for stdio that are not files
	group := ownGroup(cmd, r.sio.in)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(r.sio.err, "redlock run: %v\n", err)
		r.status = exitCannotExec
		if errors.Is(err, os.ErrNotExist) {
			r.status = exitNotFound
		}
		return nil
	}
	r.started = true
	r.supervise(held, cmd, group)
	return nil
}

// supervise waits for the started program, passing signals on, and stops
// it with SIGTERM, then SIGKILL after --grace, if the hold ends first. It
// records the program's exit status.
func (r *runner) supervise(held context.Context, cmd *exec.Cmd, group bool) {
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		_ = cmd.Wait() // its outcome is in cmd.ProcessState, if it has one
	}()
	var (
		heldDone = held.Done()
		kill     clock.Timer
		killC    <-chan time.Time
	)
	for running := true; running; {
		select {
		case sig := <-r.forward:
			if err := signalProgram(cmd.Process, group, sig); err != nil {
				fmt.Fprintf(r.sio.err, "redlock run: passing on %v: %v\n", sig, err)
			}
		case <-heldDone:
			heldDone = nil
			kill = r.sio.now().NewTimer(r.opts.grace) // armed before anything is said
			killC = kill.C()
			r.stopped = r.holdEnded(held, "")
			if err := signalProgram(cmd.Process, group, terminate); err != nil {
				fmt.Fprintf(r.sio.err, "redlock run: %v\n", err)
			}
			fmt.Fprintf(r.sio.err, "redlock: stopping the program (pid %d): SIGTERM now, SIGKILL in %v\n",
				cmd.Process.Pid, r.opts.grace)
		case <-killC:
			killC = nil
			if err := signalProgram(cmd.Process, group, os.Kill); err != nil {
				fmt.Fprintf(r.sio.err, "redlock run: %v\n", err)
			}
		case <-exited:
			running = false
		}
	}
	if kill != nil {
		kill.Stop()
	}
	if r.stopped != 0 {
		killGroup(cmd.Process.Pid, group) // leave nothing running unprotected
	}
	if cmd.ProcessState == nil {
		fmt.Fprintf(r.sio.err, "redlock run: the program's exit status could not be read\n")
		r.status = exitSoftware
		return
	}
	r.status = exitStatus(cmd.ProcessState)
}

// subject names what the runner holds in messages: the lock, or a permit
// of the semaphore.
func (r *runner) subject() string {
	if r.opts.permits > 0 {
		return fmt.Sprintf("permit of %q", r.name)
	}
	return fmt.Sprintf("lock %q", r.name)
}

// holdEnded says why the hold ended (and when, if before the program
// started: when is then " before the program started"), and returns the
// exit status that tells it: exitMaxHold for --max-hold, else exitLost.
func (r *runner) holdEnded(held context.Context, when string) int {
	cause := context.Cause(held)
	if errors.Is(cause, redlock.ErrMaxHold) {
		fmt.Fprintf(r.sio.err, "redlock: %s held for --max-hold %v%s: %v\n", r.subject(), r.opts.maxHold, when, cause)
		return exitMaxHold
	}
	fmt.Fprintf(r.sio.err, "redlock: %s lost%s: %v\n", r.subject(), when, cause)
	return exitLost
}

// programEnv is env for the program: without REDLOCK_NODES, which may hold
// passwords, and with the lock's name, fingerprint, slot (for a permit: 0
// or more) and fence (if any) in place of any it inherited.
func programEnv(env []string, lock *redlock.Lock, slot int) []string {
	out := slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return k == nodesEnv || k == "REDLOCK_NAME" || k == "REDLOCK_FINGERPRINT" || k == "REDLOCK_FENCE" || k == "REDLOCK_SLOT"
	})
	out = append(out, "REDLOCK_NAME="+lock.Name(), "REDLOCK_FINGERPRINT="+lock.Fingerprint())
	if slot >= 0 {
		out = append(out, "REDLOCK_SLOT="+strconv.Itoa(slot))
	}
	if f := lock.Fence(); f != 0 {
		out = append(out, "REDLOCK_FENCE="+strconv.FormatUint(f, 10))
	}
	return out
}

// exit turns what Do returned, and what the program did, into the exit
// status, saying why on stderr where the status alone does not.
func (r *runner) exit(err error) int {
	if !r.entered {
		if sig := r.h.interruption(); sig != nil {
			fmt.Fprintf(r.sio.err, "redlock run: %v while waiting for %q; nothing was run\n", interrupted{sig}, r.name)
			return signalStatus(sig)
		}
		return r.notRun(err)
	}
	switch {
	case !r.started:
		return r.status // could not start, or lost before it did: said so
	case r.stopped != 0:
		return r.stopped
	case errors.Is(err, redlock.ErrLost) || errors.Is(err, redlock.ErrNotHeld):
		fmt.Fprintf(r.sio.err, "redlock: %s was not held by a quorum when the program exited; it may have run unprotected: %v\n", r.subject(), err)
		if r.status == 0 {
			return exitLost
		}
	case err != nil:
		fmt.Fprintf(r.sio.err, "redlock: releasing %q: %v (the keys expire by their ttl)\n", r.name, err)
	}
	return r.status
}

// notRun is the exit status for a lock not obtained, after saying why.
func (r *runner) notRun(err error) int {
	switch {
	case err == nil:
		fmt.Fprintf(r.sio.err, "redlock run: the program was not run, for no reason given\n")
		return exitSoftware
	case errors.Is(err, redlock.ErrInvalidArgument):
		fmt.Fprintf(r.sio.err, "redlock run: %v\nRun 'redlock run --help' for usage.\n", err)
		return exitUsage
	case errors.Is(err, redlock.ErrAuth):
		fmt.Fprintf(r.sio.err, "redlock run: a node refused the credentials or a command: check the user and password "+
			"of the node URLs, and the user's ACL; nothing was run: %v\n", err)
		return exitNoPerm
	case errors.Is(err, redlock.ErrNotObtained):
		if !r.opts.quiet {
			fmt.Fprintf(r.sio.err, "redlock: %s not obtained, nothing was run: %v\n", r.subject(), err)
			if r.opts.verbose {
				r.sayHolder(context.Background())
			}
		}
		return exitNotObtained
	}
	fmt.Fprintf(r.sio.err, "redlock run: acquiring %q: %v\n", r.name, err)
	return exitSoftware
}
