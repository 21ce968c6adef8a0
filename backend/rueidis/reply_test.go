package rueidis

import "testing"

// rueidis trims "ERR " from the error replies of a connection's handshake;
// untrim puts it back, and leaves other codes alone.
func TestUntrim(t *testing.T) {
	cases := map[string]string{
		"DB index is out of range":                        "ERR DB index is out of range",
		"AUTH <password> called without any password":     "ERR AUTH <password> called without any password",
		"invalid password":                                "ERR invalid password",
		"WRONGPASS invalid username-password pair":        "WRONGPASS invalid username-password pair",
		"NOAUTH HELLO must be called with the client ...": "NOAUTH HELLO must be called with the client ...",
		"NOPERM this user has no permissions":             "NOPERM this user has no permissions",
		"LOADING Redis is loading the dataset in memory":  "LOADING Redis is loading the dataset in memory",
	}
	for in, want := range cases {
		if got := untrim(in); got != want {
			t.Errorf("untrim(%q) = %q, want %q", in, got, want)
		}
	}
}
