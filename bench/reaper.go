package main

import (
	"errors"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// A reaper starts child processes and ends them: each by its id, never by
// name. Children run in a process group of their own, so that a Ctrl-C at
// the terminal reaches only this program, which ends them in order; and
// they get SIGKILL from the kernel if this program dies without cleaning up.
type reaper struct {
	mu     sync.Mutex
	procs  map[int]*child
	closed bool
}

type child struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has been waited for
}

func newReaper() *reaper { return &reaper{procs: make(map[int]*child)} }

// errReaperClosed: the program is ending and starts no more processes.
var errReaperClosed = errors.New("the program is ending; no process started")

// start starts cmd and keeps it to be ended by stop or stopAll.
func (r *reaper) start(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errReaperClosed
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	r.procs[cmd.Process.Pid] = c
	go func() {
		_ = cmd.Wait()
		close(c.done)
	}()
	return nil
}

// exited reports whether the child with pid has exited (or is unknown).
func (r *reaper) exited(pid int) bool {
	r.mu.Lock()
	c := r.procs[pid]
	r.mu.Unlock()
	if c == nil {
		return true
	}
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop ends the child with pid: sig first (SIGTERM lets stress-ng end its
// workers), then SIGKILL to its process group if it has not exited within
// grace. It waits until the process has been reaped.
func (r *reaper) stop(pid int, sig syscall.Signal, grace time.Duration) {
	r.mu.Lock()
	c := r.procs[pid]
	delete(r.procs, pid)
	r.mu.Unlock()
	if c == nil {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGCONT) // a frozen process cannot act on sig
	_ = syscall.Kill(pid, sig)
	select {
	case <-c.done:
		return
	case <-time.After(grace):
	}
	// Still running, so the group (the child's own, by Setpgid) is still
	// there: this reaches the child's workers and nothing else.
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	<-c.done
}

// stopAll ends every child still running and refuses new ones.
func (r *reaper) stopAll() {
	r.mu.Lock()
	r.closed = true
	pids := make([]int, 0, len(r.procs))
	for pid := range r.procs {
		pids = append(pids, pid)
	}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, pid := range pids {
		wg.Go(func() { r.stop(pid, syscall.SIGTERM, 2*time.Second) })
	}
	wg.Wait()
}
