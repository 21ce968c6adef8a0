package redigo_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/quorumlock/quorumlock/backend/redigo"
)

// ParseURL reads a URL into Options and names it with its user information
// masked; a bad URL's error wraps ErrBadURL and shows no password.
func TestParseURL(t *testing.T) {
	o, shown, err := redigo.ParseURL("rediss://app:S3cret@127.0.0.1:7001/3")
	if err != nil {
		t.Fatal(err)
	}
	if o.Addr != "127.0.0.1:7001" || o.Username != "app" || o.Password != "S3cret" || o.DB != 3 || o.TLS == nil {
		t.Errorf("options %s user %s db %d tls %v", o.Addr, o.Username, o.DB, o.TLS != nil)
	}
	if shown != "rediss://app:xxxxx@127.0.0.1:7001/3" {
		t.Errorf("shown as %q", shown)
	}
	for _, raw := range []string{"redis://:S3cret", "redis://u:S3cret@", "redis://S3cret", "http://:S3cret@h:1"} {
		_, _, err := redigo.ParseURL(raw)
		switch {
		case !errors.Is(err, redigo.ErrBadURL):
			t.Errorf("%s: error %v does not wrap ErrBadURL", redigo.Redact(raw), err)
		case strings.Contains(err.Error(), "S3cret"):
			t.Errorf("%s: the error shows the password", redigo.Redact(raw))
		}
	}
}
