package redigo

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// maxDB is the largest database number a URL may name.
const maxDB = 1<<31 - 1

// ErrBadURL is wrapped by every error of [ParseURL].
var ErrBadURL = errors.New("redigo: bad node URL")

// ParseURL reads a node URL of the form
// redis://[[user]:password@]host:port[/db], or rediss:// for TLS, into the
// Options that [Open] takes, with TLS (version 1.2 or later) for rediss://;
// and returns shown, the URL with its user information masked, to name the
// node by. A user information with no colon is taken as a password, as
// redis-cli and redigo do. A malformed URL, or a database number that is
// not one, is an error wrapping [ErrBadURL], whose text never shows a
// password (see [Redact]).
func ParseURL(rawURL string) (o Options, shown string, err error) {
	bad := func(format string, args ...any) (Options, string, error) {
		return Options{}, "", fmt.Errorf("%w: node URL %q"+format, append([]any{ErrBadURL, Redact(rawURL)}, args...)...)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error and its causes quote parts of the URL, password
		// included: say what is wrong without them.
		return bad(" cannot be parsed (percent-encode special characters in the user and password)")
	}
	switch {
	case u.Scheme != "redis" && u.Scheme != "rediss":
		return bad(": scheme must be redis or rediss")
	case u.Opaque != "" || u.Host == "":
		return bad(": no host")
	case u.RawQuery != "" || u.Fragment != "":
		return bad(": query and fragment are not supported")
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || host == "" {
		return bad(": host must be host:port")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || !digits(port) {
		return bad(": port is not a number in 1-65535")
	}
	o = Options{Addr: u.Host}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		n, err := strconv.Atoi(db)
		if err != nil || !digits(db) || n > maxDB {
			return bad(": database must be a number in 0-%d", maxDB)
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
		o.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	// The URL is valid: its only secret is its user information, and its
	// host is shown as given, even one Redact would mask (an IPv6 zone).
	head, n := maskUser(rawURL)
	return o, head + rawURL[n:], nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// Redact masks the secrets of a node URL, however malformed, for
// messages. The rule:
//
//   - The user information, if there is an "@", is masked as [maskUser]
//     says.
//   - The authority, from the last "@" or, with no "@", from "://" (or
//     from "redis:" or "rediss:" with the "//" forgotten, or else from the
//     start) to the first '/', '?' or '#', is kept only if it is plainly an
//     address: an IP address, or host:port with a port of digits and a
//     host that is a bracketed IP address or made only of letters, digits,
//     '-', '_' and '.'. Otherwise, as when a forgotten host leaves a
//     password, or a user and password, where the host should be
//     (redis://:S3CRET, redis://u:S3CRET/x), all from the authority's
//     start is masked, since the password may run on past a '/', '?' or
//     '#'. A name with no port (redis://S3CRET) is masked too: nothing
//     tells it from a lone password.
//   - A query or fragment after the authority, which ParseURL refuses, may
//     carry a password (?password=...), as other clients allow: all after
//     its '?' or '#' is masked.
//
// So a typo in a port, host or database (redis://localhost:99999) is still
// shown, and nothing that may be a secret is.
func Redact(raw string) string {
	const mask = "xxxxx"
	head, n := maskUser(raw)
	if n == 0 {
		for _, scheme := range []string{"redis:", "rediss:"} {
			if strings.HasPrefix(raw, scheme) {
				head, n = scheme, len(scheme)
			}
		}
	}
	rest := raw[n:]
	end := len(rest)
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		end = i
	}
	if !plainAddr(rest[:end]) {
		return head + mask
	}
	if i := strings.IndexAny(rest[end:], "?#"); i >= 0 && end+i+1 < len(rest) {
		rest = rest[:end+i+1] + mask
	}
	return head + rest
}

// maskUser masks the user information of a node URL, however malformed,
// and returns the URL up to its host, so masked, and the length of what it
// stands for in raw; the host starts there. The user information runs from
// the scheme's "://" (or the start, if there is none) to the last "@" of
// the whole string, since a password may hold unescaped '/', '?', '#' or
// '@' that would end it earlier for url.Parse. Of "user:password" the user
// is kept if it is plainly a name; anything else, a lone user (which is
// taken as a password) included, is masked whole. With no "@", head is raw
// up to its first "://", if it has one, and nothing is masked.
func maskUser(raw string) (head string, n int) {
	const mask = "xxxxx"
	start := 0
	if i := strings.Index(raw, "://"); i >= 0 {
		start = i + len("://")
	}
	at := strings.LastIndex(raw, "@")
	if at < 0 {
		return raw[:start], start
	}
	if start > at {
		start = 0
	}
	user, _, hasPassword := strings.Cut(raw[start:at], ":")
	if start > 0 && hasPassword && plainUser(user) {
		return raw[:start] + user + ":" + mask + "@", at + 1
	}
	return raw[:start] + mask + "@", at + 1
}

// plainAddr reports whether an authority is empty or plainly an address,
// as Redact says: an IP address, or host:port with an all-digit port and a
// host that is a bracketed IP address or a plain name.
func plainAddr(a string) bool {
	if a == "" || net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(a, "["), "]")) != nil {
		return true
	}
	i := strings.LastIndexByte(a, ':')
	if i < 0 || !digits(a[i+1:]) {
		return false
	}
	host := a[:i]
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		return net.ParseIP(host[1:len(host)-1]) != nil
	}
	return host != "" && plainUser(host)
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
