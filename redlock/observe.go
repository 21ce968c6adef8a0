package redlock

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/quorumlock/quorumlock/redlock/observe"
)

// What a client reports to its logger (WithLogger) and its metrics
// (WithMetrics) is decided here, one function per event. With neither set,
// each costs a nil check: no clock reading, no formatting, no allocation.
// Records carry lock names, fingerprints, node names and durations; never a
// token (the fingerprint stands for it) and never a password (nodes are
// named by Node.Addr, host:port for URL nodes).

// observed reports whether the client reports anything.
func (c *Client) observed() bool { return c.cfg.logger != nil || c.cfg.metrics != nil }

// logs reports whether cfg's logger takes records of level.
func logs(ctx context.Context, cfg *config, level slog.Level) bool {
	return cfg.logger != nil && cfg.logger.Enabled(ctx, level)
}

// nodeStart returns when a command to a node is sent, or the zero time if
// nobody would be told.
func (c *Client) nodeStart() time.Time {
	if !c.observed() {
		return time.Time{}
	}
	return time.Now()
}

// nodeDone reports a command op to n, sent at start (see nodeStart), that
// returned err: its latency, and its failure unless err is an answer.
func (c *Client) nodeDone(ctx context.Context, n *Node, op observe.Op, start time.Time, err error) {
	if start.IsZero() {
		return
	}
	took := time.Since(start)
	m := c.cfg.metrics
	if m != nil && m.NodeLatency != nil {
		m.NodeLatency(ctx, n.name, op, took)
	}
	if err == nil || isAnswer(err) {
		return
	}
	class := classify(err)
	if m != nil && m.NodeError != nil {
		m.NodeError(ctx, n.name, op, class)
	}
	if logs(ctx, &c.cfg, slog.LevelDebug) {
		var ne *NodeError
		if errors.As(err, &ne) {
			err = ne.Err // the record names the node
		}
		c.cfg.logger.LogAttrs(ctx, slog.LevelDebug, "redlock: node command failed",
			slog.String("node", n.name), slog.String("op", op.String()), slog.String("class", class.String()),
			slog.Duration("took", took), slog.String("error", err.Error()))
	}
}

// isAnswer reports whether err is a node's answer rather than a failure.
func isAnswer(err error) bool {
	return errors.Is(err, errHeldElsewhere) || errors.Is(err, errQueued) || errors.Is(err, errNotOwner) ||
		errors.Is(err, errKeyGone) || errors.Is(err, errUnconfirmed)
}

// classify sorts a node's failure.
func classify(err error) observe.ErrorClass {
	if errors.Is(err, ErrAuth) || redisClass(err) == classAuth {
		return observe.ErrorClassAuth
	}
	var t interface{ Timeout() bool }
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &t) && t.Timeout():
		return observe.ErrorClassTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return observe.ErrorClassRefused
	}
	return observe.ErrorClassOther
}

// attempted reports an acquisition attempt of the lock name that returned
// err, having found b, and returns its outcome.
func (c *Client) attempted(ctx context.Context, name string, err error, b busy) observe.AttemptOutcome {
	o := observe.AttemptFailed
	switch {
	case err == nil:
		o = observe.AttemptGranted
	case b.held:
		o = observe.AttemptBusy
	}
	if m := c.cfg.metrics; m != nil && m.Attempt != nil {
		m.Attempt(ctx, name, o)
	}
	return o
}

