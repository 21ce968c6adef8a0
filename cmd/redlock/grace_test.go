//go:build unix

package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/quorumlock/quorumlock/clock"
	"github.com/quorumlock/quorumlock/internal/testcluster"
)

// A program that ignores SIGTERM is killed before the lock's validity
// ends, even with a --grace above half the ttl (which was once cut to
// ttl/2, so that SIGKILL came after the validity). The lock and the grace
// run on a fake clock: the test moves it to the hold's margin, where
// renewal gives up, then to just before the validity ends, and the program
// must be dead by then.
func TestRun_killBeforeValidityEnds(t *testing.T) {
	const (
		ttl   = 3 * time.Second
		grace = 1800 * time.Millisecond
	)
	fake := clock.NewFake(time.Now())
	c := testcluster.New(t, testcluster.Options{Servers: 5, Clock: fake})
	var urls []string
	for _, s := range c.Servers {
		urls = append(urls, s.URL())
	}
	dir := t.TempDir()
	env := append(environ(), nodesEnv+"="+strings.Join(urls, ","), "DIR="+dir)
	var stdout, stderr syncBuffer
	sio := stdio{out: &stdout, err: &stderr, env: env, clock: fake}
	code := make(chan int, 1)
	start := fake.Now() // the acquisition's start: the fake clock stands still until the test moves it
	go func() {
		code <- dispatch([]string{"run", testNodeTimeout, "--ttl", ttl.String(), "--grace", grace.String(), "job", "--",
			"sh", "-c", `trap '' TERM; echo started > "$DIR/started"; sleep 30`}, sio)
	}()
	waitFile(t, filepath.Join(dir, "started"))
	for _, s := range c.Servers[:3] {
		s.Stop() // no renewal can succeed now
	}

	until := start.Add(clock.Validity(ttl, 0, driftFactor))
	margin, err := holdMargin(ttl, grace)
	require.NoError(t, err)
	fake.Advance(until.Add(-margin).Sub(fake.Now())) // the hold gives up here
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "SIGTERM now, SIGKILL in 1.8s") },
		20*time.Second, 5*time.Millisecond, "SIGTERM at the hold's margin; stderr: %s", stderr.String())

	fake.Advance(until.Add(-time.Millisecond).Sub(fake.Now()))
	select {
	case got := <-code:
		assert.Equal(t, exitLost, got, "stderr: %s", stderr.String())
	case <-time.After(20 * time.Second):
		fake.Advance(time.Hour) // let it end
		<-code
		t.Fatalf("the program was not killed before the lock's validity ended; stderr: %s", stderr.String())
	}
	assert.Contains(t, stderr.String(), `redlock: lock "job" lost: redlock: lock lost: "job": not renewed within 2.1s of the end of its validity`)
}
