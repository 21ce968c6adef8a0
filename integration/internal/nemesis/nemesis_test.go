package nemesis

import (
	"bufio"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSkew(t *testing.T) {
	since := time.Unix(1_800_000_000, 0)
	s := Skew{Offset: 30 * time.Millisecond, RatePPM: 5000, Since: since}
	assert.Equal(t, 30*time.Millisecond, s.At(since.Add(-time.Second)), "no drift before it starts")
	assert.Equal(t, 80*time.Millisecond, s.At(since.Add(10*time.Second)), "0.5% of 10s is 50ms")
	assert.Equal(t, "30000000 5000 1800000000000000000\n", s.line())
	assert.Equal(t, "-20000000000 0 0\n", Skew{Offset: -20 * time.Second}.line(), "a step has no start")
	assert.Equal(t, "0 0 0\n", Skew{}.line(), "the real clock")
	assert.ErrorContains(t, SetClock("c", Skew{RatePPM: 10}), "with no start")
}

func TestUptime(t *testing.T) {
	up, err := Uptime("# Server\r\nredis_version:7.0.15\r\nuptime_in_seconds:42\r\nuptime_in_days:0\r\n")
	require.NoError(t, err)
	assert.Equal(t, 42*time.Second, up)
	_, err = Uptime("# Server\r\nredis_version:7.0.15\r\n")
	assert.ErrorContains(t, err, "no uptime_in_seconds")
	_, err = Uptime("uptime_in_seconds:soon\r\n")
	assert.ErrorContains(t, err, `"soon"`)
}

// echo serves line echoes on a loopback port until the test ends.
func echo(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() { _ = l.Close(); <-done })
	return l.Addr().String()
}

// roundTrip sends a line through addr and reads it back, within d.
func roundTrip(addr string, d time.Duration) error {
	c, err := net.DialTimeout("tcp", addr, d)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(d))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err == nil && line != "ping\n" {
		err = errors.New("garbled: " + line)
	}
	return err
}

func TestNetwork(t *testing.T) {
	n, err := NewNetwork([]string{echo(t), echo(t)})
	require.NoError(t, err)
	defer n.Close()
	require.NoError(t, roundTrip(n.Addr(0), 5*time.Second), "a healthy link")

	require.NoError(t, n.Cut(0, ""))
	var nerr net.Error
	require.ErrorAs(t, roundTrip(n.Addr(0), 300*time.Millisecond), &nerr, "a cut link drops the data")
	assert.True(t, nerr.Timeout())
	assert.NoError(t, roundTrip(n.Addr(1), 5*time.Second), "the other node's link is healthy")
	n.Heal(0)
	assert.NoError(t, roundTrip(n.Addr(0), 5*time.Second), "healed")

	require.NoError(t, n.Slow(1, 200*time.Millisecond, 0, ""))
	start := time.Now()
	require.NoError(t, roundTrip(n.Addr(1), 5*time.Second))
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond, "the reply was delayed")
	n.Heal(1)

	require.NoError(t, n.Reset(1, ""))
	assert.Error(t, roundTrip(n.Addr(1), 5*time.Second), "a reset link refuses the exchange")
	n.Heal(1)
	assert.NoError(t, roundTrip(n.Addr(1), 5*time.Second))

	require.NoError(t, n.Cut(1, "/a"))
	assert.ErrorContains(t, n.Cut(1, "/a"), "adding a timeout toxic to node 1", "a second fault with one tag")
	require.NoError(t, n.Cut(1, "/b"), "faults with two tags on one link")
	n.Remove(1, "/a")
	assert.Error(t, roundTrip(n.Addr(1), 300*time.Millisecond), "still cut by the other fault")
	n.Remove(1, "/b")
	assert.NoError(t, roundTrip(n.Addr(1), 5*time.Second), "both removed")
}

// A reset link leaves no goroutine behind, even for a client that sent
// more than one write before the connection closed.
func TestNetwork_resetLeavesNoGoroutine(t *testing.T) {
	up := echo(t)
	running := goleak.IgnoreCurrent()
	n, err := NewNetwork([]string{up})
	require.NoError(t, err)
	require.NoError(t, n.Reset(0, ""))
	for range 20 {
		c, err := net.DialTimeout("tcp", n.Addr(0), 5*time.Second)
		require.NoError(t, err)
		require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
		for range 1000 { // until the connection breaks: more writes after the first
			if _, err := c.Write([]byte("PING\r\n")); err != nil {
				break
			}
		}
		_, err = io.Copy(io.Discard, c)
		var nerr net.Error
		assert.False(t, errors.As(err, &nerr) && nerr.Timeout(), "the reset link closed the connection within 5s")
		_ = c.Close()
	}
	n.Close()
	goleak.VerifyNone(t, running)
}
