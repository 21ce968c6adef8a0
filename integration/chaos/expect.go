package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/quorumlock/quorumlock/internal/history"
)

// The violation kinds of internal/history, as measures of a phase.
var (
	mOverlap       = history.Overlap.String()
	mLostUpdate    = history.LostUpdate.String()
	mLateLost      = history.LateLost.String()
	mTokenOrder    = history.TokenOrder.String()
	mSharedToken   = history.SharedToken.String()
	mStaleAccepted = history.StaleAccepted.String()
)

// Measures an out-of-model phase is judged by besides the violation kinds.
const (
	mStaleRejected = "stale-rejected"   // fenced writes the resource refused
	mContenders    = "contender-grants" // grants to the contenders while the victim held the lock
	mQuarantined   = "quarantined"      // contenders' attempts refused because nodes were in quarantine
	mVetRefused    = "vetting-refused"  // nodes a client created during the fault refused
)

// An expect is one expected bound on a measure: at least Min, and at most
// Max unless Max is negative.
type expect struct {
	Measure string `json:"measure"`
	Min     int    `json:"min"`
	Max     int    `json:"max"` // -1: no upper bound
}

// some expects at least one; none expects zero; exactly expects n.
func some(m string) expect           { return expect{Measure: m, Min: 1, Max: -1} }
func none(m string) expect           { return expect{Measure: m, Max: 0} }
func exactly(m string, n int) expect { return expect{Measure: m, Min: n, Max: n} }

// String renders the bound, as "overlap >= 1".
func (e expect) String() string {
	switch {
	case e.Max < 0:
		return fmt.Sprintf("%s >= %d", e.Measure, e.Min)
	case e.Min == e.Max:
		return fmt.Sprintf("%s = %d", e.Measure, e.Min)
	}
	return fmt.Sprintf("%s in [%d, %d]", e.Measure, e.Min, e.Max)
}

// holds reports whether got meets the bound.
func (e expect) holds(got map[string]int) bool {
	v := got[e.Measure]
	return v >= e.Min && (e.Max < 0 || v <= e.Max)
}

// A phaseRecord is one phase of an out-of-model run: what was expected and
// what was seen.
type phaseRecord struct {
	Label    string          `json:"label"` // unprotected, fencing or quarantine
	Expected []expect        `json:"expected"`
	Got      map[string]int  `json:"got"`
	Matched  bool            `json:"matched"`
	Missed   []string        `json:"missed,omitempty"` // the bounds not met, with what was seen
	Report   *history.Report `json:"report,omitempty"`
	Err      string          `json:"error,omitempty"` // the phase could not be carried out
}

// judge fills Got from the report and the phase's own counts, and checks
// every expectation.
func (p *phaseRecord) judge(rep *history.Report, own map[string]int) {
	p.Report = rep
	p.Got = violations(&rep.Total)
	p.Got[mStaleRejected] = rep.Total.StaleRejected
	p.Got["overran"] = rep.Total.Overran
	for k, v := range own {
		p.Got[k] = v
	}
	p.Matched = true
	for _, e := range p.Expected {
		if !e.holds(p.Got) {
			p.Matched = false
			p.Missed = append(p.Missed, fmt.Sprintf("expected %v, saw %d", e, p.Got[e.Measure]))
		}
	}
}

// printPhases writes the out-of-model part of the summary.
func (r *record) printPhases(w io.Writer) {
	for _, p := range r.Phases {
		verdict := "as expected"
		switch {
		case p.Err != "":
			verdict = "could not be run: " + p.Err
		case !p.Matched:
			verdict = "NOT as expected: " + strings.Join(p.Missed, "; ")
		}
		fmt.Fprintf(w, "  %s: %s\n", p.Label, verdict)
		if p.Got == nil {
			continue
		}
		var exp, seen []string
		for _, e := range p.Expected {
			exp = append(exp, e.String())
		}
		for _, k := range []string{mOverlap, mLostUpdate, mLateLost, mStaleAccepted, mStaleRejected, mContenders,
			mQuarantined, mVetRefused} {
			if v, ok := p.Got[k]; ok {
				seen = append(seen, fmt.Sprintf("%s %d", k, v))
			}
		}
		fmt.Fprintf(w, "    expected: %s\n    saw: %s\n", strings.Join(exp, ", "), strings.Join(seen, ", "))
		if p.Report != nil {
			for _, e := range p.Report.Examples[:min(2, len(p.Report.Examples))] {
				fmt.Fprintf(w, "    e.g. %s\n", e)
			}
		}
	}
}
