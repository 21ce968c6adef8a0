//go:build unix

package main

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// ownGroup puts the program in a session, and so a process group, of its
// own, so that signals sent to the group reach every process it starts (a
// shell script's children too). It does so only when stdin is not a
// terminal. A new session has no controlling terminal, so a program that
// tries to open /dev/tty gets an error, rather than being stopped (as in a
// mere background process group) while redlock keeps renewing the lock.
func ownGroup(cmd *exec.Cmd, stdin any) bool {
	if isTerminal(stdin) {
		return false
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return true
}

// signalProgram sends sig to the program, and to its process group if it
// has one of its own. A program that has already exited is not an error.
func signalProgram(p *os.Process, group bool, sig os.Signal) error {
	var err error
	if s, ok := sig.(syscall.Signal); ok && group {
		err = syscall.Kill(-p.Pid, s)
	} else {
		err = p.Signal(sig)
	}
	if errors.Is(err, syscall.ESRCH) || errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}

// killGroup kills what is left of the program's process group, if it had
// one, once the program itself has exited.
func killGroup(pid int, group bool) {
	if group {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}

// forwarded are the signals passed on to the program.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// terminate is the signal that asks the program to stop.
var terminate os.Signal = syscall.SIGTERM

// signalStatus is the exit status a shell reports for death by sig.
func signalStatus(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 128 + int(syscall.SIGINT)
}

// exitStatus is the program's exit status, 128+N if signal N killed it.
func exitStatus(state *os.ProcessState) int {
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return state.ExitCode()
}

// isTerminal tells whether stdin is a terminal: a character device other
// than the null device (cron and systemd give /dev/null or a pipe).
func isTerminal(stdin any) bool {
	f, ok := stdin.(*os.File)
	if !ok || f == nil {
		return false
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(fi, null)
}
