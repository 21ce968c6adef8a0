// Package observe is the vocabulary in which a redlock client tells what it
// does, as net/http/httptrace is beside net/http: the [Metrics] funcs a
// client calls (give them to redlock.WithMetrics), and the enums they are
// called with. Reporting never changes a lock's state; a client with no
// Metrics formats and allocates nothing for them. The OpenTelemetry adapter,
// the nested module github.com/quorumlock/quorumlock/otel, records them on
// OpenTelemetry instruments.
package observe

import (
	"context"
	"time"
)

// Metrics receives a client's measurements, as they happen. Each field is
// optional: a nil func is not called, so a Metrics may set only what it
// records. Build one yourself, or take the OpenTelemetry adapter in the
// nested module github.com/quorumlock/quorumlock/otel.
//
// Metrics is a struct of funcs rather than an interface so that a later
// release can add a measurement as a new field without breaking anyone's
// implementation, and so that recording one thing takes one func, not a type
// with a method for each. The funcs are called synchronously from the
// client's calls and from its background work (undoing failed attempts,
// renewing holds), concurrently: they must be safe for concurrent use, and
// cheap, since they run on the path of every lock operation; a func that
// blocks delays the lock. They get the context of the call they measure (a
// hold's for its renewals, a background one for background work), for
// exemplars or baggage, and names and enum values, never a token or a
// password.
//
// Lock names can be as many as a program's keys; before using one as a
// metric attribute, consider the cardinality. Node names are the client's
// nodes' redlock.Node.Addr, a fixed set.
type Metrics struct {
	// Attempt is called after each acquisition attempt of Lock, TryLock
	// or Do: one round of the acquiring script on every node (and, with
	// redlock.WithFencing, the raising of the fence). Attempts granted are the
	// grants.
	Attempt func(ctx context.Context, name string, outcome AttemptOutcome)

	// Acquire is called once per Lock, TryLock or Do call whose arguments
	// were valid, as its acquisition returns: whether the lock was
	// acquired, after how many attempts, and the time from the call to
	// then, on the client's clock (see redlock.WithClock).
	Acquire func(ctx context.Context, name string, acquired bool, attempts int, wait time.Duration)

	// Extend is called once per Lock.Extend, a hold's renewals included,
	// that asked the nodes or found the lock's validity lapsed: OutcomeOK
	// if the lock was extended, OutcomeLost if Extend returned ErrLost,
	// OutcomeUnknown if too few nodes answered or ctx ended first.
	Extend func(ctx context.Context, name string, outcome Outcome)

	// Lost is called once per lock, when it becomes lost, with the cause.
	Lost func(ctx context.Context, name string, cause LossCause)

	// Release is called once per Lock.Unlock of a lock not yet unlocked
	// (Do unlocks too): OutcomeOK if a quorum still held it, OutcomeLost
	// if Unlock returned ErrNotHeld, OutcomeUnknown if too few nodes
	// answered or ctx ended first.
	Release func(ctx context.Context, name string, outcome Outcome)

	// NodeError is called for every command to a node that failed: not
	// answered, refused or answered with an error. Answers such as "held
	// by another owner" are not failures.
	NodeError func(ctx context.Context, node string, op Op, class ErrorClass)

	// NodeLatency is called for every command to a node, answered or not,
	// with the time from sending it to its answer or failure, on the
	// system clock. A script the server had not cached counts once, its
	// resend by source included.
	NodeLatency func(ctx context.Context, node string, op Op, d time.Duration)
}

// An AttemptOutcome is how one acquisition attempt ended.
type AttemptOutcome uint8

const (
	// AttemptGranted: a quorum granted the lock within its validity.
	AttemptGranted AttemptOutcome = iota + 1
	// AttemptBusy: not granted, and some node said the lock is held by
	// another owner or that earlier waiters are queued for it.
	AttemptBusy
	// AttemptFailed: not granted, and no node said it was busy: nodes
	// failed or were refused, the round outlived the validity, or ctx
	// ended during it.
	AttemptFailed
)

