package redlock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/quorumlock/quorumlock/redlock/observe"
)

// A Risk is a way in which a node, or a client's set of nodes, breaks an
// assumption Redlock rests on. Nodes are vetted from their INFO on first
// contact, and again after each restart.
type Risk int

const (
	// RiskEviction: the node's maxmemory-policy is not noeviction, so
	// under memory pressure it may evict lock keys (the volatile-* policies
	// evict keys with a ttl, which lock keys always have). Refused.
	RiskEviction Risk = iota + 1
	// RiskReplica: the node is a replica; its keys follow its master's, and
	// a failover can promote a replica that lacks a key. Refused.
	RiskReplica
	// RiskClusterMode: the node runs in cluster mode, where keys belong to
	// shards that move; each node of a lock must be an independent master.
	// Refused.
	RiskClusterMode
	// RiskDuplicate: two of the client's nodes are the same server (the
	// same run id, however the address is spelled), which counts one vote
	// twice. The later one is refused.
	RiskDuplicate
	// RiskNoPersistence: the node has no append-only file, so a restart can
	// forget keys. With a quarantine (the default) this is a warning: the
	// quarantine covers it. With [WithQuarantine](0), or for locks with
	// [WithFencing], whose counters must survive restarts, it is refused.
	RiskNoPersistence
	// RiskEvenNodes: the client has an even number of nodes, which tolerates
	// no more failures than one node fewer. A warning.
	RiskEvenNodes
	// RiskUnprobed: the node refuses INFO (an ACL) or does not report its
	// uptime, so it can be neither vetted nor quarantined. Refused while a
	// quarantine is on; a warning with WithQuarantine(0).
	RiskUnprobed
	// RiskNoNotify: the node's Redis user may not publish or subscribe on
	// the waiters' channels (an ACL without them; see [Reserved]), so
	// waiters are neither told of releases there nor handed locks, and
	// find a released lock when they try again, within half a second. Locks
	// and releases work as before. A warning.
	RiskNoNotify
)

var riskNames = map[Risk]string{
	RiskEviction:      "eviction",
	RiskReplica:       "replica",
	RiskClusterMode:   "cluster-mode",
	RiskDuplicate:     "duplicate",
	RiskNoPersistence: "no-persistence",
	RiskEvenNodes:     "even-nodes",
	RiskUnprobed:      "unprobed",
	RiskNoNotify:      "no-notify",
}

// String returns the risk's short name, e.g. "eviction".
func (r Risk) String() string {
	if s, ok := riskNames[r]; ok {
		return s
	}
	return fmt.Sprintf("Risk(%d)", int(r))
}

// refuses reports whether r makes a node's grants not count, when not
// accepted, under a quarantine of q, for locks with fencing or without.
func (r Risk) refuses(q time.Duration, fencing bool) bool {
	switch r {
	case RiskEviction, RiskReplica, RiskClusterMode, RiskDuplicate:
		return true
	case RiskNoPersistence:
		return q == 0 || fencing
	case RiskUnprobed:
		return q > 0
	}
	return false
}

// A Finding is one risk found on a node, or on the client's set of nodes.
type Finding struct {
	Node    string // the node's name; empty for a finding about the set of nodes
	Risk    Risk
	Detail  string // what was seen, e.g. "maxmemory-policy allkeys-lru"
	Refused bool   // the node's grants do not count (the risk is not accepted)
}

// String describes the finding on one line.
func (f Finding) String() string {
	verdict := "warning"
	if f.Refused {
		verdict = "refused"
	}
	where := "nodes"
	if f.Node != "" {
		where = "node " + f.Node
	}
	return fmt.Sprintf("%s: %s: %s (%s)", where, f.Risk, f.Detail, verdict)
}