// obtained reports the end of an acquisition of the lock name, begun at
// start on cfg's clock, after tries attempts, the last of which ended as
// last: l if it was acquired, else err.
func (c *Client) obtained(ctx context.Context, cfg *config, name string, l *Lock, err error, tries int, last observe.AttemptOutcome, start time.Time) {
	wait := cfg.clock.Since(start)
	if m := c.cfg.metrics; m != nil && m.Acquire != nil {
		m.Acquire(ctx, name, l != nil, tries, wait)
	}
	if l != nil {
		if logs(ctx, cfg, slog.LevelDebug) {
			cfg.logger.LogAttrs(ctx, slog.LevelDebug, "redlock: lock acquired",
				slog.String("lock", name), slog.String("fingerprint", l.Fingerprint()), slog.Int("attempts", tries),
				slog.Duration("wait", wait), slog.Duration("validity", l.Until().Sub(cfg.clock.Now())),
				slog.Uint64("fence", l.fence))
		}
		return
	}
	level := slog.LevelDebug // a single attempt failing is routine
	if tries > 1 {
		level = slog.LevelInfo
	}
	if logs(ctx, cfg, level) {
		reason := "context ended"
		if tries > 0 {
			reason = last.String()
		}
		cfg.logger.LogAttrs(ctx, level, "redlock: lock not obtained",
			slog.String("lock", name), slog.Int("attempts", tries), slog.Duration("wait", wait),
			slog.String("reason", reason), slog.String("error", err.Error()))
	}
}

// extendDone reports an extension of l that took took and ended as o,
// returning err.
func (l *Lock) extendDone(ctx context.Context, o observe.Outcome, took time.Duration, err error) {
	if m := l.cfg.metrics; m != nil && m.Extend != nil {
		m.Extend(ctx, l.name, o)
	}
	switch {
	case o == observe.OutcomeOK && logs(ctx, &l.cfg, slog.LevelDebug):
		l.cfg.logger.LogAttrs(ctx, slog.LevelDebug, "redlock: lock extended",
			slog.String("lock", l.name), slog.String("fingerprint", l.Fingerprint()),
			slog.Duration("took", took), slog.Duration("validity", l.Until().Sub(l.cfg.clock.Now())))
	case o == observe.OutcomeUnknown && logs(ctx, &l.cfg, slog.LevelDebug):
		l.cfg.logger.LogAttrs(ctx, slog.LevelDebug, "redlock: lock extension unconfirmed",
			slog.String("lock", l.name), slog.String("fingerprint", l.Fingerprint()),
			slog.Duration("took", took), slog.String("error", err.Error()))
	}
	// A lost extension is told by lostNow.
}

// lostNow reports that l was just lost, for cause, with err wrapping
// ErrLost.
func (l *Lock) lostNow(ctx context.Context, cause observe.LossCause, err error) {
	if m := l.cfg.metrics; m != nil && m.Lost != nil {
		m.Lost(ctx, l.name, cause)
	}
	if logs(ctx, &l.cfg, slog.LevelWarn) {
		l.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "redlock: lock lost",
			slog.String("lock", l.name), slog.String("fingerprint", l.Fingerprint()),
			slog.String("cause", cause.String()), slog.String("error", err.Error()))
	}
}

// released reports a release of l that ended as o, and returns err.
func (l *Lock) released(ctx context.Context, o observe.Outcome, err error) error {
	if m := l.cfg.metrics; m != nil && m.Release != nil {
		m.Release(ctx, l.name, o)
	}
	level, msg := slog.LevelDebug, "redlock: lock released"
	switch o {
	case observe.OutcomeLost:
		level, msg = slog.LevelWarn, "redlock: lock not held at release"
	case observe.OutcomeUnknown:
		level, msg = slog.LevelWarn, "redlock: lock release unconfirmed"
	}
	if logs(ctx, &l.cfg, level) {
		attrs := [3]slog.Attr{slog.String("lock", l.name), slog.String("fingerprint", l.Fingerprint())}
		n := 2
		if err != nil {
			attrs[n], n = slog.String("error", err.Error()), n+1
		}
		l.cfg.logger.LogAttrs(ctx, level, msg, attrs[:n]...)
	}
	return err
}

// heldTooLong reports that a hold of l reached its bound (WithMaxHold).
func (l *Lock) heldTooLong(ctx context.Context) {
	if logs(ctx, &l.cfg, slog.LevelInfo) {
		l.cfg.logger.LogAttrs(ctx, slog.LevelInfo, "redlock: hold reached its max hold; renewal stops",
			slog.String("lock", l.name), slog.String("fingerprint", l.Fingerprint()),
			slog.Duration("max_hold", l.cfg.maxHold))
	}
}
