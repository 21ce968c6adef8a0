// Package otel records a redlock client's measurements on OpenTelemetry
// instruments: it builds a [observe.Metrics] for [redlock.WithMetrics] from a
// [metric.MeterProvider]. It is a module of its own, so that programs that
// lock without OpenTelemetry do not depend on it.
//
//	m, err := otel.New(provider) // e.g. go.opentelemetry.io/otel.GetMeterProvider()
//	...
//	client, err := redlock.New(nodes, redlock.WithMetrics(m))
//
// The instruments, on the meter named [ScopeName], and their attributes:
//
//	redlock.lock.attempts       counter    {attempt}    redlock.outcome: granted, busy, failed
//	redlock.lock.wait.duration  histogram  s            redlock.outcome: acquired, not_obtained
//	redlock.lock.extensions     counter    {extension}  redlock.outcome: ok, lost, unknown
//	redlock.lock.losses         counter    {loss}       redlock.loss.cause: expired, gone, slow, not-renewed
//	redlock.lock.releases       counter    {release}    redlock.outcome: ok, lost, unknown
//	redlock.node.errors         counter    {error}      redlock.node, redlock.operation, error.type
//	redlock.node.duration       histogram  s            redlock.node, redlock.operation
//
// Attempts granted are the grants; a wait is one per Lock, TryLock or Do
// call. redlock.node is a node's [redlock.Node.Addr], redlock.operation one
// of acquire, fence, extend, heal, release, leave, status and info, and
// error.type one of timeout, refused, auth and other; see [observe.Metrics]
// for when each is recorded. Lock names are not attributes unless
// [WithLockName] says how to turn them into one.
package otel

import (
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/quorumlock/quorumlock/redlock"
	"github.com/quorumlock/quorumlock/redlock/observe"
)

// ScopeName is the name of the meter the instruments are made on.
const ScopeName = "github.com/quorumlock/quorumlock/otel"

// The attribute keys of the instruments.
const (
	// KeyOutcome is how an attempt, a wait, an extension or a release
	// ended.
	KeyOutcome = attribute.Key("redlock.outcome")
	// KeyLossCause is why a lock was lost.
	KeyLossCause = attribute.Key("redlock.loss.cause")
	// KeyNode names a node, by its address.
	KeyNode = attribute.Key("redlock.node")
	// KeyOperation is the kind of command sent to a node.
	KeyOperation = attribute.Key("redlock.operation")
	// KeyErrorType is the class of a node's failure, under the key
	// OpenTelemetry's semantic conventions use for errors.
	KeyErrorType = attribute.Key("error.type")
	// KeyLockName is what [WithLockName] makes of a lock's name.
	KeyLockName = attribute.Key("redlock.lock.name")
)

// An Option configures New. The zero Option is invalid.
type Option struct {
	set func(*settings) error
}

type settings struct {
	lockName func(name string) string // nil: lock names are not recorded
}

// WithLockName adds the attribute redlock.lock.name, f(name), to the
// measurements of the lock instruments (attempts, wait, extensions, losses,
// releases). Each value is a time series of each of them, so f should map
// the names a program uses to few values: "orders:42" to "orders", say.
// Measurements that carry it build their attribute set each time. By
// default lock names are not recorded. A nil f is an error.
func WithLockName(f func(name string) string) Option {
	return Option{func(s *settings) error {
		if f == nil {
			return errors.New("WithLockName: nil func")
		}
		s.lockName = f
		return nil
	}}
}

// New returns funcs for [redlock.WithMetrics] that record a client's
// measurements on instruments made from mp. They are safe for concurrent
// use, and record with attribute sets built once (per node, for the node
// instruments). A nil mp or a bad option is an error wrapping
// [redlock.ErrInvalidArgument]; so is one the meter reports in making the
// instruments.
func New(mp metric.MeterProvider, opts ...Option) (observe.Metrics, error) {
	if mp == nil {
		return observe.Metrics{}, invalid("nil MeterProvider")
	}
	var s settings
	for i, o := range opts {
		if o.set == nil {
			return observe.Metrics{}, invalid("option %d is the zero Option", i)
		}
		if err := o.set(&s); err != nil {
			return observe.Metrics{}, invalid("%v", err)
		}
	}
	r, err := newRecorder(mp.Meter(ScopeName), s)
	if err != nil {
		return observe.Metrics{}, invalid("making the instruments: %w", err)
	}
	return observe.Metrics{
		Attempt:     r.attempt,
		Acquire:     r.acquire,
		Extend:      r.extend,
		Lost:        r.lost,
		Release:     r.release,
		NodeError:   r.nodeError,
		NodeLatency: r.nodeLatency,
	}, nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: otel: "+format, append([]any{redlock.ErrInvalidArgument}, args...)...)
}
