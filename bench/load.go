package main

import (
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// loadWorkers is how many CPU stressors -load runs: two per core, so that
// the benchmark competes for every core.
func loadWorkers() int { return 2 * runtime.NumCPU() }

// startLoad starts stress-ng with loadWorkers CPU stressors, ending by
// itself after timeout (whole seconds, at least one), and returns a
// function that stops it and only it (its pid, then its own process group
// if it lingers), waiting until it has exited.
func startLoad(r *reaper, timeout time.Duration) (stop func(), err error) {
	bin, err := exec.LookPath("stress-ng")
	if err != nil {
		return nil, fmt.Errorf("-load needs stress-ng on PATH (Debian: apt-get install stress-ng): %w", err)
	}
	secs := max(1, int((timeout+time.Second-1)/time.Second))
	cmd := exec.Command(bin, "--cpu", fmt.Sprint(loadWorkers()), "--timeout", fmt.Sprintf("%ds", secs), "--quiet")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := r.start(cmd); err != nil {
		return nil, fmt.Errorf("starting stress-ng: %w", err)
	}
	pid := cmd.Process.Pid
	return func() { r.stop(pid, syscall.SIGTERM, 5*time.Second) }, nil
}

// loadCommand is the stress-ng command line that -load runs, for the report.
func loadCommand() string {
	return fmt.Sprintf("stress-ng --cpu %d", loadWorkers())
}
