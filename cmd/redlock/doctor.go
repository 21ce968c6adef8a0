package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quorumlock/quorumlock/redlock"
)

const doctorHelp = `Usage: redlock doctor [flags]

Vets the nodes as the library does before it counts their votes: reads
INFO from every node and prints, per node, "sound" or each finding, then
the findings about the set of nodes. The risks:

  eviction        maxmemory-policy is not noeviction: lock keys may be evicted
  replica         the node is a replica, whose keys follow a master's
  cluster-mode    the node runs in cluster mode; each node must be a master
  duplicate       two URLs lead to one server, which would vote twice
  no-persistence  no append-only file: a restart can forget keys
  unprobed        INFO is refused (an ACL) or reports no uptime
  even-nodes      an even number of nodes tolerates no more failures than
                  one node fewer

A finding marked "refused" makes the node's grants not count; a "warning"
does not. A node that restarted less than a ttl ago is also kept out of the
vote for a while (the restart quarantine), which doctor does not show.

Flags:
{{flags}}
Exit status: 0 if every node is sound (no finding at all); 1 if there are
findings; 69 if a node could not be read; 77 if a node refused the
credentials; 64 for a usage error, or a database number the servers cannot
select; 70 for an unexpected failure.
`

// doctorOptions are the flags of redlock doctor.
type doctorOptions struct {
	nodes nodeFlags
	ttl   time.Duration
	fence bool
}

// doctorFlags returns the flag set of redlock doctor and the options it
// fills.
func doctorFlags() (*flagSet, *doctorOptions) {
	fs, o := newFlagSet("doctor"), &doctorOptions{}
	o.nodes.register(fs)
	fs.DurationVar(&o.ttl, "ttl", 10*time.Second, "the ttl the locks use, which sets the quarantine and the\ndefault node timeout")
	fs.BoolVar(&o.fence, "fence", false, "vet as for run --fence: nodes without an append-only file are\nrefused")
	return fs, o
}

// doctorProbe is the lock name doctor reads, without changing it, to tell
// unreachable nodes from nodes that refuse the credentials.
const doctorProbe = "redlock-doctor"

func cmdDoctor(args []string, sio stdio) int {
	fs, o := doctorFlags()
	if status, ok := parse(fs, args, doctorHelp, sio); !ok {
		return status
	}
	if fs.NArg() > 0 {
		return usageError(sio, fs, "unexpected arguments %q", fs.Args())
	}
	opts := []redlock.ClientOption{redlock.WithTTL(o.ttl)}
	if o.fence {
		opts = append(opts, redlock.WithFencing())
	}
	client, closeClient, status := connect(fs, &o.nodes, sio, opts...)
	if client == nil {
		return status
	}
	defer closeClient()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	findings, err := client.Vet(ctx)
	if err != nil {
		fmt.Fprintf(sio.err, "redlock doctor: %v\n", err)
		return exitSoftware
	}
	st, err := client.Status(ctx, doctorProbe)
	if err != nil {
		fmt.Fprintf(sio.err, "redlock doctor: %v\n", err)
		return exitSoftware
	}
	return writeDoctor(sio, st, findings)
}

// writeDoctor prints one line per node and one per finding about the set
// of nodes, and a summary, and returns the exit status. st tells which
// nodes could be read; findings are Vet's.
func writeDoctor(sio stdio, st *redlock.Status, findings []redlock.Finding) int {
	tw := tabwriter.NewWriter(sio.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tVERDICT")
	var sound, found, invalid, auth, down int
	for _, ns := range st.Nodes {
		var mine []string
		for _, f := range findings {
			if f.Node == ns.Addr {
				mine = append(mine, findingText(f))
			}
		}
		verdict := "sound"
		switch {
		case errors.Is(ns.Err, redlock.ErrInvalidArgument):
			verdict, invalid = "cannot select the database of its URL: "+nodeError(ns.Err), invalid+1
		case errors.Is(ns.Err, redlock.ErrAuth):
			verdict, auth = "auth refused: "+nodeError(ns.Err), auth+1
		case ns.Err != nil:
			verdict, down = "unreachable: "+nodeError(ns.Err), down+1
		case len(mine) > 0:
			verdict, found = strings.Join(mine, "; "), found+len(mine)
		default:
			sound++
		}
		fmt.Fprintf(tw, "%s\t%s\n", ns.Addr, verdict)
	}
	for _, f := range findings {
		if f.Node == "" {
			fmt.Fprintf(tw, "(all nodes)\t%s\n", findingText(f))
			found++
		}
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintf(sio.err, "redlock doctor: %v\n", err)
		return exitSoftware
	}
	fmt.Fprintf(sio.out, "%d of %d nodes sound; %s, %d unreachable, %d refused the credentials\n",
		sound, len(st.Nodes), plural(found, "finding", "findings"), down, auth)
	switch {
	case invalid > 0:
		fmt.Fprintf(sio.err, "redlock doctor: a node cannot select the database its URL names\nRun 'redlock doctor --help' for usage.\n")
		return exitUsage
	case auth > 0:
		fmt.Fprintf(sio.err, "redlock doctor: check the user and password of the node URLs, and the user's ACL\n")
		return exitNoPerm
	case down > 0:
		return exitUnavailable
	case found > 0:
		return exitFalse
	}
	return exitOK
}

// findingText is a finding without its node, which the line names.
func findingText(f redlock.Finding) string {
	verdict := "warning"
	if f.Refused {
		verdict = "refused"
	}
	return fmt.Sprintf("%s: %s (%s)", f.Risk, f.Detail, verdict)
}
