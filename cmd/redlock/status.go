package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quorumlock/quorumlock/redlock"
)

const statusHelp = `Usage: redlock status [flags] NAME

Reads the lock NAME on every node, without changing it, and prints for each
node whether it answered, whether it holds NAME, a short fingerprint of the
owner's token (never the token itself) and the time left to live; then the
verdict: held (one owner on a quorum of nodes), free (a quorum has no key),
split (neither, e.g. while an attempt is undone or keys expire) or unknown
(fewer than a quorum of nodes answered). A node that refused the
credentials shows "auth refused", not "no".

Flags:
{{flags}}
Exit status: 0 if the lock is held by a quorum; 1 if it is free; 3 if
split; 69 if fewer than a quorum of nodes could be read; 77 if a node
refused the credentials; 64 for a usage error, or a database number the
servers cannot select; 70 for an unexpected failure.
`

// statusOptions are the flags of redlock status.
type statusOptions struct {
	nodes  nodeFlags
	asJSON bool
}

// statusFlags returns the flag set of redlock status and the options it
// fills.
func statusFlags() (*flagSet, *statusOptions) {
	fs, o := newFlagSet("status"), &statusOptions{}
	o.nodes.register(fs)
	fs.BoolVar(&o.asJSON, "json", false, "print the status as one JSON object")
	return fs, o
}

func cmdStatus(args []string, sio stdio) int {
	fs, o := statusFlags()
	if status, ok := parse(fs, args, statusHelp, sio); !ok {
		return status
	}
	switch {
	case fs.NArg() == 0:
		return usageError(sio, fs, "no lock NAME given")
	case fs.NArg() > 1:
		return usageError(sio, fs, "one lock NAME expected, got %q (flags go before NAME)", fs.Args())
	case fs.Arg(0) == "":
		return usageError(sio, fs, "the lock NAME is empty")
	}
	client, closeClient, status := connect(fs, &o.nodes, sio)
	if client == nil {
		return status
	}
	defer closeClient()

	// Status waits for every node's answer or its node timeout, so it
	// returns on its own; the deadline only guards against the unexpected.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := client.Status(ctx, fs.Arg(0))
	switch {
	case errors.Is(err, redlock.ErrInvalidArgument):
		return usageError(sio, fs, "%v", err)
	case err != nil:
		fmt.Fprintf(sio.err, "redlock status: %v\n", err)
		return exitSoftware
	}
	if o.asJSON {
		err = writeStatusJSON(sio.out, st)
	} else {
		err = writeStatus(sio.out, st)
	}
	if err != nil {
		fmt.Fprintf(sio.err, "redlock status: %v\n", err)
		return exitSoftware
	}
	return statusExit(st, sio)
}

// statusExit is the exit status that tells st, after saying on stderr
// what the verdict alone does not: nodes that refused the credentials or
// the database, or too few answers.
func statusExit(st *redlock.Status, sio stdio) int {
	var auth, invalid []string
	for _, ns := range st.Nodes {
		switch {
		case errors.Is(ns.Err, redlock.ErrInvalidArgument):
			invalid = append(invalid, ns.Addr)
		case errors.Is(ns.Err, redlock.ErrAuth):
			auth = append(auth, ns.Addr)
		}
	}
	switch {
	case len(invalid) > 0:
		fmt.Fprintf(sio.err, "redlock status: the server cannot select the database the node URL names, on %s: %s\n"+
			"Run 'redlock status --help' for usage.\n", plural(len(invalid), "node", "nodes"), strings.Join(invalid, ", "))
		return exitUsage
	case len(auth) > 0:
		fmt.Fprintf(sio.err, "redlock status: the credentials or a command were refused, on %s: %s; "+
			"check the user and password of the node URLs, and the user's ACL\n", plural(len(auth), "node", "nodes"), strings.Join(auth, ", "))
		return exitNoPerm
	}
	switch st.Verdict {
	case redlock.VerdictHeld:
		return exitOK
	case redlock.VerdictFree:
		return exitFalse
	case redlock.VerdictSplit:
		return exitSplit
	}
	fmt.Fprintf(sio.err, "redlock status: only %d of %d nodes answered, %d needed for a verdict\n",
		answered(st), len(st.Nodes), st.Quorum)
	return exitUnavailable
}

// plural is n and the word for it.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func answered(st *redlock.Status) int {
	n := 0
	for _, ns := range st.Nodes {
		if ns.Err == nil {
			n++
		}
	}
	return n
}

