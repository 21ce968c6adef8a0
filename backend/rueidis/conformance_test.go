package rueidis_test

import (
	"errors"
	"testing"

	"github.com/redis/rueidis"

	qrueidis "github.com/quorumlock/quorumlock/backend/rueidis"
	"github.com/quorumlock/quorumlock/redlock"
	"github.com/quorumlock/quorumlock/redlocktest"
)

// newClient makes a client as a user would, with rueidis's defaults (RESP3,
// auto-pipelining, client-side caching where the server supports it) but
// for what opt sets.
func newClient(tb testing.TB, s redlocktest.Server, opt rueidis.ClientOption) rueidis.Client {
	tb.Helper()
	opt.InitAddress = []string{s.Addr}
	opt.Password = s.Password
	opt.TLSConfig = s.TLS
	opt.ForceSingleClient = true
	rc, err := rueidis.NewClient(opt)
	if errors.Is(err, rueidis.ErrNoCache) { // miniredis has no CLIENT TRACKING
		opt.DisableCache = true
		rc, err = rueidis.NewClient(opt)
	}
	if err != nil {
		tb.Fatalf("rueidis.NewClient: %v", err)
	}
	tb.Cleanup(rc.Close)
	return rc
}

// TestConformance runs the backends' suite on a client with rueidis's
// defaults, and on one that takes a pooled connection per command instead
// of pipelining, where deadlines are kept another way.
func TestConformance(t *testing.T) {
	for _, c := range []struct {
		name string
		opt  rueidis.ClientOption
	}{
		{"defaults", rueidis.ClientOption{}},
		{"no auto-pipelining", rueidis.ClientOption{DisableAutoPipelining: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			redlocktest.Run(t, func(tb testing.TB, s redlocktest.Server) redlock.Conn {
				conn, err := qrueidis.New(newClient(tb, s, c.opt))
				if err != nil {
					tb.Fatalf("New: %v", err)
				}
				return conn
			})
		})
	}
}
