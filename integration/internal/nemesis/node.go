package nemesis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"
)

// Command sends one command to the node at rawURL on a fresh connection,
// bypassing every client pool and proxy, so that fault injection and
// inspection never depend on the code under test. ctx bounds dialing,
// sending and the reply.
func Command(ctx context.Context, rawURL, cmd string, args ...any) (any, error) {
	c, err := redis.DialURLContext(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return redis.DoContext(c, ctx, cmd, args...)
}

// Uptime reads uptime_in_seconds from the text of INFO. Redis counts it by
// its wall clock, so a node whose clock stepped forward reports more.
func Uptime(info string) (time.Duration, error) {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "uptime_in_seconds:"); ok {
			s, err := strconv.Atoi(v)
			if err != nil {
				return 0, fmt.Errorf("INFO uptime_in_seconds %q: %w", v, err)
			}
			return time.Duration(s) * time.Second, nil
		}
	}
	return 0, fmt.Errorf("INFO has no uptime_in_seconds")
}

// NodeTime reads the node's wall clock with TIME.
func NodeTime(ctx context.Context, rawURL string) (time.Time, error) {
	v, err := redis.Int64s(Command(ctx, rawURL, "TIME"))
	if err != nil {
		return time.Time{}, err
	}
	if len(v) != 2 {
		return time.Time{}, fmt.Errorf("TIME answered %d numbers", len(v))
	}
	return time.Unix(v[0], v[1]*1000), nil
}

// ClockShim reports whether the node's image has the clock shim: it steps
// the node's clock forward by an hour, reads TIME until the step shows or
// about two seconds have passed, and sets the clock back in any case. Run
// it only while no lock is held on the node: its keys expire meanwhile.
func ClockShim(ctx context.Context, id, rawURL string) (bool, error) {
	const step = time.Hour
	if err := SetClock(id, Skew{Offset: step}); err != nil {
		return false, err
	}
	found := false
	for range 20 {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		t, err := NodeTime(rctx, rawURL)
		cancel()
		if err != nil {
			_ = SetClock(id, Skew{})
			return false, err
		}
		if d := time.Until(t); d > step-time.Minute && d < step+time.Minute {
			found = true
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return found, SetClock(id, Skew{})
}
