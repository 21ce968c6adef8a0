package otel

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/quorumlock/quorumlock/redlock/observe"
)

// Bucket boundaries, in seconds: a node command takes a fraction of a
// millisecond on a local network and at most the node timeout (1s by
// default at most); a wait for a lock lasts up to the holder's ttl or more.
var (
	nodeBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}
	waitBuckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300}
)

// The enums' values with attribute sets made once: 1 to the highest value
// known; others, which a later release may add, make theirs each time.
const (
	numAttempt  = int(observe.AttemptFailed) + 1
	numOutcome  = int(observe.OutcomeUnknown) + 1
	numLoss     = int(observe.LossNotRenewed) + 1
	numOp       = int(observe.OpSlots) + 1
	numErrClass = int(observe.ErrorClassOther) + 1
)

// A recorder records on the instruments.
type recorder struct {
	lockName func(string) string // nil: lock names are not recorded

	attempts, extensions, losses, releases, nodeErrors metric.Int64Counter
	wait, nodeDuration                                 metric.Float64Histogram

	attemptSet [numAttempt]attrs
	waitSet    [2]attrs // not acquired, acquired
	extendSet  [numOutcome]attrs
	lossSet    [numLoss]attrs
	releaseSet [numOutcome]attrs

	mu    sync.RWMutex
	nodes map[string]*nodeSets // by node name
}

// nodeSets are one node's attribute sets, by operation and error class.
type nodeSets struct {
	duration [numOp]attrs
	errors   [numOp][numErrClass]attrs
}

func newRecorder(m metric.Meter, s settings) (*recorder, error) {
	r := &recorder{lockName: s.lockName, nodes: map[string]*nodeSets{}}
	var errs [7]error
	r.attempts, errs[0] = m.Int64Counter("redlock.lock.attempts", metric.WithUnit("{attempt}"),
		metric.WithDescription("Acquisition attempts: rounds of the acquiring script on every node, by outcome."))
	r.wait, errs[1] = m.Float64Histogram("redlock.lock.wait.duration", metric.WithUnit("s"),
		metric.WithDescription("Time a Lock, TryLock or Do call took to acquire its lock or give up, by outcome."),
		metric.WithExplicitBucketBoundaries(waitBuckets...))
	r.extensions, errs[2] = m.Int64Counter("redlock.lock.extensions", metric.WithUnit("{extension}"),
		metric.WithDescription("Extensions of locks, a hold's renewals included, by outcome."))
	r.losses, errs[3] = m.Int64Counter("redlock.lock.losses", metric.WithUnit("{loss}"),
		metric.WithDescription("Locks lost, by cause."))
	r.releases, errs[4] = m.Int64Counter("redlock.lock.releases", metric.WithUnit("{release}"),
		metric.WithDescription("Releases of locks, by outcome: lost when a quorum no longer held the lock."))
	r.nodeErrors, errs[5] = m.Int64Counter("redlock.node.errors", metric.WithUnit("{error}"),
		metric.WithDescription("Commands to a node that failed, by node, operation and class."))
	r.nodeDuration, errs[6] = m.Float64Histogram("redlock.node.duration", metric.WithUnit("s"),
		metric.WithDescription("Time from sending a command to a node to its answer or failure, by node and operation."),
		metric.WithExplicitBucketBoundaries(nodeBuckets...))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	for i := range r.attemptSet {
		r.attemptSet[i] = set(KeyOutcome.String(observe.AttemptOutcome(i).String()))
	}
	r.waitSet[0] = set(KeyOutcome.String("not_obtained"))
	r.waitSet[1] = set(KeyOutcome.String("acquired"))
	for i := range r.extendSet {
		r.extendSet[i] = set(KeyOutcome.String(observe.Outcome(i).String()))
		r.releaseSet[i] = r.extendSet[i]
	}
	for i := range r.lossSet {
		r.lossSet[i] = set(KeyLossCause.String(observe.LossCause(i).String()))
	}
	return r, nil
}

