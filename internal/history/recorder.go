package history

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// A Recorder collects the history of a run: grants of lock names, and what
// each holder did with its grant. It is safe for concurrent use by any
// number of goroutines. Create one with [NewRecorder]; the zero Recorder
// refuses every record with an error.
type Recorder struct {
	start time.Time

	mu      sync.Mutex
	names   map[string]int32 // name -> index into list
	list    []string
	grants  []grant
	updates []update
	writes  []write
	finals  map[int32]int64 // name index -> counter value read after the run
	limits  map[int32]int   // name index -> capacity, if not 1
}

// grant is one recorded grant; instants are offsets from the recorder's start.
type grant struct {
	holder          string
	name            int32
	at, until       time.Duration
	end, lost       time.Duration // valid if ended, lostSet
	token           uint64
	how             Ending
	watched         bool
	ended, lostSeen bool
}

// update is one read-modify-write of a name's counter, in recording order.
type update struct {
	grant       int32
	read, wrote int64
}

// write is one write to a name's fenced resource, in the order the resource
// decided it.
type write struct {
	grant    int32
	token    uint64
	accepted bool
}

// NewRecorder returns an empty Recorder whose timeline starts at start.
// Every instant later given to it must come from the same clock as start:
// [time.Now] in real runs, so that offsets use the monotonic clock.
func NewRecorder(start time.Time) *Recorder {
	return &Recorder{start: start, names: make(map[string]int32), finals: make(map[int32]int64),
		limits: make(map[int32]int)}
}

// Capacity sets how many holds of name may run at once: n for the name of
// a semaphore with n permits, whose grants are recorded under that name.
// Check then counts as Overlaps only holds beyond the capacity (see
// [Counts]); the fencing checks still treat the name as one lock, so record
// a semaphore's fencing tokens under the names of its slots. A name's
// capacity is 1 unless set. It returns an error if name is empty, if n is
// below 1, or if name's capacity was already set to another value.
func (r *Recorder) Capacity(name string, n int) error {
	switch {
	case r.names == nil:
		return errors.New("history: recorder not made by NewRecorder")
	case name == "":
		return errors.New("history: capacity of an empty lock name")
	case n < 1:
		return fmt.Errorf("history: capacity of %q: %d is below 1", name, n)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.name(name)
	if old, set := r.limits[i]; set && old != n {
		return fmt.Errorf("history: capacity of %q: set to %d already, not %d", name, old, n)
	}
	r.limits[i] = n
	return nil
}

// name returns the index of name, adding it if new. r.mu is held.
func (r *Recorder) name(name string) int32 {
	i, ok := r.names[name]
	if !ok {
		i = int32(len(r.list))
		r.names[name] = i
		r.list = append(r.list, name)
	}
	return i
}

// capacityOf returns how many holds of the name i may run at once, by
// limits, a map of capacities.
func capacityOf(limits map[int32]int, i int32) int {
	if n, ok := limits[i]; ok {
		return n
	}
	return 1
}

// A Grant describes one successful Lock call, for [Recorder.Grant].
type Grant struct {
	// Name is the lock name. It must not be empty.
	Name string
	// Holder labels the client or worker that got the grant, for reports.
	// It must not be empty, and must not be a secret.
	Holder string
	// At is when the Lock call returned the grant.
	At time.Time
	// Until is the lock's validity end, Lock.Until at the grant. It may
	// precede At, for a grant that arrived expired: its hold is empty.
	Until time.Time
	// Token is the grant's fencing token; zero means the grant has none.
	Token uint64
	// Watched says the holder works under a lost signal that the library
	// promises before Until, such as the context Lock.Hold returns, so that
	// acting past Until without that signal is a violation (LateLost).
	Watched bool
}

// Grant records a grant and returns the handle on which its holder records
// what it does next. It returns an error naming the problem, and records
// nothing, if Name or Holder is empty, if At or Until is the zero time, if
// At is before the recorder's start, or if the Recorder was not made by
// [NewRecorder].
func (r *Recorder) Grant(g Grant) (*Hold, error) {
	switch {
	case r.names == nil:
		return nil, errors.New("history: recorder not made by NewRecorder")
	case g.Name == "":
		return nil, fmt.Errorf("history: grant to %q: empty lock name", g.Holder)
	case g.Holder == "":
		return nil, fmt.Errorf("history: grant of %q: empty holder label", g.Name)
	case g.At.IsZero() || g.Until.IsZero():
		return nil, fmt.Errorf("history: grant of %q to %q: zero grant time or validity end", g.Name, g.Holder)
	case g.At.Before(r.start):
		return nil, fmt.Errorf("history: grant of %q to %q: granted %v before the recorder's start",
			g.Name, g.Holder, r.start.Sub(g.At))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	name := r.name(g.Name)
	r.grants = append(r.grants, grant{
		holder: g.Holder, name: name, token: g.Token, watched: g.Watched,
		at: g.At.Sub(r.start), until: g.Until.Sub(r.start),
	})
	return &Hold{r: r, i: int32(len(r.grants) - 1)}, nil
}

// Final records the value of name's counter read after the run, so that
// Check compares it with the recorded increments instead of trusting the
// last recorded write. It returns an error if name's counter has no
// recorded update, so no initial value to start from, or if name already
// has a final value.
func (r *Recorder) Final(name string, value int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := r.names[name]
	if !ok || !slices.ContainsFunc(r.updates, func(u update) bool { return r.grants[u.grant].name == i }) {
		return fmt.Errorf("history: final value of %q: no update of its counter recorded", name)
	}
	if _, dup := r.finals[i]; dup {
		return fmt.Errorf("history: final value of %q recorded twice", name)
	}
	r.finals[i] = value
	return nil
}
