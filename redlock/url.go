package redlock

import (
	"crypto/tls"
	"net"
	"net/url"
	"strconv"
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

// maxDB is the largest database number a URL may name.
const maxDB = 1<<31 - 1

// ParseURL returns a Node for a URL of the form
// redis://[[user]:password@]host:port[/db], or rediss:// for TLS. A user
// information with no colon is taken as a password, as redis-cli and redigo
// do. The node sends its commands over redigo through a pool of its own
// (see [redigo.Open]): dialing, the TLS handshake, AUTH and SELECT are
// bounded by the node timeout like every command. A malformed URL, a
// database number that is not one, or a bad option is an error wrapping
// [ErrInvalidArgument]; a database the server cannot select fails the
// node's commands with an error wrapping it too. Neither the errors nor
// [Node.String] ever show the password.
func ParseURL(rawURL string, opts ...NodeOption) (*Node, error) {
	shown := redact(rawURL)
	var nc nodeConfig
	for i, o := range opts {
		if o.set == nil {
			return nil, invalid("node URL %q: option %d is the zero NodeOption", shown, i)
		}
		o.set(&nc)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error and its causes quote parts of the URL, password
		// included: say what is wrong without them.
		return nil, invalid("node URL %q cannot be parsed (percent-encode special characters in the user and password)", shown)
	}
	switch {
	case u.Scheme != "redis" && u.Scheme != "rediss":
		return nil, invalid("node URL %q: scheme must be redis or rediss", shown)
	case u.Opaque != "" || u.Host == "":
		return nil, invalid("node URL %q: no host", shown)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, invalid("node URL %q: query and fragment are not supported", shown)
	case nc.tls != nil && u.Scheme != "rediss":
		return nil, invalid("node URL %q: a TLS configuration needs rediss://", shown)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || host == "" {
		return nil, invalid("node URL %q: host must be host:port", shown)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || !digits(port) {
		return nil, invalid("node URL %q: port is not a number in 1-65535", shown)
	}
	o := redigo.Options{Addr: u.Host}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		n, err := strconv.Atoi(db)
		if err != nil || !digits(db) || n > maxDB {
			return nil, invalid("node URL %q: database must be a number in 0-%d", shown, maxDB)
		}
		o.DB = n
	}
	if u.User != nil {
		o.Username = u.User.Username()
		if pw, ok := u.User.Password(); ok {
			o.Password = pw
		} else {
			o.Username, o.Password = "", o.Username // a lone user is the password
		}
	}
	if u.Scheme == "rediss" {
		o.TLS = nc.tls
		if o.TLS == nil {
			o.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		}
	}
	conn, err := redigo.Open(o)
	if err != nil {
		return nil, invalid("node URL %q: %v", shown, err)
	}
	return newNode(u.Host, shown, conn)
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// redact masks the secret of a node URL, however malformed. The user
// information runs from the scheme's "://" (or the start, if there is
// none) to the last "@" of the whole string, since a password may hold
// unescaped '/', '?', '#' or '@' that would end it earlier for url.Parse.
// Of "user:password" the user is kept if it is plainly a name; anything
// else, a lone user (which is taken as a password) included, is masked
// whole.
func redact(raw string) string {
	at := strings.LastIndex(raw, "@")
	if at < 0 {
		return raw
	}
	start := 0
	if i := strings.Index(raw, "://"); i >= 0 && i < at {
		start = i + len("://")
	}
	const mask = "xxxxx"
	user, _, hasPassword := strings.Cut(raw[start:at], ":")
	if start > 0 && hasPassword && plainUser(user) {
		return raw[:start] + user + ":" + mask + raw[at:]
	}
	return raw[:start] + mask + raw[at:]
}

// plainUser reports whether user is empty or made only of characters that
// ACL user names commonly use.
func plainUser(user string) bool {
	for _, r := range user {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}
