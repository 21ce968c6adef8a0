package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/quorumlock/quorumlock/integration/internal/nemesis"
	"github.com/quorumlock/quorumlock/internal/compose"
)

// defaultQuarantine is the library's quarantine for its default ttl (10s
// plus 1% drift and 2ms), rounded up: a run leaves the cluster only once
// every node has been up this long, so that whoever uses it next finds
// every node voting.
const defaultQuarantine = 11 * time.Second

// A cluster is the compose cluster a run works on: node i is service
// redis<i+1>, reached directly at urls[i] (never through a proxy) for
// faults and inspection.
type cluster struct {
	project string
	urls    []string
	hosts   []string // host:port of each node
	ids     []string // container ids
	clock   bool     // the nodes' image has the clock shim
}

// findCluster reads the compose project and ports from the environment,
// as scripts/cluster.sh and the integration suite do, finds the containers
// and checks that every node answers PING.
func findCluster() (*cluster, error) {
	urls, err := compose.URLs(os.Getenv)
	if err != nil {
		return nil, err
	}
	project, err := compose.Project(os.Getenv)
	if err != nil {
		return nil, err
	}
	c := &cluster{project: project, urls: urls}
	for _, u := range urls {
		pu, err := url.Parse(u)
		if err != nil {
			return nil, err
		}
		c.hosts = append(c.hosts, pu.Host)
	}
	if c.ids, err = nemesis.Containers(project, len(urls)); err != nil {
		return nil, err
	}
	return c, nil
}

// n returns the number of nodes.
func (c *cluster) n() int { return len(c.urls) }

// command sends one command to node i on a fresh connection, bounded by
// timeout.
func (c *cluster) command(i int, timeout time.Duration, cmd string, args ...any) (any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	v, err := nemesis.Command(ctx, c.urls[i], cmd, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", compose.Service(i), cmd, err)
	}
	return v, nil
}

// waitPing waits until every node answers PING, for at most within.
func (c *cluster) waitPing(within time.Duration) error {
	deadline := time.Now().Add(within)
	for i := range c.urls {
		for {
			_, err := c.command(i, 2*time.Second, "PING")
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s did not answer PING within %v: %w", compose.Service(i), within, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

// waitUptime waits until every node has been up for at least d, saying so
// on w if it has to wait, for at most d and a minute.
func (c *cluster) waitUptime(d time.Duration, w func(format string, args ...any)) error {
	deadline := time.Now().Add(d + time.Minute)
	said := false
	for {
		youngest := time.Duration(-1)
		for i := range c.urls {
			text, err := redis.String(c.command(i, 5*time.Second, "INFO", "server"))
			if err != nil {
				return fmt.Errorf("reading the uptime: %w", err)
			}
			up, err := nemesis.Uptime(text)
			if err != nil {
				return fmt.Errorf("%s: %w", compose.Service(i), err)
			}
			if youngest < 0 || up < youngest {
				youngest = up
			}
		}
		if youngest >= d {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the nodes were not up for %v within %v", d, d+time.Minute)
		}
		if !said {
			w("waiting %v until every node has been up for %v (the library's restart quarantine)",
				(d - youngest).Round(time.Second), d)
			said = true
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// heal undoes every fault a run can leave on the nodes: it unpauses or
// starts every container, sets every clock right (if the image has the
// shim), waits until every node answers PING, and gives every node the
// compose file's configuration back (appendonly yes, no maxmemory, the
// noeviction policy) without the eviction fault's filler keys. It says
// what it changed.
func (c *cluster) heal(w func(format string, args ...any)) error {
	errs := make([]error, c.n())
	var wg sync.WaitGroup
	for i, id := range c.ids {
		wg.Go(func() {
			was, err := nemesis.Revive(id)
			if err != nil {
				errs[i] = err
				return
			}
			if was != "running" {
				w("healed %s: it was %s", compose.Service(i), was)
			}
			if c.clock {
				errs[i] = nemesis.SetClock(id, nemesis.Skew{})
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := c.waitPing(2 * time.Minute); err != nil {
		return err
	}
	for i := range c.urls {
		if _, err := c.command(i, 10*time.Second, "CONFIG", "SET", "appendonly", "yes",
			"maxmemory", "0", "maxmemory-policy", "noeviction"); err != nil {
			return err
		}
		if n, err := c.deleteFiller(i); err != nil {
			return err
		} else if n > 0 {
			w("deleted %d filler keys on %s", n, service(i))
		}
	}
	return nil
}

// deleteFiller deletes the eviction fault's filler keys from node i, if
// an interrupted run left any, and returns how many.
func (c *cluster) deleteFiller(i int) (int, error) {
	deleted, cursor := 0, "0"
	for range 1000 { // SCAN visits the keyspace in bounded steps
		reply, err := redis.Values(c.command(i, 10*time.Second, "SCAN", cursor, "MATCH", keyPrefix+"*:filler:*", "COUNT", 1000))
		if err != nil {
			return deleted, err
		}
		var keys []any
		if _, err := redis.Scan(reply, &cursor, &keys); err != nil {
			return deleted, err
		}
		if len(keys) > 0 {
			if _, err := c.command(i, 10*time.Second, "DEL", keys...); err != nil {
				return deleted, err
			}
			deleted += len(keys)
		}
		if cursor == "0" {
			break
		}
	}
	return deleted, nil
}

// probeClock decides whether clock faults can run: mode off never, on only
// with the shim (an error without it), auto if the shim is there. It steps
// one node's clock for an instant: run it before any lock is taken.
func (c *cluster) probeClock(mode string) (note string, err error) {
	if mode == "off" {
		return "clock faults off (-clock off)", nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	has, err := nemesis.ClockShim(ctx, c.ids[0], c.urls[0])
	if err != nil {
		return "", fmt.Errorf("probing the clock shim of %s: %w", compose.Service(0), err)
	}
	c.clock = has
	switch {
	case has:
		return "", nil
	case mode == "on":
		return "", errors.New("-clock on, but the nodes' image has no clock shim: rebuild it with " +
			"scripts/build-redis-image.sh (needs a C compiler) and restart the cluster")
	}
	return "clock faults left out: the nodes' image has no clock shim (scripts/build-redis-image.sh adds it)", nil
}

// service names node i for people.
func service(i int) string { return compose.Service(i) }
