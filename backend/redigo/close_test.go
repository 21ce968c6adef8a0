package redigo_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/quorumlock/quorumlock/backend/redigo"
)

// TestCloseEndsEveryCall closes a Conn while goroutines send commands with
// no deadline: every call returns, none is left queued on a lane whose
// writer has gone.
func TestCloseEndsEveryCall(t *testing.T) {
	srv := miniredis.RunT(t)
	const rounds, callers = 500, 16
	for round := range rounds {
		conn, err := redigo.Open(redigo.Options{Addr: srv.Addr()})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		var wg sync.WaitGroup
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 20 {
					if _, err := conn.Eval(context.Background(), "return 1", nil, nil); err != nil {
						return
					}
				}
			}()
		}
		time.Sleep(time.Duration(round%5) * 100 * time.Microsecond)
		_ = conn.Close()
		ended := make(chan struct{})
		go func() { wg.Wait(); close(ended) }()
		select {
		case <-ended:
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: calls without a deadline still waiting 30s after Close", round)
		}
	}
}