// writeStatus prints st as a table and a verdict line.
func writeStatus(w io.Writer, st *redlock.Status) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := "NODE\tREACHABLE\tHELD\tOWNER\tTTL"
	for _, ns := range st.Nodes {
		if ns.Err != nil { // unreachable rows carry the reason in a sixth column
			header += "\tERROR"
			break
		}
	}
	fmt.Fprintln(tw, header)
	for _, ns := range st.Nodes {
		switch {
		case errors.Is(ns.Err, redlock.ErrAuth):
			fmt.Fprintf(tw, "%s\tauth refused\t-\t-\t-\t%s\n", ns.Addr, nodeError(ns.Err))
		case ns.Err != nil:
			fmt.Fprintf(tw, "%s\tno\t-\t-\t-\t%s\n", ns.Addr, nodeError(ns.Err))
		case !ns.Held:
			fmt.Fprintf(tw, "%s\tyes\tno\t-\t-\n", ns.Addr)
		default:
			fmt.Fprintf(tw, "%s\tyes\tyes\t%s\t%s\n", ns.Addr, ns.Owner, formatTTL(ns.TTL))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, verdictLine(st))
	return err
}

// verdictLine sums st up in one line.
func verdictLine(st *redlock.Status) string {
	n, up := len(st.Nodes), answered(st)
	count := func(pred func(redlock.NodeStatus) bool) int {
		c := 0
		for _, ns := range st.Nodes {
			if ns.Err == nil && pred(ns) {
				c++
			}
		}
		return c
	}
	switch st.Verdict {
	case redlock.VerdictHeld:
		on := count(func(ns redlock.NodeStatus) bool { return ns.Held && ns.Owner == st.Owner })
		return fmt.Sprintf("verdict: held by %s on %d of %d nodes (quorum %d)", st.Owner, on, n, st.Quorum)
	case redlock.VerdictFree:
		free := count(func(ns redlock.NodeStatus) bool { return !ns.Held })
		return fmt.Sprintf("verdict: free on %d of %d nodes (quorum %d)", free, n, st.Quorum)
	case redlock.VerdictSplit:
		return fmt.Sprintf("verdict: split: %d of %d nodes answered, but neither one owner nor absence is on a quorum of %d (it resolves as keys are released or expire)",
			up, n, st.Quorum)
	}
	return fmt.Sprintf("verdict: unknown: %d of %d nodes answered, %d needed", up, n, st.Quorum)
}

// nodeError is what went wrong on a node, without the node's address
// that the table shows already.
func nodeError(err error) string {
	if ne, ok := errors.AsType[*redlock.NodeError](err); ok {
		return ne.Err.Error()
	}
	return err.Error()
}

func formatTTL(d time.Duration) string {
	if d < 0 {
		return "no expiry"
	}
	return d.Round(time.Millisecond).String()
}

type jsonStatus struct {
	Name    string     `json:"name"`
	Key     string     `json:"key"`
	Quorum  int        `json:"quorum"`
	Verdict string     `json:"verdict"`
	Owner   string     `json:"owner,omitempty"`
	Nodes   []jsonNode `json:"nodes"`
}

type jsonNode struct {
	Addr        string `json:"addr"`
	Reachable   bool   `json:"reachable"`
	AuthRefused bool   `json:"auth_refused,omitempty"`
	Error       string `json:"error,omitempty"`
	Held        bool   `json:"held"`
	Owner       string `json:"owner,omitempty"`
	TTLMillis   *int64 `json:"ttl_ms,omitempty"` // -1: no expiry
}

func writeStatusJSON(w io.Writer, st *redlock.Status) error {
	js := jsonStatus{
		Name: st.Name, Key: st.Key, Quorum: st.Quorum,
		Verdict: st.Verdict.String(), Owner: st.Owner,
		Nodes: make([]jsonNode, len(st.Nodes)),
	}
	for i, ns := range st.Nodes {
		jn := jsonNode{Addr: ns.Addr, Reachable: ns.Err == nil, Held: ns.Held, Owner: ns.Owner}
		if ns.Err != nil {
			jn.Error = nodeError(ns.Err)
			jn.AuthRefused = errors.Is(ns.Err, redlock.ErrAuth)
		}
		if ns.Held {
			ms := ns.TTL.Milliseconds()
			if ns.TTL < 0 {
				ms = -1
			}
			jn.TTLMillis = &ms
		}
		js.Nodes[i] = jn
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(js)
}
