package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/quorumlock/quorumlock/redlock"
)

// The environment variables that name the nodes when no flag does.
const (
	nodesEnv     = "REDLOCK_NODES"      // comma-separated URLs
	nodesFileEnv = "REDLOCK_NODES_FILE" // a file of URLs, one per line
)

// maxNodesFile bounds what is read of a nodes file.
const maxNodesFile = 1 << 20

// nodeFlags are the flags that say which nodes to use and how.
type nodeFlags struct {
	list    string
	file    string
	timeout time.Duration
	fs      *flagSet
}

func (n *nodeFlags) register(fs *flagSet) {
	n.fs = fs
	fs.StringVar(&n.list, "nodes", "", "comma-separated `URLs` of the independent Redis masters,\n"+
		"redis://[[user]:password@]host:port[/db] or rediss://...; ps\n"+
		"shows a password here to every user: prefer --nodes-file or\n$"+nodesEnv)
	fs.StringVar(&n.file, "nodes-file", "", "read the node URLs from the file `PATH`, one per line; blank\n"+
		"lines and lines starting with # are skipped (default\n$"+nodesFileEnv+")")
	fs.DurationVar(&n.timeout, "node-timeout", 0,
		"bound on each round-trip to a node (default: a twentieth of the\nttl, at most 1s)")
}

// A nodeSource is where the node URLs come from, for messages.
type nodeSource struct {
	what string // "--nodes", "$REDLOCK_NODES", "--nodes-file PATH", ...
	urls []string
	line []int // for a file: each URL's line number
}

// source reads the node URLs: from --nodes or --nodes-file, else from
// $REDLOCK_NODES or $REDLOCK_NODES_FILE. Two of them at once, on the
// command line or in the environment, are an error.
func (n *nodeFlags) source(sio stdio) (*nodeSource, error) {
	switch {
	case n.list != "" && n.file != "":
		return nil, errors.New("give --nodes or --nodes-file, not both")
	case n.list != "":
		return listSource("--nodes", n.list), nil
	case n.file != "":
		return fileSource("--nodes-file", n.file)
	}
	list, file := sio.getenv(nodesEnv), sio.getenv(nodesFileEnv)
	switch {
	case strings.TrimSpace(list) != "" && file != "":
		return nil, errors.New("both " + nodesEnv + " and " + nodesFileEnv + " are set: unset one")
	case strings.TrimSpace(list) != "":
		return listSource("$"+nodesEnv, list), nil
	case file != "":
		return fileSource("$"+nodesFileEnv, file)
	}
	return nil, errors.New("no nodes: give --nodes-file PATH or --nodes URL,URL,..., or set " +
		nodesFileEnv + " or " + nodesEnv)
}

func listSource(what, list string) *nodeSource {
	return &nodeSource{what: what, urls: splitURLs(list)}
}

// splitURLs splits a list of node URLs at each comma followed by optional
// spaces and redis:// or rediss://, and only there: a password may hold a
// comma, and must not be cut in two (nor shown in part).
func splitURLs(list string) []string {
	var urls []string
	start := 0
	for i := 0; i < len(list); i++ {
		if list[i] != ',' {
			continue
		}
		rest := strings.TrimLeft(list[i+1:], " \t")
		if strings.HasPrefix(rest, "redis://") || strings.HasPrefix(rest, "rediss://") {
			urls = append(urls, strings.TrimSpace(list[start:i]))
			start = i + 1
		}
	}
	return append(urls, strings.TrimSpace(list[start:]))
}

