package goredis_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/quorumlock/quorumlock/backend/goredis"
	"github.com/quorumlock/quorumlock/internal/testcluster"
	"github.com/quorumlock/quorumlock/redlock"
)

// exampleServers starts n in-process Redis servers, standing in for
// independent masters, and returns their addresses and a function that
// stops them.
func exampleServers(n int) (addrs []string, stop func()) {
	c, err := testcluster.Start(testcluster.Options{Servers: n, RealTimeTTL: true})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range c.Servers {
		addrs = append(addrs, s.Addr())
	}
	return addrs, c.Close
}

// A go-redis user locks with the clients they already have, one per
// independent master.
func Example() {
	addrs, stop := exampleServers(5)
	defer stop()

	var nodes []*redlock.Node
	for _, addr := range addrs {
		rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
		defer rdb.Close() // the client stays yours: the node does not close it
		conn, err := goredis.New(rdb)
		if err != nil {
			log.Fatal(err)
		}
		node, err := redlock.NewNode(addr, conn)
		if err != nil {
			log.Fatal(err)
		}
		defer node.Close()
		nodes = append(nodes, node)
	}
	client, err := redlock.New(nodes, redlock.WithTTL(10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	lock, err := client.Lock(ctx, "reports:daily")
	if err != nil {
		log.Fatal(err) // errors.Is(err, redlock.ErrNotObtained)
	}
	fmt.Println("held:", time.Until(lock.Until()) > 8*time.Second)
	fmt.Println("unlocked:", lock.Unlock(context.WithoutCancel(ctx)) == nil)
	// Output:
	// held: true
	// unlocked: true
}
