package quorum

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failsafeAfter is far longer than any test here takes.
const failsafeAfter = 10 * time.Second

// Target behaviours, one word per target in a spec such as "ok err frozen".
const (
	fast      = "ok"        // returns nil at once
	fastErr   = "err"       // fails at once
	slow      = "slow"      // returns nil once every fast outcome has been delivered
	slowErr   = "slowerr"   // fails once every fast outcome has been delivered
	frozen    = "frozen"    // returns nil only when the test releases it, after Wait
	frozenErr = "frozenerr" // fails only when the test releases it, after Wait
)

// targets is a set of fake targets with a per-target gate and error.
type targets struct {
	kinds    []string
	errs     []error         // what each target returns
	gates    []chan struct{} // closed to let a target return; nil for fast ones
	release  []func()        // closes gates[i] once
	entered  []chan struct{} // closed when target i's call has started
	returned []chan struct{} // closed when target i's call has returned
	calls    []atomic.Int32
	ctxs     []context.Context // the ctx each call got
	honorCtx bool              // a gated call also returns when its ctx ends
}

func newTargets(t *testing.T, spec string) *targets {
	kinds := strings.Fields(spec)
	n := len(kinds)
	f := &targets{
		kinds:    kinds,
		errs:     make([]error, n),
		gates:    make([]chan struct{}, n),
		release:  make([]func(), n),
		entered:  make([]chan struct{}, n),
		returned: make([]chan struct{}, n),
		calls:    make([]atomic.Int32, n),
		ctxs:     make([]context.Context, n),
	}
	for i, k := range kinds {
		switch k {
		case fast, fastErr, slow, slowErr, frozen, frozenErr:
		default:
			t.Fatalf("unknown target kind %q", k)
		}
		if strings.HasSuffix(k, "err") {
			f.errs[i] = fmt.Errorf("target %d failed", i)
		}
		f.entered[i] = make(chan struct{})
		f.returned[i] = make(chan struct{})
		f.release[i] = func() {}
		if k != fast && k != fastErr {
			g := make(chan struct{})
			f.gates[i] = g
			f.release[i] = sync.OnceFunc(func() { close(g) })
		}
	}
	// Never leave a call blocked, even when a check fails. If Wait wrongly
	// waits for a frozen target, the failsafe lets it return, and the check
	// that the target was still blocked then fails instead of the test
	// hanging.
	failsafe := time.AfterFunc(failsafeAfter, f.releaseAll)
	t.Cleanup(func() {
		failsafe.Stop()
		f.releaseAll()
	})
	return f
}

func (f *targets) fn(ctx context.Context, i int) error {
	defer close(f.returned[i])
	f.calls[i].Add(1)
	f.ctxs[i] = ctx
	close(f.entered[i])
	if g := f.gates[i]; g != nil {
		if f.honorCtx {
			select {
			case <-g:
			case <-ctx.Done():
				return ctx.Err()
			}
		} else {
			<-g
		}
	}
	return f.errs[i]
}

func (f *targets) n() int { return len(f.kinds) }

func (f *targets) count(kinds ...string) int {
	c := 0
	for _, k := range f.kinds {
		if slices.Contains(kinds, k) {
			c++
		}
	}
	return c
}

func (f *targets) releaseKinds(kinds ...string) {
	for i, k := range f.kinds {
		if slices.Contains(kinds, k) {
			f.release[i]()
		}
	}
}

func (f *targets) releaseAll() {
	for _, r := range f.release {
		r()
	}
}

// blocked reports whether target i's call has yet to return.
func (f *targets) blocked(i int) bool {
	select {
	case <-f.returned[i]:
		return false
	default:
		return true
	}
}

// start runs a round over f and orders it: every fast outcome is delivered
// before any slow target returns.
func (f *targets) start(t *testing.T, ctx context.Context) *Round {
	t.Helper()
	r := Go(ctx, f.n(), f.fn)
	awaitDelivered(t, r, f.count(fast, fastErr))
	f.releaseKinds(slow, slowErr)
	return r
}

// awaitDelivered waits until k outcomes are buffered in r, unread. Nothing
// here sleeps: the calls are already running and deliver at once.
func awaitDelivered(t *testing.T, r *Round, k int) {
	t.Helper()
	deadline := time.Now().Add(failsafeAfter)
	for len(r.results) < k {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d outcomes delivered", len(r.results), k)
		}
		runtime.Gosched()
	}
}

// finish releases every target, drains r's outcomes and checks that each
// target was called once and yielded exactly once, with its own error, and
// that the outcomes Wait had seen came first.
func (f *targets) finish(t *testing.T, r *Round) []Outcome {
	t.Helper()
	seen := slices.Clone(r.Seen())
	f.releaseAll()
	var all []Outcome
	for o := range r.Outcomes() {
		all = append(all, o)
	}
	require.Len(t, all, f.n())
	assert.Equal(t, seen, all[:len(seen)], "outcomes Wait saw come first, in the same order")
	got := make([]int, 0, len(all))
	for _, o := range all {
		got = append(got, o.Target)
		switch {
		case f.honorCtx && f.gates[o.Target] != nil && errors.Is(o.Err, context.Canceled):
			// gave up when its ctx ended
		case f.errs[o.Target] == nil:
			assert.NoError(t, o.Err, "target %d", o.Target)
		default:
			assert.ErrorIs(t, o.Err, f.errs[o.Target], "target %d", o.Target)
		}
	}
	want := make([]int, f.n())
	for i := range want {
		want[i] = i
		assert.Equal(t, int32(1), f.calls[i].Load(), "calls of target %d", i)
	}
	assert.ElementsMatch(t, want, got, "each target yields exactly once")
	return all
}

// assertOneLine checks the error format shared by every failure.
func assertOneLine(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	assert.True(t, strings.HasPrefix(msg, "quorum: "), "%q starts with the package name", msg)
	assert.NotContains(t, msg, "\n", "one line")
}
