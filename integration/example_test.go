//go:build integration

package integration

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/quorumlock/quorumlock/redlock"
)

// A lock on the real cluster: one node per redis:// URL of REDLOCK_NODES,
// held by a majority, extended once and released.
func Example() {
	var nodes []*redlock.Node
	for _, u := range nodeURLs { // e.g. redis://127.0.0.1:7001
		node, err := redlock.ParseURL(u)
		if err != nil {
			log.Fatal(err)
		}
		defer node.Close() // after the client's Close below
		nodes = append(nodes, node)
	}
	// The default node timeout (50ms) suits nodes that answer within a
	// millisecond; this example runs beside a test suite on a busy machine.
	client, err := redlock.New(nodes, redlock.WithTTL(10*time.Second), redlock.WithNodeTimeout(time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close() // waits for releases still running in the background

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	lock, err := client.Lock(ctx, keyPrefix+"example:jobs:reindex")
	if err != nil {
		log.Fatal(err) // errors.Is(err, redlock.ErrNotObtained)
	}
	fmt.Println("held:", time.Now().Before(lock.Until()))

	// ... a first part of the work ...
	if err := lock.Extend(ctx); err != nil {
		log.Fatal(err) // errors.Is(err, redlock.ErrLost): stop the work
	}
	fmt.Println("extended")

	// ... the rest of the work ...
	if err := lock.Unlock(context.WithoutCancel(ctx)); err != nil {
		log.Fatal(err) // errors.Is(err, redlock.ErrNotHeld): it may have run unprotected
	}
	fmt.Println("released")
	// Output:
	// held: true
	// extended
	// released
}
