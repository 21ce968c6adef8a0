package history_test

import (
	"fmt"
	"log"
	"time"

	"github.com/quorumlock/quorumlock/internal/history"
)

// A holder is paused past its validity; the next holder gets a greater
// fencing token, and the paused holder's late write is refused. Real runs
// take every instant from time.Now.
func Example() {
	start := time.Now()
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	rec := history.NewRecorder(start)
	var store history.Fence

	a, err := rec.Grant(history.Grant{Name: "jobs:reindex", Holder: "worker-1",
		At: at(0), Until: at(100), Token: 7, Watched: true})
	must(err)
	must(a.Lost(at(90))) // Hold's context ends before Until, but worker-1 is paused

	b, err := rec.Grant(history.Grant{Name: "jobs:reindex", Holder: "worker-2",
		At: at(120), Until: at(220), Token: 8, Watched: true})
	must(err)
	fmt.Println("worker-2 writes:", b.Write(&store))
	must(b.End(at(150), history.Released))

	fmt.Println("worker-1 wakes and writes:", a.Write(&store))
	must(a.End(at(160), history.StoppedOnLoss))

	rep, err := rec.Check(at(200))
	must(err)
	fmt.Println("ok:", rep.OK())
	fmt.Print(rep)
	// Output:
	// worker-2 writes: true
	// worker-1 wakes and writes: false
	// ok: true
	// history up to t=0.200s: grants 2, names 1: no violations
	//   endings   released 1, not held 0, unknown 0, stopped on loss 1, running 0
	//   overlaps  0
	//   counter   updates 0, lost 0, names with a wrong final value 0
	//   validity  late lost signals 0; holds that acted past it 1 (not a violation)
	//   fencing   token order 0, shared tokens 0, stale writes accepted 0; refused as stale 1 of 2 writes
	//   name jobs:reindex: grants 2, violations 0
}

// must stops the example on an error.
func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
