package redlock

import (
	"crypto/tls"
	"errors"
	"strings"

	"github.com/quorumlock/quorumlock/backend/redigo"
)

// A NodeOption configures a node made by [ParseURL]. The zero NodeOption is
// invalid.
type NodeOption struct {
	set func(*nodeConfig)
}

type nodeConfig struct {
	tls *tls.Config
}

// WithTLSConfig sets the TLS configuration of a rediss:// node: its root
// CAs, client certificate, or ServerName (the URL's host by default). A
// redis:// URL with this option is an error: say rediss:// to use TLS.
func WithTLSConfig(c *tls.Config) NodeOption {
	return NodeOption{func(nc *nodeConfig) { nc.tls = c }}
}

// ParseURL returns a Node for a URL of the form
// redis://[[user]:password@]host:port[/db], or rediss:// for TLS (see
// [redigo.ParseURL], where URLs are read). The node sends its commands over
// redigo through a pool of its own (see [redigo.Open]): dialing, the TLS
// handshake, AUTH and SELECT are bounded by the node timeout like every
// command. A malformed URL, a database number that is not one, or a bad
// option is an error wrapping [ErrInvalidArgument]; a database the server
// cannot select fails the node's commands with an error wrapping it too.
// Neither the errors nor [Node.String] ever show the password.
func ParseURL(rawURL string, opts ...NodeOption) (*Node, error) {
	var nc nodeConfig
	for i, o := range opts {
		if o.set == nil {
			return nil, invalid("node URL %q: option %d is the zero NodeOption", redigo.Redact(rawURL), i)
		}
		o.set(&nc)
	}
	o, shown, err := redigo.ParseURL(rawURL)
	switch {
	case errors.Is(err, redigo.ErrBadURL):
		return nil, invalid("%s", strings.TrimPrefix(err.Error(), redigo.ErrBadURL.Error()+": "))
	case err != nil:
		return nil, invalid("%v", err)
	case nc.tls != nil && o.TLS == nil:
		return nil, invalid("node URL %q: a TLS configuration needs rediss://", shown)
	case nc.tls != nil:
		o.TLS = nc.tls
	}
	conn, err := redigo.Open(o)
	if err != nil {
		return nil, invalid("node URL %q: %v", shown, err)
	}
	return newNode(o.Addr, shown, conn)
}
