package redlock

import "sync"

// background counts a client's background work. Unlike a sync.WaitGroup it
// may be waited on while new work starts, as when Close runs while a hold
// renews: wait returns at a moment when nothing is running.
type background struct {
	mu   sync.Mutex
	cond sync.Cond // signalled when n drops to zero
	n    int
}

func (b *background) add() {
	b.mu.Lock()
	b.n++
	b.mu.Unlock()
}

func (b *background) done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n--
	if b.n == 0 && b.cond.L != nil {
		b.cond.Broadcast()
	}
}

// wait blocks until no background work is running.
func (b *background) wait() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cond.L == nil {
		b.cond.L = &b.mu
	}
	for b.n > 0 {
		b.cond.Wait()
	}
}

// goDo runs f in a goroutine counted as background work.
func (b *background) goDo(f func()) {
	b.add()
	go func() {
		defer b.done()
		f()
	}()
}
