package redlock

import (
	"errors"
	"strings"
)

// A Redis error reply starts with a code, an upper-case word: NOSCRIPT,
// WRONGPASS, ERR... Backends pass the server's text through (see [Conn]);
// this file is the one place that reads it.

// redisCode returns the code of the first Redis error reply found in err's
// chain, or "".
func redisCode(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if code, _, _ := strings.Cut(e.Error(), " "); isCode(code) {
			return code
		}
	}
	return ""
}

func isCode(s string) bool {
	if len(s) < 2 {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// errClass is what a failure says about the node's configuration.
type errClass int

const (
	classOther  errClass = iota
	classAuth            // the server refused our credentials or command
	classConfig          // the server cannot do what the node's settings ask
)

// redisClass classifies a Redis error reply found in err's chain.
func redisClass(err error) errClass {
	for e := err; e != nil; e = errors.Unwrap(e) {
		msg := e.Error()
		code, rest, _ := strings.Cut(msg, " ")
		switch {
		case code == "WRONGPASS" || code == "NOAUTH" || code == "NOPERM":
			return classAuth
		case code == "ERR" && strings.HasPrefix(rest, "AUTH"):
			return classAuth // AUTH sent to a server with no password set
		case code == "ERR" && (strings.Contains(rest, "DB index") || strings.HasPrefix(rest, "invalid DB")):
			return classConfig
		}
	}
	return classOther
}
