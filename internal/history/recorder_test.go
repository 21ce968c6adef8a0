package history_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/quorumlock/quorumlock/internal/history"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRecorder_Grant_invalid(t *testing.T) {
	t0 := time.Now()
	ok := history.Grant{Name: "job", Holder: "w1", At: t0.Add(time.Millisecond), Until: t0.Add(time.Second)}
	tests := []struct {
		name   string
		change func(g *history.Grant)
		want   string
	}{
		{name: "no name", change: func(g *history.Grant) { g.Name = "" }, want: `grant to "w1": empty lock name`},
		{name: "no holder", change: func(g *history.Grant) { g.Holder = "" }, want: `grant of "job": empty holder label`},
		{name: "zero at", change: func(g *history.Grant) { g.At = time.Time{} }, want: "zero grant time"},
		{name: "zero until", change: func(g *history.Grant) { g.Until = time.Time{} }, want: "zero grant time or validity end"},
		{name: "before start", change: func(g *history.Grant) { g.At = t0.Add(-2 * time.Second) },
			want: "granted 2s before the recorder's start"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := history.NewRecorder(t0)
			g := ok
			tt.change(&g)
			h, err := r.Grant(g)
			assert.Nil(t, h)
			require.ErrorContains(t, err, tt.want)
			rep, err := r.Check(t0.Add(time.Second))
			require.NoError(t, err)
			assert.Zero(t, rep.Total.Grants, "nothing recorded")
		})
	}
	t.Run("valid", func(t *testing.T) {
		_, err := history.NewRecorder(t0).Grant(ok)
		require.NoError(t, err)
	})
	t.Run("zero recorder", func(t *testing.T) {
		var r history.Recorder
		_, err := r.Grant(ok)
		require.ErrorContains(t, err, "not made by NewRecorder")
		_, err = r.Check(t0)
		require.ErrorContains(t, err, "not made by NewRecorder")
	})
}

func TestHold_invalid(t *testing.T) {
	tests := []struct {
		name string
		do   func(tl *timeline, h *history.Hold) error
		want string
	}{
		{name: "end twice", do: func(tl *timeline, h *history.Hold) error {
			require.NoError(t, h.End(tl.at(20), history.Released))
			return h.End(tl.at(30), history.Released)
		}, want: `hold of "job" by "w1": ended twice`},
		{name: "end before grant", do: func(tl *timeline, h *history.Hold) error {
			return h.End(tl.at(5), history.Released)
		}, want: "ends 5ms before its grant"},
		{name: "end running", do: func(tl *timeline, h *history.Hold) error {
			return h.End(tl.at(20), history.Running)
		}, want: "ending running is not an end"},
		{name: "end unknown ending", do: func(tl *timeline, h *history.Hold) error {
			return h.End(tl.at(20), history.Ending(99))
		}, want: "ending Ending(99) is not an end"},
		{name: "end zero", do: func(_ *timeline, h *history.Hold) error {
			return h.End(time.Time{}, history.Released)
		}, want: "zero end time"},
		{name: "lost twice", do: func(tl *timeline, h *history.Hold) error {
			require.NoError(t, h.Lost(tl.at(20)))
			return h.Lost(tl.at(21))
		}, want: "lost signal recorded twice"},
		{name: "lost before grant", do: func(tl *timeline, h *history.Hold) error {
			return h.Lost(tl.at(1))
		}, want: "lost signal 9ms before the grant"},
		{name: "lost zero", do: func(_ *timeline, h *history.Hold) error {
			return h.Lost(time.Time{})
		}, want: "zero lost-signal time"},
		{name: "extend zero", do: func(_ *timeline, h *history.Hold) error {
			return h.Extend(time.Time{})
		}, want: "zero validity end"},
		{name: "final without updates", do: func(tl *timeline, _ *history.Hold) error {
			return tl.r.Final("job", 3)
		}, want: `final value of "job": no update of its counter recorded`},
		{name: "final of unknown name", do: func(tl *timeline, _ *history.Hold) error {
			return tl.r.Final("other", 3)
		}, want: `final value of "other": no update`},
		{name: "final twice", do: func(tl *timeline, h *history.Hold) error {
			h.Update(0, 1)
			require.NoError(t, tl.r.Final("job", 1))
			return tl.r.Final("job", 1)
		}, want: `final value of "job" recorded twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl := newTimeline(t)
			h := tl.grant("job", "w1", 10, 100, 0, true)
			require.ErrorContains(t, tt.do(tl, h), tt.want)
		})
	}
}

func TestRecorder_Check_invalid(t *testing.T) {
	tl := newTimeline(t)
	_, err := tl.r.Check(time.Time{})
	require.ErrorContains(t, err, "zero stop time")
	_, err = tl.r.Check(tl.at(-3))
	require.ErrorContains(t, err, "stop 3ms before the recorder's start")
}

// TestRecorder_concurrent records from many goroutines at once, each name
// guarded by a mutex standing in for the lock, while lost signals are
// recorded from the goroutines context.AfterFunc starts. Every record must
// arrive, in an order that shows no violation.
func TestRecorder_concurrent(t *testing.T) {
	const workers, rounds, names = 16, 100, 3
	r := history.NewRecorder(time.Now())
	type resource struct {
		mu      sync.Mutex
		counter int64
		token   uint64
		fence   history.Fence
	}
	res := make([]resource, names)
	errs := make(chan error, workers*rounds*4)
	var wg, signals sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				n := (w + i) % names
				rs := &res[n]
				rs.mu.Lock()
				rs.token++
				h, err := r.Grant(history.Grant{Name: fmt.Sprintf("name-%d", n), Holder: fmt.Sprintf("w%d", w),
					At: time.Now(), Until: time.Now().Add(time.Hour), Token: rs.token, Watched: true})
				if err != nil {
					rs.mu.Unlock()
					errs <- err
					return
				}
				ctx, cancel := context.WithCancel(context.Background())
				signals.Add(1)
				context.AfterFunc(ctx, func() {
					defer signals.Done()
					errs <- h.Lost(time.Now())
				})
				errs <- h.Extend(time.Now().Add(2 * time.Hour))
				h.Update(rs.counter, rs.counter+1)
				rs.counter++
				if !h.Write(&rs.fence) {
					errs <- fmt.Errorf("w%d: token %d refused", w, rs.token)
				}
				cancel()
				errs <- h.End(time.Now(), history.Released)
				rs.mu.Unlock()
			}
		})
	}
	wg.Wait()
	signals.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	rep, err := r.Check(time.Now())
	require.NoError(t, err)
	assert.True(t, rep.OK(), rep.String())
	assert.Equal(t, workers*rounds, rep.Total.Grants)
	assert.Equal(t, workers*rounds, rep.Total.Released)
	assert.Equal(t, workers*rounds, rep.Total.Updates)
	assert.Equal(t, workers*rounds, rep.Total.Writes)
	require.Len(t, rep.Names, names)
	for n, nr := range rep.Names {
		require.NotNil(t, nr.Counter, nr.Name)
		assert.Equal(t, res[n].counter, nr.Counter.Final, "%s: final value", nr.Name)
		assert.Equal(t, int(res[n].counter), nr.Grants, "%s: grants", nr.Name)
	}
}