// Vet reads INFO from every node now, and tries whether the client may
// publish and subscribe on the waiters' channels there, each node bounded
// by the node timeout, and returns what it finds, in node order, findings
// about the set of nodes last. A node that cannot be read at all is a finding of RiskUnprobed with
// the cause. Nothing found means every node is sound. Vet's findings are
// the ones that also decide, on each grant, whether a node's vote counts;
// [WithAcceptRisks] accepts some. A nil ctx is an error wrapping
// [ErrInvalidArgument]; one that ends first returns its cause.
func (c *Client) Vet(ctx context.Context) ([]Finding, error) {
	if ctx == nil {
		return nil, invalid("nil context")
	}
	r, oc := c.everyNode(ctx, c.cfg.nodeTimeout, func(ctx context.Context, _ int, n *Node) error {
		_, _, err := c.call(ctx, n, command{op: observe.OpInfo})
		return errors.Join(err, c.probeRights(ctx, n))
	})
	for range r.Outcomes() {
	}
	oc.cancel()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("redlock: vetting the nodes: %w", context.Cause(ctx))
	}
	var out []Finding
	for i := range c.nodes {
		out = append(out, c.findings(i, c.cfg.fencing)...)
	}
	if len(c.nodes)%2 == 0 {
		out = append(out, c.finding("", RiskEvenNodes, fmt.Sprintf("%d nodes: a quorum of %d tolerates %d failures, as %d nodes would",
			len(c.nodes), c.quorum, len(c.nodes)-c.quorum, len(c.nodes)-1), c.cfg.fencing))
	}
	return out, nil
}

// findings returns what node i's last probe tells, for locks with fencing
// or without.
func (c *Client) findings(i int, fencing bool) []Finding {
	n := c.nodes[i]
	st := n.state()
	var out []Finding
	add := func(r Risk, detail string) { out = append(out, c.finding(n.name, r, detail, fencing)) }
	switch {
	case st.denied:
		add(RiskUnprobed, fmt.Sprintf("INFO: %v", st.err))
		return out
	case !st.probed && st.err != nil:
		add(RiskUnprobed, fmt.Sprintf("INFO could not be read: %v", st.err))
		return out
	case !st.probed:
		return out
	}
	in := st.info
	if in.policy != "" && in.policy != "noeviction" {
		add(RiskEviction, "maxmemory-policy "+in.policy)
	}
	if in.role != "" && in.role != "master" {
		add(RiskReplica, "role "+in.role)
	}
	if in.cluster {
		add(RiskClusterMode, "cluster_enabled 1")
	}
	if !in.aof {
		add(RiskNoPersistence, "appendonly no")
	}
	if st.notifyErr != nil {
		add(RiskNoNotify, st.notifyErr.Error())
	}
	if in.runID != "" {
		for j := range i {
			if other := c.nodes[j].state(); other.probed && other.info.runID == in.runID {
				add(RiskDuplicate, "the same server as node "+c.nodes[j].name)
				break
			}
		}
	}
	return out
}

func (c *Client) finding(node string, r Risk, detail string, fencing bool) Finding {
	return Finding{Node: node, Risk: r, Detail: detail, Refused: r.refuses(c.cfg.quarantine, fencing) && !c.cfg.accepts(r)}
}

// admit decides whether a grant that node i made, by a command sent at
// sent (sentC on the client's clock), counts: the node is vetted, and out of quarantine (see
// [Client.quarantined]) when the command was sent (the grant ran later, so
// this is on the safe side). It probes the node first if the node is
// suspect, or still in quarantine by its uptime, so that the probe follows
// the grant.
func (c *Client) admit(ctx context.Context, i int, cfg *config, sent, sentC time.Time) error {
	n := c.nodes[i]
	q := c.cfg.quarantine
	st := n.state()
	if st.suspect || (q > 0 && !st.denied && sent.Sub(st.upAt) < q) {
		_, _, _ = c.call(ctx, n, command{op: observe.OpInfo}) // its outcome is in the node's state
		st = n.state()
	}
	if st.suspect {
		return fmt.Errorf("%w: %w", errSuspect, errOrNone(st.err))
	}
	if !st.probing && st.stale() {
		c.revet(n)
	}
	if err := c.refusal(i, cfg.fencing); err != nil {
		return err
	}
	return c.quarantined(n, i, st, sent, sentC)
}

