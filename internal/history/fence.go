package history

import "sync"

// A Fence models a resource protected by fencing tokens: it accepts a write
// only if the write's token is at least the highest token it has accepted,
// and refuses it otherwise. Equal tokens are accepted, so a holder may write
// any number of times under one grant; once a newer holder has written with
// a greater token, every write of an older holder is refused. Token zero is
// accepted only until a greater token has been. The zero Fence is ready to
// use and has accepted nothing. A Fence is safe for concurrent use.
type Fence struct {
	mu      sync.Mutex
	highest uint64
}

// Write presents token to the fence and reports whether the write was
// accepted. Use [Hold.Write] to record the write in a history as well.
func (f *Fence) Write(token uint64) bool { return f.write(token, nil) }

// Highest returns the highest token the fence has accepted, zero if none.
func (f *Fence) Highest() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.highest
}

// write decides on token and, if then is not nil, calls it with the
// decision before another write can be decided.
func (f *Fence) write(token uint64, then func(accepted bool)) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	accepted := token >= f.highest
	if accepted {
		f.highest = token
	}
	if then != nil {
		then(accepted)
	}
	return accepted
}