// attrs is an attribute set as the options of Add and Record, so that a
// measurement with a set made before makes nothing.
type attrs struct {
	add []metric.AddOption
	rec []metric.RecordOption
}

func set(kvs ...attribute.KeyValue) attrs {
	o := metric.WithAttributeSet(attribute.NewSet(kvs...))
	return attrs{add: []metric.AddOption{o}, rec: []metric.RecordOption{o}}
}

// lockSet returns the attribute set of a lock instrument's measurement for
// the lock name with kv: cached[i] if i is in range and lock names are not
// recorded.
func (r *recorder) lockSet(cached []attrs, i int, name string, kv attribute.KeyValue) attrs {
	switch {
	case r.lockName != nil:
		return set(KeyLockName.String(r.lockName(name)), kv)
	case i > 0 && i < len(cached):
		return cached[i]
	}
	return set(kv)
}

func (r *recorder) attempt(ctx context.Context, name string, o observe.AttemptOutcome) {
	r.attempts.Add(ctx, 1, r.lockSet(r.attemptSet[:], int(o), name, KeyOutcome.String(o.String())).add...)
}

func (r *recorder) acquire(ctx context.Context, name string, acquired bool, _ int, wait time.Duration) {
	i, outcome := 0, "not_obtained"
	if acquired {
		i, outcome = 1, "acquired"
	}
	a := r.waitSet[i]
	if r.lockName != nil {
		a = set(KeyLockName.String(r.lockName(name)), KeyOutcome.String(outcome))
	}
	r.wait.Record(ctx, wait.Seconds(), a.rec...)
}

func (r *recorder) extend(ctx context.Context, name string, o observe.Outcome) {
	r.extensions.Add(ctx, 1, r.lockSet(r.extendSet[:], int(o), name, KeyOutcome.String(o.String())).add...)
}

func (r *recorder) lost(ctx context.Context, name string, c observe.LossCause) {
	r.losses.Add(ctx, 1, r.lockSet(r.lossSet[:], int(c), name, KeyLossCause.String(c.String())).add...)
}

func (r *recorder) release(ctx context.Context, name string, o observe.Outcome) {
	r.releases.Add(ctx, 1, r.lockSet(r.releaseSet[:], int(o), name, KeyOutcome.String(o.String())).add...)
}

func (r *recorder) nodeError(ctx context.Context, node string, op observe.Op, c observe.ErrorClass) {
	if o, k := int(op), int(c); o > 0 && o < numOp && k > 0 && k < numErrClass {
		r.nodeErrors.Add(ctx, 1, r.node(node).errors[o][k].add...)
		return
	}
	r.nodeErrors.Add(ctx, 1, set(KeyNode.String(node), KeyOperation.String(op.String()), KeyErrorType.String(c.String())).add...)
}

func (r *recorder) nodeLatency(ctx context.Context, node string, op observe.Op, d time.Duration) {
	if o := int(op); o > 0 && o < numOp {
		r.nodeDuration.Record(ctx, d.Seconds(), r.node(node).duration[o].rec...)
		return
	}
	r.nodeDuration.Record(ctx, d.Seconds(), set(KeyNode.String(node), KeyOperation.String(op.String())).rec...)
}

// node returns the attribute sets of the node named name, made on first
// use: a client's nodes are a fixed set.
func (r *recorder) node(name string) *nodeSets {
	r.mu.RLock()
	ns := r.nodes[name]
	r.mu.RUnlock()
	if ns != nil {
		return ns
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if ns = r.nodes[name]; ns != nil {
		return ns
	}
	ns = &nodeSets{}
	for o := 1; o < numOp; o++ {
		op := KeyOperation.String(observe.Op(o).String())
		ns.duration[o] = set(KeyNode.String(name), op)
		for k := 1; k < numErrClass; k++ {
			ns.errors[o][k] = set(KeyNode.String(name), op, KeyErrorType.String(observe.ErrorClass(k).String()))
		}
	}
	r.nodes[name] = ns
	return ns
}
