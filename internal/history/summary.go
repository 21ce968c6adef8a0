package history

import (
	"fmt"
	"strings"
)

// summaryNames is how many names String lists one by one.
const summaryNames = 5

// String summarizes the report in at most 40 lines whatever the size
// of the history: the counts, one line for each of the first few names, and
// the examples kept. It names holders by their labels and never shows a
// lock's secret token.
func (r *Report) String() string {
	var b strings.Builder
	t := &r.Total
	verdict := "no violations"
	if v := t.Violations(); v > 0 {
		verdict = fmt.Sprintf("violations %d", v)
	}
	fmt.Fprintf(&b, "history up to %s: grants %d, names %d: %s\n", at(r.Stop), t.Grants, len(r.Names), verdict)
	fmt.Fprintf(&b, "  endings   released %d, not held %d, unknown %d, stopped on loss %d, running %d\n",
		t.Released, t.NotHeld, t.Unknown, t.StoppedOnLoss, t.Running)
	fmt.Fprintf(&b, "  overlaps  %d", t.Overlaps)
	if t.Overlaps > 0 {
		fmt.Fprintf(&b, ", longest %v", short(t.LongestOverlap))
	}
	fmt.Fprintf(&b, "\n  counter   updates %d, lost %d, names with a wrong final value %d\n",
		t.Updates, t.LostUpdates, t.FinalMismatches)
	fmt.Fprintf(&b, "  validity  late lost signals %d; holds that acted past it %d (not a violation)\n", t.LateLost, t.Overran)
	fmt.Fprintf(&b, "  fencing   token order %d, shared tokens %d, stale writes accepted %d; refused as stale %d of %d writes\n",
		t.TokenOrder, t.SharedTokens, t.StaleAccepted, t.StaleRejected, t.Writes)
	for i, n := range r.Names {
		if i == summaryNames {
			fmt.Fprintf(&b, "  names not shown %d\n", len(r.Names)-summaryNames)
			break
		}
		fmt.Fprintf(&b, "  name %s: grants %d, violations %d", n.Name, n.Grants, n.Violations())
		if n.Capacity > 1 {
			fmt.Fprintf(&b, ", at most %d holders at once of %d allowed", n.Peak, n.Capacity)
		}
		b.WriteString("\n")
	}
	if len(r.Examples) > 0 {
		b.WriteString("  examples:\n")
		for _, e := range r.Examples {
			fmt.Fprintf(&b, "    %s\n", e)
		}
	}
	return b.String()
}
