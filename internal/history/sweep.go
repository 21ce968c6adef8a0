package history

import (
	"cmp"
	"slices"
	"time"
)

// overlaps counts the holds beyond the name's capacity, and the most holds
// at once; holds is sorted by start. A min-heap keeps the ends of the holds
// begun so far that have not ended by the current start, so every hold left
// in it intersects the current one: with capacity 1 the count is the heap's
// size, and the longest intersection is with the latest end seen. Only
// examples, and capacities above 1, walk the heap.
func (c *checker) overlaps(nr *NameReport, holds []span) {
	var active endHeap
	var latest time.Duration // the latest end pushed so far
	for _, h := range holds {
		for len(active) > 0 && active[0].e <= h.s {
			active.pop()
		}
		if h.e <= h.s { // an empty hold: granted after its validity end
			continue
		}
		nr.Peak = max(nr.Peak, len(active)+1)
		switch k := len(active); {
		case nr.Capacity > 1:
			if k >= nr.Capacity {
				c.beyond(nr, h, active)
			}
		case k > 0:
			nr.Overlaps += len(active)
			nr.LongestOverlap = max(nr.LongestOverlap, min(latest, h.e)-h.s)
			for _, a := range active {
				if c.examples[Overlap] >= MaxExamples {
					break
				}
				c.example(Example{Kind: Overlap, Name: nr.Name, Holder: c.holder(h.g), Other: c.holder(a.g),
					At: h.s, Span: min(a.e, h.e) - h.s})
			}
		}
		active.push(h)
		latest = max(latest, h.e)
	}
}

// beyond counts h, a hold that begins while k holds are active, k at
// least the name's capacity c: it adds k-c+1 to the overlaps, and h ran
// with c others from its start until the c-th latest end among them, or
// its own end if that is earlier.
func (c *checker) beyond(nr *NameReport, h span, active endHeap) {
	k, capacity := len(active), nr.Capacity
	byEnd := slices.Clone(active)
	slices.SortFunc(byEnd, func(a, b span) int { return cmp.Compare(b.e, a.e) }) // latest first
	other := byEnd[capacity-1]
	span := min(other.e, h.e) - h.s
	nr.Overlaps += k - capacity + 1
	nr.LongestOverlap = max(nr.LongestOverlap, span)
	c.example(Example{Kind: Overlap, Name: nr.Name, Holder: c.holder(h.g), Other: c.holder(other.g),
		At: h.s, Span: span, Held: k + 1})
}

// tokens checks the fencing tokens of a name's holds, sorted by start: each
// must be greater than the token of every hold that ended before it began,
// and no two may be equal. Grants without a token are skipped.
func (c *checker) tokens(nr *NameReport, holds []span) {
	if !slices.ContainsFunc(holds, func(h span) bool { return c.grants[h.g].token != 0 }) {
		return
	}
	byEnd := slices.Clone(holds)
	slices.SortFunc(byEnd, func(a, b span) int { return cmp.Or(cmp.Compare(a.e, b.e), cmp.Compare(a.s, b.s)) })
	first := make(map[uint64]int32, len(holds)) // token -> the first grant that had it
	var best uint64                             // the greatest token of the holds ended so far
	bestBy, p := int32(-1), 0
	for _, h := range holds {
		// Ended before h began: by an earlier end, or an empty hold at h's start.
		for p < len(byEnd) && (byEnd[p].e < h.s || byEnd[p].e == h.s && byEnd[p].s < h.s) {
			if t := c.grants[byEnd[p].g].token; t > best {
				best, bestBy = t, byEnd[p].g
			}
			p++
		}
		t := c.grants[h.g].token
		if t == 0 {
			continue
		}
		if best != 0 && t <= best {
			nr.TokenOrder++
			c.example(Example{Kind: TokenOrder, Name: nr.Name, Holder: c.holder(h.g), Other: c.holder(bestBy),
				At: h.s, Token: t, OtherToken: best})
		}
		if o, dup := first[t]; dup {
			nr.SharedTokens++
			c.example(Example{Kind: SharedToken, Name: nr.Name, Holder: c.holder(h.g), Other: c.holder(o),
				At: h.s, Token: t})
		} else {
			first[t] = h.g
		}
	}
}

// endHeap is a min-heap of spans by end.
type endHeap []span

// push adds s.
func (h *endHeap) push(s span) {
	*h = append(*h, s)
	a := *h
	for i := len(a) - 1; i > 0; {
		parent := (i - 1) / 2
		if a[parent].e <= a[i].e {
			break
		}
		a[parent], a[i] = a[i], a[parent]
		i = parent
	}
}

// pop removes the span with the earliest end.
func (h *endHeap) pop() {
	a := *h
	last := len(a) - 1
	a[0] = a[last]
	a = a[:last]
	for i := 0; ; {
		least, l, r := i, 2*i+1, 2*i+2
		if l < len(a) && a[l].e < a[least].e {
			least = l
		}
		if r < len(a) && a[r].e < a[least].e {
			least = r
		}
		if least == i {
			break
		}
		a[i], a[least] = a[least], a[i]
		i = least
	}
	*h = a
}