// fileSource reads the URLs of the file at path, named by what.
func fileSource(what, path string) (*nodeSource, error) {
	what += " " + path
	f, err := os.Open(path)
	if pe, ok := errors.AsType[*os.PathError](err); ok {
		err = pe.Err // the path is in what already
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close()
	src := &nodeSource{what: what}
	sc := bufio.NewScanner(io.LimitReader(f, maxNodesFile+1))
	sc.Buffer(nil, maxNodesFile+1)
	read, number := 0, 0
	for sc.Scan() {
		number++
		read += len(sc.Bytes()) + 1
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		src.urls = append(src.urls, line)
		src.line = append(src.line, number)
	}
	switch {
	case sc.Err() != nil || read > maxNodesFile:
		return nil, fmt.Errorf("%s: not a file of node URLs (more than %d bytes, or unreadable)", what, maxNodesFile)
	case len(src.urls) == 0:
		return nil, fmt.Errorf("%s: no node URLs in it", what)
	}
	return src, nil
}

// where names URL i of the source in messages, never by its text.
func (s *nodeSource) where(i int) string {
	if s.line != nil {
		return fmt.Sprintf("%s: line %d", s.what, s.line[i])
	}
	return fmt.Sprintf("%s: URL %d of %d", s.what, i+1, len(s.urls))
}

// open returns one node per URL of the source. The caller closes the
// nodes. Errors never show a password: ParseURL masks it, and the source
// is named by place, not text.
func (s *nodeSource) open() ([]*redlock.Node, error) {
	var nodes []*redlock.Node
	for i, u := range s.urls {
		if u == "" {
			closeNodes(nodes)
			return nil, fmt.Errorf("%s is empty", s.where(i))
		}
		node, err := redlock.ParseURL(strings.TrimRight(u, ", \t"))
		if err == nil && strings.TrimRight(u, ", \t") != u {
			_ = node.Close()
			err = errors.New("it is followed by an empty entry")
		}
		if err != nil {
			closeNodes(nodes)
			return nil, fmt.Errorf("%s: %w", s.where(i), err)
		}
		nodes = append(nodes, node)
	}
	return nodes, nil
}

// hasPassword reports whether a URL of the source carries user
// information, which holds a password or is taken as one. No host has an
// "@", so any "@" starts or ends user information, however malformed.
func (s *nodeSource) hasPassword() bool {
	for _, u := range s.urls {
		if strings.Contains(u, "@") {
			return true
		}
	}
	return false
}

// options are the client options the node flags imply.
func (n *nodeFlags) options() []redlock.ClientOption {
	if n.fs.isSet("node-timeout") {
		return []redlock.ClientOption{redlock.WithNodeTimeout(n.timeout)}
	}
	return nil
}

func closeNodes(nodes []*redlock.Node) {
	for _, n := range nodes {
		_ = n.Close()
	}
}

// connect opens the nodes and a client on them with opts. On failure it
// reports a usage error and returns the exit status; otherwise the caller
// calls the returned close function when done. A password given with
// --nodes draws a warning, since ps shows it to every user.
func connect(fs *flagSet, nf *nodeFlags, sio stdio, opts ...redlock.ClientOption) (*redlock.Client, func(), int) {
	src, err := nf.source(sio)
	if err != nil {
		return nil, nil, usageError(sio, fs, "%v", err)
	}
	if nf.list != "" && src.hasPassword() {
		fmt.Fprintf(sio.err, "%s: warning: --nodes holds a password, which every user of this machine can see "+
			"with ps; use --nodes-file PATH, or %s or %s in the environment\n", fs.Name(), nodesFileEnv, nodesEnv)
	}
	nodes, err := src.open()
	if err != nil {
		return nil, nil, usageError(sio, fs, "%v", err)
	}
	if sio.clock != nil {
		opts = append(opts, redlock.WithClock(sio.clock))
	}
	client, err := redlock.New(nodes, append(nf.options(), opts...)...)
	if err != nil {
		closeNodes(nodes)
		return nil, nil, usageError(sio, fs, "%v", err)
	}
	return client, func() { closeClient(client, nodes) }, 0
}

// closeGrace is how long closeClient waits for the client's background
// work before it closes the nodes under it.
const closeGrace = 250 * time.Millisecond

// closeClient closes the client, then the nodes, as the library says, but
// waits at most closeGrace for the client: [redlock.Client.Close] waits for
// the calls still running on slow nodes, each for up to the node timeout,
// and a node that accepts connections but does not answer would hold the
// command for that long after it is done. The command has its answers by
// then: run has Unlock's verdict, which needs a quorum's answers (or so
// many failures that it cannot have them), and status and doctor waited
// for every node. So, after the grace, closeClient closes the nodes, which
// fails the calls still waiting on them at once, and then waits for the
// client. The grace lets the work the client still has on the nodes that
// answer finish: the releases beyond the quorum, and the undo of a failed
// attempt's keys, which is sent in the background once a node has answered
// the attempt. What closing early costs: a release, extension or undo that
// a node has not answered within the grace is dropped, and if the node had
// not yet received it, the key (or a waiter's place in the lock's queue)
// stays there until its ttl ends, as on a node that is down.
func closeClient(client *redlock.Client, nodes []*redlock.Node) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = client.Close()
	}()
	grace := time.NewTimer(closeGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
	}
	closeNodes(nodes)
	<-done
}
