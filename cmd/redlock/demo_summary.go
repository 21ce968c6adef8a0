package main

import (
	"fmt"
	"sync"
	"text/tabwriter"
	"time"
)

// A tally counts, per phase, the grants and the Lock calls that timed out.
// A call counts in a phase only if it began and returned in it; the others
// count as made while nodes changed.
type tally struct {
	mu       sync.Mutex
	grants   []int
	waits    []int
	changing [2]int // grants and timed-out waits while nodes changed
	errs     []error
}

func newTally(phases int) *tally {
	return &tally{grants: make([]int, phases), waits: make([]int, phases)}
}

// granted counts a grant whose Lock call began in phase from and returned
// in phase to; err is what recording it in the history returned.
func (t *tally) granted(from, to int, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if from == to && from != changing {
		t.grants[from]++
	} else {
		t.changing[0]++
	}
	if err != nil {
		t.errs = append(t.errs, err)
	}
}

// timedOut counts a Lock call that gave up.
func (t *tally) timedOut(from, to int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if from == to && from != changing {
		t.waits[from]++
	} else {
		t.changing[1]++
	}
}

// phase returns the counts of phase p.
func (t *tally) phase(p int) (grants, waits int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.grants[p], t.waits[p]
}

// summary prints what happened and returns whether it is what the phases
// promise: grants where a majority was up, none where it was not, no
// overlap at all, and the paused holder's late write refused.
func (d *demo) summary(scene fencingScene) bool {
	fmt.Fprintf(d.out, "\nsummary (t=%.1fs)\n", d.since().Seconds())
	ok := true
	tw := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  phase\tnodes up\tgrants\ttimed-out waits\texpected")
	upCount := demoNodes
	for p, ph := range demoPhases {
		upCount += len(ph.up) - len(ph.down)
		grants, waits := d.tally.phase(p)
		want, met := "grants", grants > 0
		if !ph.granted {
			want, met = "no grant", grants == 0
		}
		result := "ok"
		if !met {
			result, ok = "NOT MET", false
		}
		fmt.Fprintf(tw, "  %d %s\t%d/%d\t%d\t%d\t%s: %s\n", p+1, ph.name, upCount, demoNodes, grants, waits, want, result)
	}
	d.tally.mu.Lock()
	changed, errs := d.tally.changing, d.tally.errs
	d.tally.mu.Unlock()
	fmt.Fprintf(tw, "  while nodes changed\t\t%d\t%d\n", changed[0], changed[1])
	fence := "refused: ok"
	if scene.lateAccepted || scene.second <= scene.first {
		fence, ok = "NOT MET", false
	}
	fmt.Fprintf(tw, "  %d fencing\t%d/%d\t2\t\tstale write %s\n", len(demoPhases)+1, demoNodes, demoNodes, fence)
	_ = tw.Flush()

	report, err := d.rec.Check(time.Now())
	if err != nil || len(errs) > 0 {
		fmt.Fprintf(d.out, "  the history could not be checked: %v %v\n", err, errs)
		fmt.Fprintln(d.out, "demo FAILED: see the lines above")
		return false
	}
	t := report.Total
	fmt.Fprintf(d.out, "  every hold checked against every other on one monotonic clock: %d grants, overlaps found: %d\n",
		t.Grants, t.Overlaps)
	fmt.Fprintf(d.out, "  fencing tokens: %d then %d; writes %d, stale writes refused %d, stale writes accepted %d\n",
		scene.first, scene.second, t.Writes, t.StaleRejected, t.StaleAccepted)
	if n := t.NotHeld + t.Unknown; n > 0 {
		fmt.Fprintf(d.out, "  releases a quorum did not confirm: %d (a node went down during the hold, or the paused holder)\n", n)
	}
	if !report.OK() {
		ok = false
		for _, e := range report.Examples {
			fmt.Fprintf(d.out, "  violation: %v\n", e)
		}
	}
	if ok {
		fmt.Fprintln(d.out, "demo OK: one holder at a time throughout; granted with 3 of 5 nodes up, refused with 2, granted again after recovery;\n"+
			"  the holder that paused past its validity was stopped by fencing")
	} else {
		fmt.Fprintln(d.out, "demo FAILED: see the lines above")
	}
	return ok
}
