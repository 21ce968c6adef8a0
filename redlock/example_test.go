package redlock_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
	"time"

	"github.com/quorumlock/quorumlock/internal/testcluster"
	"github.com/quorumlock/quorumlock/redlock"
)

// The examples run against five in-process Redis servers; a real deployment
// passes one redis:// URL per independent master to redlock.ParseURL.
var (
	exampleMu       sync.Mutex
	exampleClusters []*testcluster.Cluster
)

// exampleNodes starts five in-process Redis servers and returns a node for
// each, as redlock.ParseURL("redis://host:port") would for real masters.
func exampleNodes() []*redlock.Node {
	exampleMu.Lock()
	defer exampleMu.Unlock()
	c, err := testcluster.Start(testcluster.Options{RealTimeTTL: true})
	if err != nil {
		log.Fatal(err)
	}
	exampleClusters = append(exampleClusters, c)
	return c.Nodes
}

func stopExampleServers() {
	exampleMu.Lock()
	defer exampleMu.Unlock()
	for _, c := range exampleClusters {
		c.Close()
	}
	exampleClusters = nil
}

// A lock held across five masters: Lock waits until it is granted or the
// context ends; Unlock reports whether a quorum still held it.
func Example() {
	client, err := redlock.New(exampleNodes(), redlock.WithTTL(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lock, err := client.Lock(ctx, "jobs:reindex")
	if err != nil {
		log.Fatal(err) // errors.Is(err, redlock.ErrNotObtained)
	}
	fmt.Println("held:", time.Until(lock.Until()) > 9*time.Second)

	// ... the critical section ...

	// Release even if ctx has ended meanwhile.
	if err := lock.Unlock(context.WithoutCancel(ctx)); err != nil {
		log.Fatal(err) // errors.Is(err, redlock.ErrNotHeld): it may have run unprotected
	}
	fmt.Println("released")
	// Output:
	// held: true
	// released
}

// TryLock makes one attempt; a lock held by another owner is not an error to
// report but a reason to skip the work.
func ExampleClient_TryLock() {
	client, err := redlock.New(exampleNodes())
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()

	first, err := client.TryLock(ctx, "reports:daily")
	if err != nil {
		log.Fatal(err)
	}
	defer first.Unlock(context.WithoutCancel(ctx))

	_, err = client.TryLock(ctx, "reports:daily")
	if errors.Is(err, redlock.ErrNotObtained) {
		fmt.Println("someone else is running the daily report")
	}
	// Output: someone else is running the daily report
}

// Extend pushes the lock's validity forward by its ttl; once it fails, the
// lock is lost for good and the work must stop.
func ExampleLock_Extend() {
	client, err := redlock.New(exampleNodes(), redlock.WithTTL(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()

	lock, err := client.Lock(ctx, "migrations")
	if err != nil {
		log.Fatal(err)
	}
	defer lock.Unlock(context.WithoutCancel(ctx))

	for step := 1; step <= 3; step++ {
		// ... one step of work, shorter than the ttl ...
		if err := lock.Extend(ctx); errors.Is(err, redlock.ErrLost) {
			fmt.Println("lock lost, stopping")
			return
		} else if err != nil {
			log.Fatal(err)
		}
		fmt.Println("step", step, "done, lock extended")
	}
	// Output:
	// step 1 done, lock extended
	// step 2 done, lock extended
	// step 3 done, lock extended
}

// A lock whose ttl ran out on the nodes cannot be extended: Extend says it is
// lost, and Unlock that it was no longer held.
func ExampleLock_Extend_lost() {
	nodes := exampleNodes()
	client, err := redlock.New(nodes, redlock.WithTTL(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()

	lock, err := client.Lock(ctx, "short")
	if err != nil {
		log.Fatal(err)
	}
	expireOnAllNodes(10 * time.Second) // as if the work had stalled past the ttl

	err = lock.Extend(ctx)
	fmt.Println("extend:", errors.Is(err, redlock.ErrLost))
	err = lock.Unlock(ctx)
	fmt.Println("unlock:", errors.Is(err, redlock.ErrNotHeld))
	// Output:
	// extend: true
	// unlock: true
}

// expireOnAllNodes moves the example servers' expiry clocks forward.
func expireOnAllNodes(d time.Duration) {
	exampleMu.Lock()
	defer exampleMu.Unlock()
	for _, c := range exampleClusters {
		c.FastForward(d)
	}
}

// Do runs a function under the lock, renewed in the background for as long
// as the function takes, and released when it returns.
func ExampleClient_Do() {
	client, err := redlock.New(exampleNodes(), redlock.WithTTL(3*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	err = client.Do(context.Background(), "invoices:close-month", func(ctx context.Context) error {
		// ctx is cancelled, with cause redlock.ErrLost, before the lock's
		// validity runs out if it cannot be renewed: stop when it is.
		fmt.Println("closing the month")
		return nil
	})
	if errors.Is(err, redlock.ErrNotObtained) {
		fmt.Println("another instance is closing the month")
	} else if err != nil {
		log.Fatal(err) // the work's error, a lost lock, or both
	}
	// Output: closing the month
}

// Hold renews a lock in the background; its context tells the work when the
// lock can no longer be shown to be held, before its validity runs out.
func ExampleLock_Hold() {
	client, err := redlock.New(exampleNodes(), redlock.WithTTL(300*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()

	lock, err := client.Lock(ctx, "exports")
	if err != nil {
		log.Fatal(err)
	}
	defer lock.Unlock(context.WithoutCancel(ctx)) // also stops the hold

	held, stop := lock.Hold(ctx)
	defer stop()

	takeOverOnAllNodes(lock.Key()) // as if the lock had expired and been taken

	<-held.Done() // a long job would check held between steps
	fmt.Println("stopped:", errors.Is(context.Cause(held), redlock.ErrLost))
	// Output: stopped: true
}

// takeOverOnAllNodes gives key to another owner on every example server.
func takeOverOnAllNodes(key string) {
	exampleMu.Lock()
	defer exampleMu.Unlock()
	for _, c := range exampleClusters {
		for _, s := range c.Servers {
			_ = s.Redis().Set(key, "another-owner")
		}
	}
}

// A semaphore lets up to n holders work at once. Each permit is a lock on
// one of the semaphore's slots, with everything a lock offers.
func ExampleClient_Semaphore() {
	client, err := redlock.New(exampleNodes())
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	renders, err := client.Semaphore("renders", 2)
	if err != nil {
		log.Fatal(err) // errors.Is(err, redlock.ErrInvalidArgument)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	a, err := renders.Acquire(ctx) // waits for a permit until ctx ends
	if err != nil {
		log.Fatal(err) // errors.Is(err, redlock.ErrNotObtained)
	}
	b, err := renders.Acquire(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Unlock(context.WithoutCancel(ctx))
	fmt.Println("two holders, on slots", min(a.Slot(), b.Slot()), "and", max(a.Slot(), b.Slot()))

	_, err = renders.TryAcquire(ctx)
	fmt.Println("a third:", errors.Is(err, redlock.ErrNotObtained))

	if err := a.Unlock(context.WithoutCancel(ctx)); err != nil {
		log.Fatal(err)
	}
	c, err := renders.TryAcquire(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Unlock(context.WithoutCancel(ctx))
	fmt.Println("after a release, the freed slot:", c.Slot() == a.Slot())
	// Output:
	// two holders, on slots 0 and 1
	// a third: true
	// after a release, the freed slot: true
}

// Do runs a function under one of n permits, renewed while it runs, and
// gives it the permit, whose slot tells it which of n resources to use.
func ExampleSemaphore_Do() {
	client, err := redlock.New(exampleNodes(), redlock.WithTTL(3*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	encoders, err := client.Semaphore("encoders", 4)
	if err != nil {
		log.Fatal(err)
	}
	err = encoders.Do(context.Background(), func(ctx context.Context, p *redlock.Permit) error {
		fmt.Println("encoding with one of 4 permits:", p.Slot() >= 0 && p.Slot() < 4) // which encoder to use
		return nil
	}, redlock.WithWait(time.Minute))
	if err != nil {
		log.Fatal(err) // not obtained, the work's error, a lost permit, or both
	}
	// Output: encoding with one of 4 permits: true
}
