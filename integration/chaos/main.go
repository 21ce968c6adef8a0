// Command chaos runs quorumlock against the five-node compose cluster while a
// nemesis injects faults, records every grant and what its holder did in
// one history (internal/history) and judges it.
//
// In-model runs (-profile short or long) inject only faults Redlock's
// model allows, at most two of the five nodes at a time, each healed after
// a bounded time: pauses, kills and restarts with the durable
// configuration, partitions, latency, connection resets, CLIENT KILL
// storms and slow clock drift. Many clients, each with its own nodes
// through an in-process toxiproxy, contend for a few lock names and
// increment a counter under them with a read, a sleep and a write. Any
// violation the history checker finds fails the run.
//
// Out-of-model runs (-fault NAME) break one of Redlock's assumptions on
// purpose (restart-without-persistence, eviction, third-party-del,
// clock-step, paused-holder), once unprotected and once with the
// protection the library offers against it (fencing tokens or the restart
// quarantine). They are expected to show violations: the run states the
// outcome it expects of each phase and succeeds when it sees it.
//
// The seed (-seed) decides the fault schedule and every client's choices;
// the library's own randomness (tokens, retry jitter) and the machine's
// timing are not seeded, so two runs with one seed inject the same faults
// at the same offsets but interleave differently.
//
// Exit status: 0 as expected, 1 violations (in-model) or an outcome other
// than the expected one (out-of-model), 2 bad flags, 3 the run could not
// be carried out (cluster unreachable, a fault that could not be injected
// or healed, too few grants to judge).
//
// The cluster is the one scripts/cluster.sh starts, chosen by
// COMPOSE_PROJECT_NAME and REDLOCK_CLUSTER_PORT_BASE. Progress goes to
// stderr at least every 20 seconds, the summary to stdout.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Exit statuses.
const (
	exitOK        = 0
	exitViolation = 1
	exitUsage     = 2
	exitFailed    = 3
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the program with args, writing the summary to stdout and
// progress to stderr, and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "chaos: %v\n", err)
		return exitUsage
	}
	if cfg.Holder {
		return runHolder(cfg.HolderArg, os.Stdin, stdout, stderr)
	}
	lg := newLogger(stderr, cfg.Quiet)
	c, err := findCluster()
	if err != nil {
		fmt.Fprintf(stderr, "chaos: the cluster is unusable: %v\nchaos: start it with scripts/cluster.sh up\n", err)
		return exitFailed
	}
	// Past the hard bound, whatever hangs, or on SIGINT or SIGTERM: heal
	// what can be healed and give up.
	giveUp := func(why string) {
		lg.printf("%s: healing the cluster and giving up", why)
		if err := c.heal(lg.printf); err != nil {
			lg.printf("healing: %v", err)
		}
		os.Exit(exitFailed)
	}
	watchdog := time.AfterFunc(cfg.Limit, func() { giveUp(fmt.Sprintf("the run exceeded -limit %v", cfg.Limit)) })
	defer watchdog.Stop()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() { // ends with the process
		if sig, ok := <-sigs; ok {
			giveUp(fmt.Sprintf("interrupted by %v", sig))
		}
	}()
	var rec *record
	if cfg.Fault != "" {
		rec = runOutOfModel(cfg, c, lg)
	} else {
		rec = runInModel(cfg, c, lg)
	}
	rec.print(stdout)
	if cfg.JSON != "" {
		if err := rec.write(cfg.JSON); err != nil {
			fmt.Fprintf(stderr, "chaos: writing the record: %v\n", err)
			return exitFailed
		}
		fmt.Fprintf(stdout, "record: %s\n", cfg.JSON)
	}
	return rec.Exit
}
