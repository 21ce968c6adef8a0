package history

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Check examines everything recorded so far and returns what it found.
// stop is when the run stopped: a hold whose End was not recorded counts as
// acting until then. Recording may go on during and after Check, which
// works on a copy. It returns an error if stop is the zero time or before
// the recorder's start, or if the Recorder was not made by [NewRecorder].
//
// Check sorts each name's holds by start and sweeps them once, so it costs
// O(n log n) for n grants whatever their overlaps; only examples are kept,
// never every overlapping pair.
func (r *Recorder) Check(stop time.Time) (*Report, error) {
	switch {
	case r.names == nil:
		return nil, errors.New("history: recorder not made by NewRecorder")
	case stop.IsZero():
		return nil, errors.New("history: check: zero stop time")
	case stop.Before(r.start):
		return nil, fmt.Errorf("history: check: stop %v before the recorder's start", r.start.Sub(stop))
	}
	r.mu.Lock()
	c := checker{
		stop:    stop.Sub(r.start),
		names:   slices.Clone(r.list),
		grants:  slices.Clone(r.grants),
		updates: slices.Clone(r.updates),
		writes:  slices.Clone(r.writes),
		finals:  maps.Clone(r.finals),
		limits:  maps.Clone(r.limits),
	}
	r.mu.Unlock()
	return c.run(), nil
}

// checker holds a copy of the history and the report being built.
type checker struct {
	stop    time.Duration
	names   []string
	grants  []grant
	updates []update
	writes  []write
	finals  map[int32]int64
	limits  map[int32]int

	rep      Report
	examples [len(kindNames)]int // examples kept per kind
}

// span is one grant's hold on the timeline: [s, e).
type span struct {
	s, e time.Duration
	g    int32
}

// run checks every name, in name order, and sums the counts.
func (c *checker) run() *Report {
	c.rep.Stop = c.stop
	ids := make([]int32, len(c.grants))
	for i := range ids {
		ids[i] = int32(i)
	}
	grants := group(ids, len(c.names), func(i int32) int32 { return c.grants[i].name })
	updates := group(c.updates, len(c.names), func(u update) int32 { return c.grants[u.grant].name })
	writes := group(c.writes, len(c.names), func(w write) int32 { return c.grants[w.grant].name })
	order := make([]int32, len(c.names))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(c.names[a], c.names[b]) })
	c.rep.Names = make([]NameReport, 0, len(order))
	for _, n := range order {
		nr := NameReport{Name: c.names[n], Capacity: capacityOf(c.limits, n)}
		holds := c.holds(&nr, grants[n])
		c.overlaps(&nr, holds)
		c.tokens(&nr, holds)
		c.counter(&nr, n, updates[n])
		c.fenced(&nr, writes[n])
		c.rep.Total.add(&nr.Counts)
		c.rep.Names = append(c.rep.Names, nr)
	}
	return &c.rep
}

// group splits items by name, keeping their order, into slices of one
// backing array.
func group[T any](items []T, names int, name func(T) int32) [][]T {
	start := make([]int, names+1) // group n is all[start[n]:start[n+1]]
	for _, it := range items {
		start[name(it)+1]++
	}
	for n := range names {
		start[n+1] += start[n]
	}
	all := make([]T, len(items))
	next := slices.Clone(start[:names])
	for _, it := range items {
		n := name(it)
		all[next[n]] = it
		next[n]++
	}
	groups := make([][]T, names)
	for n := range groups {
		groups[n] = all[start[n]:start[n+1]:start[n+1]]
	}
	return groups
}

// example keeps e if fewer than MaxExamples of its kind are kept.
func (c *checker) example(e Example) {
	if c.examples[e.Kind] < MaxExamples {
		c.examples[e.Kind]++
		c.rep.Examples = append(c.rep.Examples, e)
	}
}

// holder returns the label of grant g, or "" for none (g < 0).
func (c *checker) holder(g int32) string {
	if g < 0 {
		return ""
	}
	return c.grants[g].holder
}

// holds counts the endings of a name's grants and the holders that acted
// past their validity end, and returns the holds sorted by start.
func (c *checker) holds(nr *NameReport, gs []int32) []span {
	nr.Grants = len(gs)
	holds := make([]span, len(gs))
	for k, i := range gs {
		g := &c.grants[i]
		acted := c.stop
		if g.ended {
			acted = g.end
			nr.ended(g.how)
		} else {
			nr.ended(Running)
		}
		holds[k] = span{s: g.at, e: max(g.at, min(acted, g.until)), g: i}
		if acted <= g.until {
			continue
		}
		nr.Overran++
		if g.watched && (!g.lostSeen || g.lost >= g.until) {
			nr.LateLost++
			e := Example{Kind: LateLost, Name: nr.Name, Holder: g.holder, At: g.until, Span: acted - g.until, NoSignal: true}
			if g.lostSeen {
				e.Late, e.NoSignal = g.lost-g.until, false
			}
			c.example(e)
		}
	}
	slices.SortFunc(holds, func(a, b span) int { return cmp.Or(cmp.Compare(a.s, b.s), cmp.Compare(a.g, b.g)) })
	return holds
}
