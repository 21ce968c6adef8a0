package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/quorumlock/quorumlock/redlock"
)

// nodesEnv names the environment variable read when --nodes is not given.
const nodesEnv = "REDLOCK_NODES"

// newFlagSet returns a flag set for the subcommand name that reports
// nothing itself: parse does.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("redlock "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse parses args into fs. It returns ok to go on; otherwise the exit
// status, after printing the help (for -h or --help, on stdout) or the
// error (on stderr).
func parse(fs *flag.FlagSet, args []string, help string, sio stdio) (status int, ok bool) {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(sio.out, helpText(fs, help))
		return exitOK, false
	}
	return usageError(sio, fs, "%v", err), false
}

// helpText is help with the flag defaults put where it says {{flags}}.
func helpText(fs *flag.FlagSet, help string) string {
	var b strings.Builder
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	// PrintDefaults writes -flag; the help texts say --flag, which works too.
	flags := strings.ReplaceAll("\n"+b.String(), "\n  -", "\n  --")[1:]
	return strings.Replace(help, "{{flags}}", flags, 1)
}

// usageError reports a usage error of fs's command and returns exitUsage.
func usageError(sio stdio, fs *flag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(sio.err, "%s: %s\nRun '%s --help' for usage.\n", fs.Name(), fmt.Sprintf(format, args...), fs.Name())
	return exitUsage
}

// nodeFlags are the flags that say which nodes to use and how.
type nodeFlags struct {
	urls    string
	timeout time.Duration
}

func (n *nodeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&n.urls, "nodes", "", "comma-separated `URLs` of the independent Redis masters,\n"+
		"redis://[[user]:password@]host:port[/db] or rediss://...\n(default $"+nodesEnv+")")
	fs.DurationVar(&n.timeout, "node-timeout", 50*time.Millisecond,
		"bound on each round-trip to a node; keep it small against the ttl")
}

// open returns one node per URL of --nodes, or of $REDLOCK_NODES if the
// flag was not given. Every error is a usage error and never shows a
// password. The caller closes the nodes.
func (n *nodeFlags) open(sio stdio) ([]*redlock.Node, error) {
	list, from := n.urls, "--nodes"
	if list == "" {
		list, from = sio.getenv(nodesEnv), nodesEnv
	}
	if strings.TrimSpace(list) == "" {
		return nil, errors.New("no nodes: give --nodes URL,URL,... or set " + nodesEnv)
	}
	var nodes []*redlock.Node
	for i, u := range strings.Split(list, ",") {
		u = strings.TrimSpace(u)
		if u == "" {
			closeNodes(nodes)
			return nil, fmt.Errorf("%s: URL %d of the list is empty", from, i+1)
		}
		node, err := redlock.ParseURL(u)
		if err != nil {
			closeNodes(nodes)
			return nil, fmt.Errorf("%s: %s", from, describe(err))
		}
		nodes = append(nodes, node)
	}
	return nodes, nil
}

// options are the client options the node flags imply.
func (n *nodeFlags) options() []redlock.Option {
	return []redlock.Option{redlock.WithNodeTimeout(n.timeout)}
}

func closeNodes(nodes []*redlock.Node) {
	for _, n := range nodes {
		_ = n.Close()
	}
}

// connect opens the nodes and a client on them with opts. On failure it
// reports a usage error and returns the exit status; otherwise the caller
// calls the returned close function when done.
func connect(fs *flag.FlagSet, nf *nodeFlags, sio stdio, opts ...redlock.Option) (*redlock.Client, func(), int) {
	nodes, err := nf.open(sio)
	if err != nil {
		return nil, nil, usageError(sio, fs, "%s", describe(err))
	}
	client, err := redlock.New(nodes, append(nf.options(), opts...)...)
	if err != nil {
		closeNodes(nodes)
		return nil, nil, usageError(sio, fs, "%s", describe(err))
	}
	return client, func() {
		_ = client.Close()
		closeNodes(nodes)
	}, 0
}

// describe is err's message without the "redlock: " that the library puts
// first, since the command names itself already.
func describe(err error) string {
	return strings.TrimPrefix(err.Error(), "redlock: ")
}
