package history

import (
	"fmt"
	"time"
)

// A Report is what [Recorder.Check] found. Its fields encode to JSON with
// encoding/json, durations as integer nanoseconds, for a run's record file.
type Report struct {
	// Stop is the instant Check was given, as an offset from the
	// recorder's start: holds still running count as acting until then.
	Stop time.Duration `json:"stop_ns"`
	// Total sums the counts of every name.
	Total Counts `json:"total"`
	// Names has one entry per lock name, sorted by name.
	Names []NameReport `json:"names"`
	// Examples holds the first [MaxExamples] findings of each violation
	// kind, in name order and, within a name, by start for holds and in
	// recording order for updates and writes.
	Examples []Example `json:"examples,omitempty"`
}

// MaxExamples is how many examples of each violation kind a Report keeps.
const MaxExamples = 3

// OK reports whether the history has no violation of any kind.
func (r *Report) OK() bool { return r.Total.Violations() == 0 }

// A NameReport is what Check found for one lock name.
type NameReport struct {
	// Name is the lock name.
	Name string `json:"name"`
	// Capacity is how many holds of the name may run at once: 1, or
	// what [Recorder.Capacity] set.
	Capacity int `json:"capacity"`
	// Peak is the most holds of the name that ran at once.
	Peak int `json:"peak"`
	Counts
	// Counter describes the name's counter; nil if no update was recorded.
	Counter *Counter `json:"counter,omitempty"`
}

// A Counter sums up the updates of one name's counter.
type Counter struct {
	// Initial is the value the first recorded update read.
	Initial int64 `json:"initial"`
	// Increments is the sum of what every update added (written minus read).
	Increments int64 `json:"increments"`
	// Final is the value recorded by [Recorder.Final] if FinalRecorded,
	// else the value the last update wrote.
	Final int64 `json:"final"`
	// FinalRecorded says Final was read after the run.
	FinalRecorded bool `json:"final_recorded"`
}

// Counts are the numbers Check found, for one name or in total. The
// violations are Overlaps, LostUpdates, FinalMismatches, LateLost,
// TokenOrder, SharedTokens and StaleAccepted; the package documentation
// says what each means.
type Counts struct {
	Grants int `json:"grants"` // grants recorded
	// How the holds ended, one count per [Ending].
	Released      int `json:"released"`
	NotHeld       int `json:"not_held"`
	Unknown       int `json:"unknown"`
	StoppedOnLoss int `json:"stopped_on_loss"`
	Running       int `json:"running"`

	// Overlaps counts holds beyond a name's capacity c: a hold that begins
	// while k >= c others run adds k-c+1, so for c = 1 it is the number of
	// pairs of intersecting holds. LongestOverlap is the longest time a hold
	// ran with c others from its start: for c = 1, the longest
	// intersection.
	Overlaps       int           `json:"overlaps"`
	LongestOverlap time.Duration `json:"longest_overlap_ns"`

	Updates         int `json:"updates"`          // counter updates recorded
	LostUpdates     int `json:"lost_updates"`     // updates that read a stale value
	FinalMismatches int `json:"final_mismatches"` // names whose final value is off

	Overran  int `json:"overran"`   // holds that acted past their validity end
	LateLost int `json:"late_lost"` // watched ones among them without a timely lost signal

	TokenOrder    int `json:"token_order"`    // later grants without a greater token
	SharedTokens  int `json:"shared_tokens"`  // grants whose token an earlier grant had
	Writes        int `json:"writes"`         // fenced writes recorded
	StaleAccepted int `json:"stale_accepted"` // accepted with a token below an accepted one
	StaleRejected int `json:"stale_rejected"` // refused by the resource: not a violation
}

// Violations returns the number of violations of every kind.
func (c *Counts) Violations() int {
	return c.Overlaps + c.LostUpdates + c.FinalMismatches + c.LateLost +
		c.TokenOrder + c.SharedTokens + c.StaleAccepted
}

// add adds o's counts to c, and keeps the longer of the longest overlaps.
func (c *Counts) add(o *Counts) {
	c.Grants += o.Grants
	c.Released += o.Released
	c.NotHeld += o.NotHeld
	c.Unknown += o.Unknown
	c.StoppedOnLoss += o.StoppedOnLoss
	c.Running += o.Running
	c.Overlaps += o.Overlaps
	c.LongestOverlap = max(c.LongestOverlap, o.LongestOverlap)
	c.Updates += o.Updates
	c.LostUpdates += o.LostUpdates
	c.FinalMismatches += o.FinalMismatches
	c.Overran += o.Overran
	c.LateLost += o.LateLost
	c.TokenOrder += o.TokenOrder
	c.SharedTokens += o.SharedTokens
	c.Writes += o.Writes
	c.StaleAccepted += o.StaleAccepted
	c.StaleRejected += o.StaleRejected
}

