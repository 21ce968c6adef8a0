package redlock

import (
	cryptorand "crypto/rand"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/quorumlock/quorumlock/clock"
	"github.com/quorumlock/quorumlock/redlock/observe"
)

// An Option configures a single call when given to [Client.Lock],
// [Client.TryLock], [Client.Do], [Client.Status] or a semaphore's calls,
// where it overrides the client's setting for that call only, or a
// client's default for its calls when given to [New]. Each option says
// where it may be given; elsewhere it is an error wrapping
// [ErrInvalidArgument], as is a bad value. The zero Option is invalid.
type Option struct {
	name  string
	scope scope // where the option may be given
	set   func(*config)
}

// A ClientOption configures a [Client]: give it to [New]. Every [Option]
// is one, as the client's default for its calls. The options that make
// sense for a client only ([WithNodeTimeout], [WithClock], [WithRand],
// [WithQuarantine], [WithAcceptRisks], [WithLogger], [WithMetrics]) are
// ClientOptions and not Options, so that giving one to a call does not
// compile.
type ClientOption interface {
	clientOption() Option
}

func (o Option) clientOption() Option { return o }

// clientOnlyOption is an option that only New takes.
type clientOnlyOption Option

func (o clientOnlyOption) clientOption() Option { return Option(o) }

// A scope is a set of the calls that take options.
type scope uint8

const (
	inNew scope = 1 << iota
	inLock
	inTryLock
	inDo
	inStatus

	clientOnly = inNew
	acquiring  = inNew | inLock | inTryLock | inDo // shapes one acquisition and its hold
	waiting    = inNew | inLock | inDo             // shapes the wait for a lock
)

// callName names the single call in s, for messages.
func (s scope) callName() string {
	switch s {
	case inNew:
		return "New"
	case inLock:
		return "Lock"
	case inTryLock:
		return "TryLock"
	case inDo:
		return "Do"
	}
	return "Status"
}

// MaxKeyLen is the longest key, prefix included, that a lock may use.
const MaxKeyLen = 1024

type config struct {
	ttl            time.Duration
	driftFactor    float64
	nodeTimeout    time.Duration // meaningful only if nodeTimeoutSet, until New derives it
	nodeTimeoutSet bool
	retryMin       time.Duration
	retryMax       time.Duration
	retryLimit     int           // meaningful only if limited
	limited        bool          // false: retry until ctx ends
	wait           time.Duration // meaningful only if waitSet
	waitSet        bool          // false: wait as long as ctx allows
	prefix         string
	margin         time.Duration // meaningful only if marginSet
	marginSet      bool          // false: ttl/10
	clock          clock.Clock
	rand           io.Reader

	quarantine    time.Duration // New sets it: WithQuarantine's, or the client's ttl plus drift
	quarantineSet bool
	fencing       bool
	maxHold       time.Duration    // meaningful only if maxHoldSet
	maxHoldSet    bool             // false: no bound
	accepted      uint32           // bit r set: Risk r accepted
	logger        *slog.Logger     // nil: no logs
	metrics       *observe.Metrics // nil: no metrics; never one with no func set
}

func defaultConfig() config {
	return config{
		ttl:         10 * time.Second,
		driftFactor: clock.DefaultDriftFactor,
		retryMin:    50 * time.Millisecond,
		retryMax:    250 * time.Millisecond,
		clock:       clock.Real(),
		rand:        cryptorand.Reader,
	}
}

// WithTTL sets how long a lock lives on each node without [Lock.Extend]. It
// must be a whole number of milliseconds and leave validity after the drift
// allowance and one node timeout. The default is 10s. It may be given to
// New, Lock, TryLock and Do.
func WithTTL(ttl time.Duration) Option {
	return Option{"WithTTL", acquiring, func(c *config) { c.ttl = ttl }}
}

// WithDriftFactor sets the share of the ttl allowed for clock drift between
// the client and the nodes; 2 ms are always added for Redis's expiry
// precision. It must be in [0, 0.5). The default is 0.01. It may be given
// to New, Lock, TryLock and Do.
func WithDriftFactor(f float64) Option {
	return Option{"WithDriftFactor", acquiring, func(c *config) { c.driftFactor = f }}
}

