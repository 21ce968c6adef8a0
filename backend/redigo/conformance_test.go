package redigo_test

import (
	"testing"

	"github.com/quorumlock/quorumlock/backend/redigo"
	"github.com/quorumlock/quorumlock/redlock"
	"github.com/quorumlock/quorumlock/redlocktest"
)

// TestConformance runs the backends' suite on a pool made by Open, as
// redlock.ParseURL makes one.
func TestConformance(t *testing.T) {
	redlocktest.Run(t, func(tb testing.TB, s redlocktest.Server) redlock.Conn {
		conn, err := redigo.Open(redigo.Options{Addr: s.Addr, Password: s.Password, TLS: s.TLS})
		if err != nil {
			tb.Fatalf("redigo.Open: %v", err)
		}
		return conn
	})
}
