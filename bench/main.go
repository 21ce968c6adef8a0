// Command bench measures quorumlock beside github.com/go-redsync/redsync/v4
// on five redis-server processes that it starts on 127.0.0.1 and stops
// again, and prints the results as one markdown table.
//
//	cd bench && go run .                 # about two and a half minutes
//	cd bench && go run . -load           # stress-ng beside the concurrent scenarios
//	cd bench && go run . -reps 5 -duration 5s -pairs 5000
//
// Progress goes to standard error, the table to standard output. Every
// step is bounded in time, and the whole run by -limit; on Ctrl-C, SIGTERM
// or SIGHUP the servers (and stress-ng) are stopped before it exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(mainErr(os.Args[1:], os.Stdout, os.Stderr))
}

// mainErr runs the program with args and returns its exit status: 0, 1
// for a failed run, 2 for bad flags, 130 when interrupted.
func mainErr(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config{}
	fs.IntVar(&cfg.reps, "reps", 3, "repetitions of every measurement, the libraries interleaved; medians are reported")
	fs.DurationVar(&cfg.duration, "duration", 3*time.Second, "length of each timed run (scenarios 1-5)")
	fs.IntVar(&cfg.allocPairs, "pairs", 2000, "Lock+Unlock pairs per allocation count (scenario 6)")
	fs.BoolVar(&cfg.load, "load", false, "run `stress-ng --cpu <2 x cores>` beside scenarios 4 and 5")
	limit := fs.Duration("limit", 10*time.Minute, "hard bound on the whole run: past it, everything started is stopped and the program exits")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return 2
	}
	if err := cfg.validate(); err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	if est := cfg.estimate(); *limit < est {
		fmt.Fprintf(stderr, "bench: -limit %v is shorter than the run is expected to take (%v)\n", *limit, est.Round(time.Second))
		return 2
	}

	r := newReaper()
	prog := newProgress(stderr)
	defer prog.close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	// Past the limit, or 20s after a signal if the run has not wound down
	// by then, stop every child and exit.
	hard := func(why string) {
		prog.printf("%s: stopping the servers and exiting", why)
		r.stopAll()
		os.Exit(1)
	}
	limiter := time.AfterFunc(*limit, func() { hard(fmt.Sprintf("the run exceeded -limit %v", *limit)) })
	defer limiter.Stop()
	go func() {
		<-ctx.Done()
		if errors.Is(ctx.Err(), context.Canceled) {
			time.AfterFunc(20*time.Second, func() { hard("still running 20s after the signal") })
		}
	}()

	prog.printf("expected to take about %v (-limit %v)", cfg.estimate().Round(10*time.Second), *limit)
	res, err := run(ctx, cfg, r, prog)
	if err != nil {
		if ctx.Err() != nil {
			prog.printf("interrupted; servers stopped")
			return 130
		}
		prog.printf("failed: %v", err)
		return 1
	}
	prog.printf("done; servers stopped")
	writeReport(stdout, res, commandLine(args))
	return 0
}

// validate checks the flags' values.
func (c config) validate() error {
	switch {
	case c.reps < 1 || c.reps > 50:
		return fmt.Errorf("-reps %d: want 1 to 50 (3 or more for a median to mean something)", c.reps)
	case c.duration < 100*time.Millisecond || c.duration > 5*time.Minute:
		return fmt.Errorf("-duration %v: want 100ms to 5m", c.duration)
	case c.allocPairs < 10 || c.allocPairs > 1_000_000:
		return fmt.Errorf("-pairs %d: want 10 to 1000000", c.allocPairs)
	}
	return nil
}

// estimate is about how long a run with c takes on a quiet machine.
func (c config) estimate() time.Duration {
	timed := time.Duration(c.reps) * (4 + 3 + 2 + 2 + 2) * c.duration
	thaws := time.Duration(2*c.reps) * time.Second
	allocs := time.Duration(3*c.reps*c.allocPairs) * 500 * time.Microsecond
	return defaultQuarantine + 5*time.Second + timed + thaws + allocs
}

// commandLine is how to repeat this run.
func commandLine(args []string) string {
	return strings.TrimSpace("cd bench && go run . " + strings.Join(args, " "))
}