// WithNodeTimeout bounds each round-trip to a node: acquiring, extending,
// releasing and reading status, dialing and handshaking included. It must
// be positive and leave validity after the drift allowance.
//
// The default is a twentieth of the client's ttl, at most 1s: 500ms for the
// default 10s ttl. Rounds return as soon as a quorum has answered, so a slow
// or frozen minority costs nothing whatever the timeout, and on the happy
// path a longer timeout costs nothing either. It matters only when fewer
// than a quorum answer quickly, and there a short one fails calls that would
// have succeeded: on a machine whose cores are busy a 50ms timeout (the top
// of the range the Redlock description suggests for a 10s ttl) failed 1–3%
// of calls at 32 concurrent goroutines, because the client itself was not
// scheduled in time. A round that waits longer spends validity, which
// Redlock accounts for: the lock's validity is measured from the start of
// the round. It may be given to New only.
func WithNodeTimeout(d time.Duration) ClientOption {
	return clientOnlyOption{"WithNodeTimeout", clientOnly, func(c *config) { c.nodeTimeout, c.nodeTimeoutSet = d, true }}
}

// defaultNodeTimeout is the node timeout for a client whose ttl is ttl.
func defaultNodeTimeout(ttl time.Duration) time.Duration {
	return max(min(ttl/20, time.Second).Truncate(time.Millisecond), time.Millisecond)
}

// WithRetryDelay sets the bounds of the random delay between two attempts
// of [Client.Lock], and between retries of a failed renewal in a hold; each
// delay is drawn uniformly from [least, most] so that contending clients do
// not retry in step. It needs 0 < least <= most. The default is 50ms to
// 250ms. It may be given to New, Lock, TryLock (for its hold) and Do.
func WithRetryDelay(least, most time.Duration) Option {
	return Option{"WithRetryDelay", acquiring, func(c *config) { c.retryMin, c.retryMax = least, most }}
}

// WithRetryLimit caps the attempts of [Client.Lock] and [Client.Do] at 1+n;
// n must not be negative. By default they retry until their context ends.
// It may be given to New, Lock and Do.
func WithRetryLimit(n int) Option {
	return Option{"WithRetryLimit", waiting, func(c *config) { c.retryLimit, c.limited = n, true }}
}

// WithHoldMargin sets how long before the end of a lock's validity a hold
// ([Lock.Hold], [Client.Do]) gives up on renewal and cancels its context, so
// that the work has this much time to stop while the lock is still held. It
// must be positive and less than the validity a lock starts with. The
// default is a tenth of the ttl. It may be given to New, Lock, TryLock and
// Do.
func WithHoldMargin(d time.Duration) Option {
	return Option{"WithHoldMargin", acquiring, func(c *config) { c.margin, c.marginSet = d, true }}
}

// WithWait bounds how long [Client.Lock] and [Client.Do] wait for the lock,
// on top of their context, without bounding what follows: the work Do runs
// may take longer. It must be positive. By default they wait as long as
// their context allows. It may be given to New, Lock and Do.
func WithWait(d time.Duration) Option {
	return Option{"WithWait", waiting, func(c *config) { c.wait, c.waitSet = d, true }}
}

// WithKeyPrefix sets a prefix put before every lock name to form its Redis
// key, e.g. "lock:". The default is no prefix. It may be given to New, Lock,
// TryLock, Do and Status.
func WithKeyPrefix(p string) Option {
	return Option{"WithKeyPrefix", acquiring | inStatus, func(c *config) { c.prefix = p }}
}

// WithClock sets the clock used to measure validity and to time retries and
// renewals. Deadlines of network calls always use the system clock. The
// default is [clock.Real]. It may be given to New only.
func WithClock(c clock.Clock) ClientOption {
	return clientOnlyOption{"WithClock", clientOnly, func(cfg *config) { cfg.clock = c }}
}

// WithRand sets the source of the random lock tokens; it must be safe for
// concurrent use and should be cryptographically strong, since a token is
// the owner's only proof. The default is [crypto/rand.Reader]. It may be
// given to New only.
func WithRand(r io.Reader) ClientOption {
	return clientOnlyOption{"WithRand", clientOnly, func(c *config) { c.rand = r }}
}

