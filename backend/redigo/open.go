package redigo

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/gomodule/redigo/redis"
)

// Options describe how [Open] reaches a Redis server.
type Options struct {
	Addr     string      // host:port
	Username string      // for AUTH with an ACL user; empty for the default user
	Password string      // for AUTH; empty: no AUTH
	DB       int         // database to SELECT; 0 sends no SELECT
	TLS      *tls.Config // not nil: connect with TLS; ServerName defaults to Addr's host

	// Lanes is how many connections carry the pipelined commands; 0 means
	// 2. A key's commands always take the same connection.
	Lanes int
}

// Open returns a Conn with connections of its own, which [Conn.Close]
// closes. The commands of all goroutines are pipelined over a few
// connections (see Options.Lanes), which cuts system calls and server work
// per command when many run at once; a key's commands keep to one
// connection, so the server runs them in the order they were sent even
// across a pause. Dialing, the TLS handshake, AUTH and SELECT of a new
// connection are bounded by the context of the command that needed it. An
// empty Addr, or a negative DB or Lanes, is an error.
func Open(o Options) (*Conn, error) {
	switch {
	case o.Addr == "":
		return nil, errors.New("redigo: Options.Addr is empty")
	case o.DB < 0:
		return nil, fmt.Errorf("redigo: Options.DB is negative: %d", o.DB)
	case o.Lanes < 0:
		return nil, fmt.Errorf("redigo: Options.Lanes is negative: %d", o.Lanes)
	}
	if o.Lanes == 0 {
		o.Lanes = 2
	}
	if o.TLS != nil {
		o.TLS = o.TLS.Clone()
		if o.TLS.ServerName == "" {
			host, _, err := net.SplitHostPort(o.Addr)
			if err != nil {
				return nil, fmt.Errorf("redigo: Options.Addr is not host:port: %w", err)
			}
			o.TLS.ServerName = host
		}
	}
	return newConn(nil, newMux(o.Lanes, o.dial)), nil
}

// dialBound is the longest a dial may take when the caller set no deadline.
const dialBound = 10 * time.Second

// dial connects, shakes hands, authenticates and selects the database, all
// bounded by ctx.
func (o *Options) dial(ctx context.Context) (redis.Conn, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, dialBound)
		defer cancel()
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", o.Addr)
	if err != nil {
		return nil, err
	}
	if o.TLS != nil {
		tc := tls.Client(nc, o.TLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		nc = tc
	}
	c := redis.NewConn(nc, 0, 0)
	if o.Password != "" {
		args := []any{o.Password}
		if o.Username != "" {
			args = []any{o.Username, o.Password}
		}
		if _, err := redis.DoContext(c, ctx, "AUTH", args...); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("AUTH: %w", err)
		}
	}
	if o.DB != 0 {
		if _, err := redis.DoContext(c, ctx, "SELECT", strconv.Itoa(o.DB)); err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("SELECT %d: %w", o.DB, err)
		}
	}
	return c, nil
}
