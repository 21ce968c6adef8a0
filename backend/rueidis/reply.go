package rueidis

import (
	"errors"
	"strings"

	"github.com/redis/rueidis"
)

// A replyError is an error reply with the text the server sent, code
// first; it wraps the rueidis error, whose text may lack "ERR ".
type replyError struct {
	text  string
	cause *rueidis.RedisError
}

func (e *replyError) Error() string { return e.text }
func (e *replyError) Unwrap() error { return e.cause }

// replyErr returns the error of a command: nil for a nil reply, the
// server's own text for an error reply, or the client's error otherwise.
func replyErr(res rueidis.RedisResult, msg *rueidis.RedisMessage, err error) error {
	if rueidis.IsRedisNil(err) {
		return nil
	}
	re, isReply := rueidis.IsRedisErr(err)
	switch {
	case !isReply:
		return err
	case res.NonRedisError() == nil:
		// The reply itself: ToString of an error message returns the text
		// as received.
		text, _ := msg.ToString()
		return &replyError{text: text, cause: re}
	}
	// An error reply to the connection's handshake (HELLO, AUTH, SELECT),
	// which rueidis has trimmed.
	return &replyError{text: untrim(re.Error()), cause: re}
}

// untrim puts back the "ERR " that rueidis removes from error replies,
// unless text starts with another code Redis sends.
func untrim(text string) string {
	code, _, _ := strings.Cut(text, " ")
	if _, ok := codes[code]; ok {
		return text
	}
	return "ERR " + text
}

// codes are the error codes Redis sends besides ERR.
var codes = map[string]struct{}{}

func init() {
	for _, c := range strings.Fields(`WRONGPASS NOAUTH NOPERM NOPROTO NOSCRIPT WRONGTYPE
		BUSY BUSYKEY BUSYGROUP LOADING READONLY MASTERDOWN MISCONF NOREPLICAS OOM
		EXECABORT TRYAGAIN CLUSTERDOWN CROSSSLOT MOVED ASK NOGROUP UNKILLABLE
		NOTBUSY UNBLOCKED`) {
		codes[c] = struct{}{}
	}
}

// errUnexpected is the error of a reply of a type the library never gets.
var errUnexpected = errors.New("rueidis: unexpected reply, not an integer, string, nil or array")

// normalize turns a rueidis reply into quorumlock's reply values: int64,
// string, nil or []any of those. A RESP3 boolean becomes what a RESP2
// client gets: 1 for true, 0 for false. An error inside an array is the
// reply's error.
func normalize(m *rueidis.RedisMessage) (any, error) {
	switch {
	case m.IsNil():
		return nil, nil
	case m.IsInt64():
		return m.AsInt64()
	case m.IsString():
		return m.ToString()
	case m.IsBool():
		if b, _ := m.AsBool(); b {
			return int64(1), nil
		}
		return int64(0), nil
	case m.IsArray():
		elems, err := m.ToArray()
		if err != nil {
			return nil, err
		}
		out := make([]any, len(elems))
		for i := range elems {
			if out[i], err = normalize(&elems[i]); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	if err := m.Error(); err != nil {
		re, _ := rueidis.IsRedisErr(err)
		text, _ := m.ToString()
		return nil, &replyError{text: text, cause: re}
	}
	return nil, errUnexpected
}