// WithQuarantine sets how long after a restart a node's grants do not
// count: a node that restarted may have lost its keys, and another client
// could then be granted a lock that is still held. A node tells its
// clients of a restart by a new incarnation of its server, and a client
// that saw the earlier one quarantines the node from when it noticed, on
// its clock; a client new to a server reads its uptime with INFO (see the
// package documentation, "Restart quarantine"). It must
// cover the longest ttl any client uses on those nodes; 0 turns the
// quarantine off, which is safe only if every node keeps its keys across a
// crash (appendonly yes, appendfsync always). The default is the client's
// ttl plus its drift allowance; a call with a longer ttl than the
// quarantine is an error, and so is a quarantine shorter than the client's
// ttl. It may be given to New only.
func WithQuarantine(d time.Duration) ClientOption {
	return clientOnlyOption{"WithQuarantine", clientOnly, func(c *config) { c.quarantine, c.quarantineSet = d, true }}
}

// WithFencing makes each acquisition carry a fencing token ([Lock.Fence])
// that increases strictly from one holder of a name to the next, so that a
// resource can refuse a holder that paused past its validity; see the
// package documentation for the argument, which needs nodes that keep their
// data (appendfsync always): with fencing, a node without an append-only
// file is refused (RiskNoPersistence). It costs one more round-trip per
// acquisition. By default locks have no fencing token. It may be given to
// New, Lock, TryLock and Do.
func WithFencing() Option {
	return Option{"WithFencing", acquiring, func(c *config) { c.fencing = true }}
}

// WithMaxHold bounds how long a hold ([Lock.Hold], [Client.Do]) keeps a
// lock, counted from its acquisition: renewal stops then, and the hold's
// context ends with a cause wrapping [ErrMaxHold], so that a stuck process
// cannot keep a lock forever. It must be positive. By default a hold renews
// until stopped. It may be given to New, Lock, TryLock and Do.
func WithMaxHold(d time.Duration) Option {
	return Option{"WithMaxHold", acquiring, func(c *config) { c.maxHold, c.maxHoldSet = d, true }}
}

// WithAcceptRisks accepts risks that node vetting would otherwise refuse
// (see [Risk]): a node with only accepted risks counts. Use it knowingly;
// each risk can break mutual exclusion. It may be given to New only.
func WithAcceptRisks(risks ...Risk) ClientOption {
	return clientOnlyOption{"WithAcceptRisks", clientOnly, func(c *config) {
		for _, r := range risks {
			if r <= 0 || r > 31 {
				c.accepted |= 1 << 31 // invalid; validate names it
				continue
			}
			c.accepted |= 1 << r
		}
	}}
}

// WithLogger sets where the client logs what an operator should know, with
// messages starting "redlock: " and the details as attributes (lock,
// fingerprint, node, op, attempts, wait, validity, took, cause, reason,
// class, error):
//
//   - at Error and Warn, node vetting findings that refuse a node or warn of
//     a risk, and quarantines after a restart, each once;
//   - at Warn, a lock lost (with its cause: expired, gone, slow,
//     not-renewed; a hold cancelled at its margin is one), and a release
//     that found the lock no longer held or could not confirm it;
//   - at Info, a Lock that retried and was not obtained, and a hold that
//     reached its max hold;
//   - at Debug, a lock acquired, extended or released, a single attempt not
//     obtained, an extension left unconfirmed, and every failed command to a
//     node with its class (timeout, refused, auth, other).
//
// It never logs a token (the fingerprint stands for it) or a password. With
// no logger, or a level the handler does not enable, nothing is formatted.
// The default is no logging. It may be given to New only.
func WithLogger(l *slog.Logger) ClientOption {
	return clientOnlyOption{"WithLogger", clientOnly, func(c *config) { c.logger = l }}
}

// apply applies opts, given to the call where, to a copy of c and validates
// the result.
func (c config) apply(opts []Option, where scope) (config, error) {
	for i, o := range opts {
		switch {
		case o.set == nil:
			return c, invalid("option %d is the zero Option", i)
		case o.scope&where == 0:
			return c, invalid("%s cannot be given to %s; it may be given to %s", o.name, where.callName(), o.scope.list())
		}
		o.set(&c)
	}
	if where == inNew && !c.nodeTimeoutSet && c.ttl > 0 {
		c.nodeTimeout = defaultNodeTimeout(c.ttl)
	}
	if where == inNew && !c.quarantineSet && c.ttl > 0 {
		c.quarantine = c.ttl + clock.Drift(c.ttl, max(c.driftFactor, 0))
	}
	return c, c.validate()
}

