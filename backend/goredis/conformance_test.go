package goredis_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/quorumlock/quorumlock/backend/goredis"
	"github.com/quorumlock/quorumlock/redlock"
	"github.com/quorumlock/quorumlock/redlocktest"
)

// TestConformance runs the backends' suite on a client made as a user
// would, with go-redis's defaults (RESP3, three retries, 5s timeouts) but
// for the context deadlines New requires.
func TestConformance(t *testing.T) {
	redlocktest.Run(t, func(tb testing.TB, s redlocktest.Server) redlock.Conn {
		rdb := redis.NewClient(&redis.Options{
			Addr:                  s.Addr,
			Password:              s.Password,
			TLSConfig:             s.TLS,
			ContextTimeoutEnabled: true,
		})
		tb.Cleanup(func() { _ = rdb.Close() })
		conn, err := goredis.New(rdb)
		if err != nil {
			tb.Fatalf("goredis.New: %v", err)
		}
		return conn
	})
}