// ended counts one hold that ended as how.
func (c *Counts) ended(how Ending) {
	switch how {
	case Released:
		c.Released++
	case ReleasedNotHeld:
		c.NotHeld++
	case ReleasedUnknown:
		c.Unknown++
	case StoppedOnLoss:
		c.StoppedOnLoss++
	default:
		c.Running++
	}
}

// An Example is one violation found, told by labels, instants, durations,
// tokens and counter values. Which fields are set depends on Kind:
//
//   - Overlap: Holder's hold began at At while Other's still ran; they
//     overlapped for Span. For a name whose capacity is above 1, Held
//     holds ran at once from At, Holder's and Other's among them, and more
//     than the capacity ran for Span.
//   - LostUpdate: Holder (granted at At) read Got while the latest value
//     written, by Other, was Want.
//   - FinalMismatch: the counter ended at Got instead of Want; At is Stop.
//   - LateLost: Holder's validity ended at At and it acted Span longer; its
//     lost signal came Late after At, or never if NoSignal.
//   - TokenOrder: Holder, granted at At with Token, began after Other's
//     hold with OtherToken had ended.
//   - SharedToken: Holder, granted at At, got Token, as Other had.
//   - StaleAccepted: Holder's write with Token (granted at At) was accepted
//     after Other's write with the greater OtherToken.
type Example struct {
	Kind       Kind          `json:"kind"`
	Name       string        `json:"name"`
	Holder     string        `json:"holder,omitempty"`
	Other      string        `json:"other,omitempty"`
	At         time.Duration `json:"at_ns"`
	Span       time.Duration `json:"span_ns,omitempty"`
	Late       time.Duration `json:"late_ns,omitempty"`
	NoSignal   bool          `json:"no_signal,omitempty"`
	Token      uint64        `json:"token,omitempty"`
	OtherToken uint64        `json:"other_token,omitempty"`
	Got        int64         `json:"got,omitempty"`
	Want       int64         `json:"want,omitempty"`
	Held       int           `json:"held,omitempty"`
}

// String describes the example in one line.
func (e Example) String() string {
	head := fmt.Sprintf("%s: %s: ", e.Kind, e.Name)
	switch e.Kind {
	case Overlap:
		if e.Held > 0 {
			return head + fmt.Sprintf("%s from %s made %d holders at once, with %s among them, for %v",
				e.Holder, at(e.At), e.Held, e.Other, short(e.Span))
		}
		return head + fmt.Sprintf("%s from %s while %s held it, for %v", e.Holder, at(e.At), e.Other, short(e.Span))
	case LostUpdate:
		return head + fmt.Sprintf("%s (granted %s) read %d after %s wrote %d", e.Holder, at(e.At), e.Got, e.Other, e.Want)
	case FinalMismatch:
		return head + fmt.Sprintf("final value %d, expected %d", e.Got, e.Want)
	case LateLost:
		signal := "no lost signal"
		if !e.NoSignal {
			signal = fmt.Sprintf("lost signal %v late", short(e.Late))
		}
		return head + fmt.Sprintf("%s acted %v past its validity end at %s, %s", e.Holder, short(e.Span), at(e.At), signal)
	case TokenOrder:
		return head + fmt.Sprintf("%s got token %d at %s, after %s's hold with token %d ended", e.Holder, e.Token, at(e.At), e.Other, e.OtherToken)
	case SharedToken:
		return head + fmt.Sprintf("%s got token %d at %s, as %s had", e.Holder, e.Token, at(e.At), e.Other)
	case StaleAccepted:
		return head + fmt.Sprintf("%s's write with token %d accepted after %s's with token %d", e.Holder, e.Token, e.Other, e.OtherToken)
	}
	return head + "?"
}

// at formats an offset on the recorder's timeline.
func at(d time.Duration) string { return fmt.Sprintf("t=%.3fs", d.Seconds()) }

// short rounds d for reading.
func short(d time.Duration) time.Duration { return d.Round(time.Microsecond) }