// list names the calls in s.
func (s scope) list() string {
	var names []string
	for _, one := range []scope{inNew, inLock, inTryLock, inDo, inStatus} {
		if s&one != 0 {
			names = append(names, one.callName())
		}
	}
	return strings.Join(names, ", ")
}

func (c *config) validate() error {
	switch {
	case c.ttl <= 0:
		return invalid("ttl must be positive, got %v", c.ttl)
	case c.ttl%time.Millisecond != 0:
		return invalid("ttl must be a whole number of milliseconds, got %v", c.ttl)
	case !(c.driftFactor >= 0 && c.driftFactor < 0.5): // also rejects NaN
		return invalid("drift factor must be in [0, 0.5), got %v", c.driftFactor)
	case c.nodeTimeout <= 0:
		return invalid("node timeout must be positive, got %v", c.nodeTimeout)
	case c.retryMin <= 0 || c.retryMax < c.retryMin:
		return invalid("retry delay needs 0 < min <= max, got min %v, max %v", c.retryMin, c.retryMax)
	case c.waitSet && c.wait <= 0:
		return invalid("wait must be positive, got %v", c.wait)
	case c.limited && c.retryLimit < 0:
		return invalid("retry limit must not be negative, got %d", c.retryLimit)
	case c.clock == nil:
		return invalid("clock is nil")
	case c.rand == nil:
		return invalid("random source is nil")
	case c.quarantineSet && c.quarantine < 0:
		return invalid("quarantine must not be negative, got %v", c.quarantine)
	case c.quarantine > 0 && c.ttl > c.quarantine:
		return invalid("ttl %v is longer than the quarantine %v: a node restarted that long ago may have forgotten such a lock; raise WithQuarantine to the longest ttl in use",
			c.ttl, c.quarantine)
	case c.maxHoldSet && c.maxHold <= 0:
		return invalid("max hold must be positive, got %v", c.maxHold)
	case c.accepted&(1<<31) != 0 || c.accepted&^allRisks != 0:
		return invalid("WithAcceptRisks: unknown risk")
	case len(c.prefix) >= MaxKeyLen:
		return invalid("key prefix is %d bytes, the limit for whole keys is %d", len(c.prefix), MaxKeyLen)
	}
	if v := validityAfter(c, c.nodeTimeout); v <= 0 {
		return invalid("ttl %v leaves no validity after the drift allowance (%v) and one node timeout (%v)",
			c.ttl, driftOf(c), c.nodeTimeout)
	}
	if c.marginSet && (c.margin <= 0 || c.margin >= validityAfter(c, 0)) {
		return invalid("hold margin must be positive and less than the validity %v, got %v",
			validityAfter(c, 0), c.margin)
	}
	return nil
}

// allRisks has the bit of every Risk set.
const allRisks = 1<<RiskEviction | 1<<RiskReplica | 1<<RiskClusterMode | 1<<RiskDuplicate |
	1<<RiskNoPersistence | 1<<RiskEvenNodes | 1<<RiskUnprobed | 1<<RiskNoNotify

// accepts reports whether r was accepted with WithAcceptRisks.
func (c *config) accepts(r Risk) bool { return r > 0 && r < 31 && c.accepted&(1<<r) != 0 }

// retryDelay draws a delay uniformly from [retryMin, retryMax].
func (c *config) retryDelay() time.Duration {
	return c.retryMin + rand.N(c.retryMax-c.retryMin+1)
}

// holdMargin is the margin a hold keeps before the end of validity.
func (c *config) holdMargin() time.Duration {
	if c.marginSet {
		return c.margin
	}
	return c.ttl / 10
}

// heldUntil is the one home of a lock's deadline: for a round of
// acquisition or extension begun at start and ended now, by c's clock, it
// returns until when the lock is held (the end of the round plus the
// validity it leaves, that is start plus the ttl less the drift), how long
// the round took, and whether any validity is left.
func heldUntil(c *config, start time.Time) (until time.Time, elapsed time.Duration, ok bool) {
	elapsed = c.clock.Since(start)
	validity := validityAfter(c, elapsed)
	return start.Add(elapsed + validity), elapsed, validity > 0
}

// validityAfter is the validity left by an acquisition that took elapsed.
func validityAfter(c *config, elapsed time.Duration) time.Duration {
	return clock.Validity(c.ttl, elapsed, c.driftFactor)
}

// driftOf is the drift allowance for c's ttl.
func driftOf(c *config) time.Duration { return clock.Drift(c.ttl, c.driftFactor) }
