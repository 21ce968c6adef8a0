package redlocktest

import (
	"errors"
	"testing"

	"github.com/quorumlock/quorumlock/redlock"
)

// checkAuth: a server that refuses the client's password (here, changed on
// the server, the client's connections then closed) makes the library
// report a NodeError wrapping ErrAuth.
func checkAuth(t *testing.T, e *env) {
	s := e.start(t, options{password: true})
	evalOne(t, s.conn, "with the password")
	s.server.setPassword(t, newPassword(t))
	s.proxy.drop()
	c := s.client(t)
	_, err := c.TryLock(ctx(t), "conformance-auth")
	var ne *redlock.NodeError
	if !errors.As(err, &ne) || !errors.Is(err, redlock.ErrAuth) {
		t.Errorf("TryLock with a refused password: %v; want a NodeError wrapping redlock.ErrAuth", err)
	}
}
