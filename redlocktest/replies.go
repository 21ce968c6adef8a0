package redlocktest

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// checkReplies: every kind of reply the library reads arrives as int64,
// string, nil or []any, whatever protocol version the client speaks; Lua's
// true is 1 and false is nil, as in RESP2.
func checkReplies(t *testing.T, e *env) {
	s := e.start(t, options{})
	cases := []struct {
		name string
		src  string
		want any
	}{
		{"integer", "return 42", int64(42)},
		{"negative integer", "return -7", int64(-7)},
		{"Lua number", "return 3.7", int64(3)},
		{"status", "return redis.status_reply('OK')", "OK"},
		{"bulk string", "return 'two\\r\\nlines'", "two\r\nlines"},
		{"empty string", "return ''", ""},
		{"Lua false", "return false", nil},
		{"Lua true", "return true", int64(1)},
		{"nil from GET", "return redis.call('GET', KEYS[1])", nil},
		{"empty array", "return {}", []any{}},
		{"nested array", "return {1, 'two', {3, 'four', {}}, false}",
			[]any{int64(1), "two", []any{int64(3), "four", []any{}}, nil}},
		{"keys and args", "return {KEYS[1], ARGV[1], ARGV[2]}",
			[]any{"conformance:missing", "token", "1500"}},
	}
	if s.server.isReal() {
		// A script that sets RESP3 returns booleans, which RESP2 turns into
		// 1 and 0. (miniredis switches the whole connection to RESP3
		// instead, so it is left out.)
		cases = append(cases, struct {
			name string
			src  string
			want any
		}{"RESP3 booleans", "redis.setresp(3); return {true, false}", []any{int64(1), int64(0)}})
	}
	keys := []string{"conformance:missing"}
	args := []any{"token", int64(1500)}
	for _, c := range cases {
		got, err := s.conn.Eval(ctx(t), c.src, keys, args)
		if err != nil {
			t.Errorf("%s: Eval: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: Eval returned %#v (%T), want %#v", c.name, got, got, c.want)
		}
		got, err = s.conn.EvalSHA(ctx(t), digest(c.src), keys, args)
		if err != nil {
			t.Errorf("%s: EvalSHA after Eval: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: EvalSHA returned %#v (%T), want %#v", c.name, got, got, c.want)
		}
	}
}

// checkErrorText: an error reply reaches the library with the server's
// text, code first, in the error or one it wraps.
func checkErrorText(t *testing.T, e *env) {
	s := e.start(t, options{})
	for _, c := range []struct{ src, text string }{
		{"return redis.error_reply(ARGV[1])", "ERR conformance failure"},       // ERR, which some clients strip
		{"return redis.error_reply(ARGV[1])", "WRONGTYPE conformance failure"}, // another code
		{"return redis.error_reply(ARGV[1])", "NOPERM conformance failure"},    // one the library classifies
		{"return {1, redis.error_reply(ARGV[1])}", "ERR conformance nested"},   // inside an array
	} {
		reply, err := s.conn.Eval(ctx(t), c.src, nil, []any{c.text})
		if err == nil {
			t.Errorf("an error reply %q came back as %#v and no error", c.text, reply)
			continue
		}
		if !hasText(err, c.text) {
			t.Errorf("an error reply %q came back as %q: no error in its chain has the server's text", c.text, err)
		}
	}
}

// hasText reports whether err or an error it wraps (the chain the library
// reads) has exactly the text text.
func hasText(err error, text string) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if e.Error() == text {
			return true
		}
	}
	return false
}

// redisCode returns the code of the first Redis error reply in err's chain,
// read as the library reads it: the first word, if all upper case.
func redisCode(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		code, _, _ := strings.Cut(e.Error(), " ")
		if len(code) >= 2 && strings.ToUpper(code) == code && strings.Trim(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" {
			return code
		}
	}
	return ""
}

// digest returns the SHA-1 of a script's source, as EVALSHA names it.
func digest(src string) string {
	sum := sha1.Sum([]byte(src))
	return hex.EncodeToString(sum[:])
}

// checkNoScript: EVALSHA of a script the server does not have fails with
// NOSCRIPT, and the library, which falls back to EVAL itself, locks,
// extends and unlocks on a fresh server.
func checkNoScript(t *testing.T, e *env) {
	s := e.start(t, options{})
	const src = "return 'conformance noscript'"
	_, err := s.conn.EvalSHA(ctx(t), digest(src), nil, nil)
	if code := redisCode(err); code != "NOSCRIPT" {
		t.Errorf("EvalSHA of an unknown digest: got %v, code %q; want code NOSCRIPT", err, code)
	}

	c := s.client(t)
	l, err := c.TryLock(ctx(t), "conformance-noscript")
	if err != nil {
		t.Fatalf("TryLock on a fresh server: %v", err)
	}
	if v, ok := s.server.get(t, l.Key()); !ok || v != l.Token() {
		t.Errorf("after TryLock the server does not hold the lock's token (present: %v)", ok)
	}
	if err := l.Extend(ctx(t)); err != nil {
		t.Errorf("Extend on a fresh server: %v", err)
	}
	if err := l.Unlock(ctx(t)); err != nil {
		t.Errorf("Unlock on a fresh server: %v", err)
	}
	if _, ok := s.server.get(t, l.Key()); ok {
		t.Error("after Unlock the lock's key is still on the server")
	}
}

// checkInfo: Info returns the text of the server's INFO as sent, sections
// and all; a real server's includes the fields restart detection reads.
func checkInfo(t *testing.T, e *env) {
	s := e.start(t, options{})
	info, err := s.conn.Info(ctx(t))
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if !strings.HasPrefix(info, "# ") {
		t.Errorf("Info does not start with a section header: %.40q", info)
	}
	want := []string{"connected_clients:"} // miniredis ends its lines with LF alone
	if s.server.isReal() {
		want = []string{"\r\nrun_id:", "\r\nuptime_in_seconds:", "\r\nredis_version:"}
	}
	for _, w := range want {
		if !strings.Contains(info, w) {
			t.Errorf("Info has no line %q (%d bytes)", strings.TrimPrefix(w, "\r\n"), len(info))
		}
	}
}
