//go:build !unix

package main

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// ownGroup does nothing where process groups are not available.
func ownGroup(*exec.Cmd, any) bool { return false }

// signalProgram sends sig to the program; where only killing is supported,
// it kills it.
func signalProgram(p *os.Process, _ bool, sig os.Signal) error {
	err := p.Signal(sig)
	if err != nil && sig != os.Kill && !errors.Is(err, os.ErrProcessDone) {
		err = p.Kill()
	}
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}

func killGroup(int, bool) {}

// forwarded are the signals passed on to the program.
var forwarded = []os.Signal{os.Interrupt, syscall.SIGTERM}

// terminate is the signal that asks the program to stop.
var terminate os.Signal = syscall.SIGTERM

// signalStatus is the exit status a shell reports for death by sig.
func signalStatus(os.Signal) int { return 128 + 2 }

// exitStatus is the program's exit status.
func exitStatus(state *os.ProcessState) int {
	if code := state.ExitCode(); code >= 0 {
		return code
	}
	return 128 + 9
}
