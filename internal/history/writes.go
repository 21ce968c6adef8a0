package history

// counter checks a name's counter updates, in recording order: each must
// have read the value the previous one wrote, and the final value must be
// the first read plus every increment.
func (c *checker) counter(nr *NameReport, name int32, ups []update) {
	if len(ups) == 0 {
		return
	}
	ctr := &Counter{Initial: ups[0].read}
	latest, latestBy := ups[0].read, int32(-1)
	for _, u := range ups {
		if u.read != latest {
			nr.LostUpdates++
			c.example(Example{Kind: LostUpdate, Name: nr.Name, Holder: c.holder(u.grant), Other: c.holder(latestBy),
				At: c.grants[u.grant].at, Got: u.read, Want: latest})
		}
		ctr.Increments += u.wrote - u.read
		latest, latestBy = u.wrote, u.grant
	}
	ctr.Final = latest
	if v, ok := c.finals[name]; ok {
		ctr.Final, ctr.FinalRecorded = v, true
	}
	nr.Updates = len(ups)
	nr.Counter = ctr
	if want := ctr.Initial + ctr.Increments; ctr.Final != want {
		nr.FinalMismatches = 1
		c.example(Example{Kind: FinalMismatch, Name: nr.Name, At: c.stop, Got: ctr.Final, Want: want})
	}
}

// fenced checks a name's fenced writes, in the order the resource decided
// them: no accepted token may be below one accepted before. Refused writes
// are counted, not held against anyone.
func (c *checker) fenced(nr *NameReport, ws []write) {
	var highest uint64
	highestBy := int32(-1) // none accepted yet
	for _, w := range ws {
		nr.Writes++
		switch {
		case !w.accepted:
			nr.StaleRejected++
		case highestBy >= 0 && w.token < highest:
			nr.StaleAccepted++
			c.example(Example{Kind: StaleAccepted, Name: nr.Name, Holder: c.holder(w.grant), Other: c.holder(highestBy),
				At: c.grants[w.grant].at, Token: w.token, OtherToken: highest})
		case highestBy < 0 || w.token > highest:
			highest, highestBy = w.token, w.grant
		}
	}
}