// String returns "granted", "busy" or "failed".
func (o AttemptOutcome) String() string {
	switch o {
	case AttemptGranted:
		return "granted"
	case AttemptBusy:
		return "busy"
	case AttemptFailed:
		return "failed"
	}
	return "unknown"
}

// An Outcome is how an extension or a release ended.
type Outcome uint8

const (
	// OutcomeOK: a quorum confirmed it.
	OutcomeOK Outcome = iota + 1
	// OutcomeLost: so many nodes no longer held the token that a quorum
	// cannot (for an extension, also a validity that lapsed before or
	// during it): ErrLost from Extend, ErrNotHeld from Unlock.
	OutcomeLost
	// OutcomeUnknown: too few nodes answered to tell, or ctx ended first.
	OutcomeUnknown
)

// String returns "ok", "lost" or "unknown".
func (o Outcome) String() string {
	switch o {
	case OutcomeOK:
		return "ok"
	case OutcomeLost:
		return "lost"
	}
	return "unknown"
}

// A LossCause tells why a lock was lost.
type LossCause uint8

const (
	// LossExpired: Extend was called after the lock's validity had
	// lapsed, so another owner may have taken it.
	LossExpired LossCause = iota + 1
	// LossGone: so many nodes no longer held the token (expired, taken,
	// flushed) that a quorum cannot.
	LossGone
	// LossSlow: a quorum extended it, but the extension took longer than
	// the validity it would give.
	LossSlow
	// LossNotRenewed: a hold could not renew it before its margin (see
	// WithHoldMargin), the nodes unreachable or too slow.
	LossNotRenewed
)

// String returns "expired", "gone", "slow" or "not-renewed".
func (c LossCause) String() string {
	switch c {
	case LossExpired:
		return "expired"
	case LossGone:
		return "gone"
	case LossSlow:
		return "slow"
	case LossNotRenewed:
		return "not-renewed"
	}
	return "unknown"
}

// An Op is a kind of command a client sends to a node.
type Op uint8

const (
	// OpAcquire: the acquiring script (SET NX with the waiters' queue).
	OpAcquire Op = iota + 1
	// OpFence: raising a fence counter, with WithFencing.
	OpFence
	// OpExtend: resetting the lock's ttl.
	OpExtend
	// OpHeal: setting the key again on a node that had lost it.
	OpHeal
	// OpRelease: deleting the key if it holds the token, by Unlock or
	// when a failed attempt is undone.
	OpRelease
	// OpLeave: leaving a lock's queue of waiters.
	OpLeave
	// OpStatus: reading a lock for Client.Status.
	OpStatus
	// OpInfo: reading INFO, to vet a node or time its quarantine.
	OpInfo
	// OpRights: trying, for redlock.Client.Vet, whether the client may publish
	// and subscribe on the waiters' channels.
	OpRights
	// OpSlots: reading a semaphore's slots.
	OpSlots
)

var opNames = [...]string{OpAcquire: "acquire", OpFence: "fence", OpExtend: "extend", OpHeal: "heal",
	OpRelease: "release", OpLeave: "leave", OpStatus: "status", OpInfo: "info", OpRights: "rights", OpSlots: "slots"}

// String returns the operation's name: "acquire", "fence", "extend",
// "heal", "release", "leave", "status" or "info".
func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return "unknown"
}

// An ErrorClass sorts a node's failures coarsely, for alerting.
type ErrorClass uint8

const (
	// ErrorClassTimeout: no answer within the node timeout.
	ErrorClassTimeout ErrorClass = iota + 1
	// ErrorClassRefused: the connection was refused, as by a server that
	// is down.
	ErrorClassRefused
	// ErrorClassAuth: the server refused the credentials or a command
	// (WRONGPASS, NOAUTH, NOPERM); see ErrAuth.
	ErrorClassAuth
	// ErrorClassOther: any other failure, such as a connection reset or
	// an error reply.
	ErrorClassOther
)

// String returns "timeout", "refused", "auth" or "other".
func (c ErrorClass) String() string {
	switch c {
	case ErrorClassTimeout:
		return "timeout"
	case ErrorClassRefused:
		return "refused"
	case ErrorClassAuth:
		return "auth"
	}
	return "other"
}
