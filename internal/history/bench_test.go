package history_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/quorumlock/quorumlock/internal/history"
)

// BenchmarkRecorder_Check checks a history of 100,000 fenced grants of four
// names, each with a counter update and a fenced write, one in a hundred
// overlapping the grant before it.
func BenchmarkRecorder_Check(b *testing.B) {
	const names, grants = 4, 100_000
	t0 := time.Now()
	r := history.NewRecorder(t0)
	fences := make([]history.Fence, names)
	counters := make([]int64, names)
	at := func(us int) time.Time { return t0.Add(time.Duration(us) * time.Microsecond) }
	for i := range grants {
		n := i % names
		start := i / names * 100
		end := start + 90
		if i%100 == 0 {
			end = start + 150 // into the next grant of the name
		}
		h, err := r.Grant(history.Grant{Name: fmt.Sprintf("lock-%d", n), Holder: fmt.Sprintf("w%d", i%16),
			At: at(start), Until: at(start + 1000), Token: uint64(i + 1), Watched: true})
		if err != nil {
			b.Fatal(err)
		}
		h.Update(counters[n], counters[n]+1)
		counters[n]++
		h.Write(&fences[n])
		if err := h.End(at(end), history.Released); err != nil {
			b.Fatal(err)
		}
	}
	stop := at(grants/names*100 + 1000)
	b.ReportAllocs()
	b.ResetTimer()
	var rep *history.Report
	for b.Loop() {
		var err error
		if rep, err = r.Check(stop); err != nil {
			b.Fatal(err)
		}
	}
	if rep.Total.Grants != grants || rep.Total.Overlaps != grants/100 {
		b.Fatalf("checked %d grants, %d overlaps; want %d, %d", rep.Total.Grants, rep.Total.Overlaps, grants, grants/100)
	}
}
