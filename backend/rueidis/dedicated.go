package rueidis

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/redis/rueidis"
)

// A dedicator takes dedicated connections from a client for subscriptions.
// rueidis dials one without a context, within its own timeouts; a
// dedicator lets each caller wait as long as its context allows, keeps at
// most one dial in flight, and keeps a connection that arrives after its
// caller gave up for the next caller.
type dedicator struct {
	client rueidis.Client

	mu     sync.Mutex
	flight chan struct{}           // closed when the dial in flight ends; nil if none
	spare  rueidis.DedicatedClient // a connection no caller has taken yet
	closed bool
	wg     sync.WaitGroup // the dial in flight
}

// get returns a dedicated connection, or an error if ctx ends first.
func (d *dedicator) get(ctx context.Context) (rueidis.DedicatedClient, error) {
	for {
		d.mu.Lock()
		switch {
		case d.closed:
			d.mu.Unlock()
			return nil, errClosed
		case d.spare != nil:
			dc := d.spare
			d.spare = nil
			d.mu.Unlock()
			return dc, nil
		case d.flight == nil:
			flight := make(chan struct{})
			d.flight = flight
			d.wg.Go(func() { d.dedicate(flight) })
		}
		flight := d.flight
		d.mu.Unlock()
		select {
		case <-flight:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for a dedicated connection: %w", context.Cause(ctx))
		}
	}
}

var errClosed = errors.New("rueidis: the Conn is closed")

// dedicate takes a connection from the client and leaves it for get.
func (d *dedicator) dedicate(flight chan struct{}) {
	dc, _ := d.client.Dedicate() // closed by dc.Close, which also puts it back
	d.mu.Lock()
	defer d.mu.Unlock()
	d.flight = nil
	close(flight)
	if d.closed || d.spare != nil {
		dc.Close()
		return
	}
	d.spare = dc
}

// close closes the spare connection, and waits for the dial in flight,
// whose connection it closes too.
func (d *dedicator) close() {
	d.mu.Lock()
	d.closed = true
	spare := d.spare
	d.spare = nil
	d.mu.Unlock()
	if spare != nil {
		spare.Close()
	}
	d.wg.Wait()
}