// quarantined returns why a grant of node n, in the state st, by a command
// sent at sent (on the real clock, to compare with the server's uptime)
// and at sentC on the client's clock, does not count under the client's
// quarantine, or nil. It does not count if the client noticed, less than
// the quarantine before sentC, that the node had seen its server's
// incarnation change (the client notices no earlier than the node saw it,
// which is no earlier than the restart); or if, unless INFO is refused,
// the server's uptime at sent, by its own clock, was shorter than the
// quarantine.
func (c *Client) quarantined(n *Node, i int, st nodeState, sent, sentC time.Time) error {
	q := c.cfg.quarantine
	if q == 0 {
		return nil
	}
	if at := c.restartNoticed(i, st.restarts); !at.IsZero() {
		if since := sentC.Sub(at); since < q {
			c.logQuarantine(n, since, q)
			return &quarantineError{up: since, need: q, seen: true}
		}
	}
	if !st.denied {
		if up := sent.Sub(st.upAt); up < q {
			c.logQuarantine(n, up, q)
			return &quarantineError{up: up, need: q}
		}
	}
	return nil
}

// restartNoticed returns when, on the client's clock, the client first
// noticed node i's latest restart, given that the node has seen restarts
// of its server so far; the zero time if it has seen none.
func (c *Client) restartNoticed(i int, restarts uint64) time.Time {
	if restarts == 0 {
		return time.Time{}
	}
	c.vetMu.Lock()
	defer c.vetMu.Unlock()
	r := &c.restarts[i]
	if r.count != restarts {
		r.count, r.at = restarts, c.cfg.clock.Now()
	}
	return r.at
}

// A restartSeen is the latest restart of a node's server that a client
// noticed, and when.
type restartSeen struct {
	count uint64
	at    time.Time
}

// revet is how often a node in use is vetted again, so that a setting
// changed at run time (CONFIG SET maxmemory-policy, REPLICAOF) is noticed.
var revet = time.Minute

// stale reports whether the node was last probed longer than revet ago.
func (st nodeState) stale() bool { return time.Since(st.probedAt) > revet }

// revet reads n's INFO again in the background, within the node timeout;
// grants meanwhile are judged by what the node last said.
func (c *Client) revet(n *Node) {
	c.bg.goDo(func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.nodeTimeout)
		defer cancel()
		_, _, _ = c.call(ctx, n, command{op: observe.OpInfo})
	})
}

// refusal returns why node i's grants do not count, for locks with fencing
// or without, from its findings, or nil. The verdicts are kept until some
// node is probed again.
func (c *Client) refusal(i int, fencing bool) error {
	seq := probeSeq.Load()
	k := 2 * i
	if fencing {
		k++
	}
	c.vetMu.Lock()
	v := c.vetted[k]
	c.vetMu.Unlock()
	if v.known && v.seq == seq {
		return v.err
	}
	var err error
	for _, f := range c.findings(i, fencing) {
		c.logFinding(f)
		if f.Refused && err == nil {
			err = fmt.Errorf("refused (%s: %s); see WithAcceptRisks", f.Risk, f.Detail)
		}
	}
	c.vetMu.Lock()
	c.vetted[k] = nodeVerdict{known: true, seq: seq, err: err}
	c.vetMu.Unlock()
	return err
}

// A nodeVerdict is a client's judgement of one node's findings.
type nodeVerdict struct {
	known bool
	seq   uint64 // probeSeq when judged
	err   error
}

// logFinding logs each finding once per node and risk.
func (c *Client) logFinding(f Finding) {
	if c.cfg.logger == nil {
		return
	}
	if _, seen := c.logged.LoadOrStore(f.Node+"/"+f.Risk.String(), true); seen {
		return
	}
	level := slog.LevelWarn
	if f.Refused {
		level = slog.LevelError
	}
	c.cfg.logger.Log(context.Background(), level, "redlock: node vetting",
		slog.String("node", f.Node), slog.String("risk", f.Risk.String()),
		slog.String("detail", f.Detail), slog.Bool("refused", f.Refused))
}

func (c *Client) logQuarantine(n *Node, up, q time.Duration) {
	if c.cfg.logger == nil {
		return
	}
	if _, seen := c.logged.LoadOrStore(n.name+"/quarantine/"+n.state().upAt.String(), true); seen {
		return
	}
	c.cfg.logger.Warn("redlock: node in quarantine after a restart",
		slog.String("node", n.name), slog.Duration("up", up), slog.Duration("quarantine", q))
}
