package redlocktest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The proxy reads the Redis protocol (RESP2 and RESP3) only as far as it
// must to find where a command or a reply ends; the bytes it forwards are
// the bytes it read.

// maxBulk bounds a bulk string or an aggregate's length, so that a corrupt
// stream cannot make the proxy allocate without limit.
const maxBulk = 64 << 20

// readCommand reads one command a client sent: a RESP array of bulk strings,
// or an inline command. It returns the raw bytes and the arguments, the
// command's name first.
func readCommand(r *bufio.Reader) (raw []byte, args []string, err error) {
	line, err := readLine(r)
	if err != nil {
		return nil, nil, err
	}
	raw = append(raw, line...)
	if line[0] != '*' {
		return raw, strings.Fields(string(line)), nil
	}
	n, err := length(line)
	if err != nil {
		return nil, nil, err
	}
	for i := range n {
		head, err := readLine(r)
		if err != nil {
			return nil, nil, err
		}
		if head[0] != '$' {
			return nil, nil, fmt.Errorf("command argument %d is of type %q, not a bulk string", i, head[0])
		}
		size, err := length(head)
		if err != nil {
			return nil, nil, err
		}
		body := make([]byte, size+2)
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, nil, err
		}
		args = append(args, string(body[:size]))
		raw = append(append(raw, head...), body...)
	}
	return raw, args, nil
}

// commandName returns the upper-case name of a command, or "".
func commandName(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return strings.ToUpper(args[0])
}

// readReply reads one value a server sent and returns its raw bytes and its
// type byte; a RESP3 attribute is read together with the value it
// annotates.
func readReply(r *bufio.Reader) (raw []byte, kind byte, err error) {
	raw, err = appendValue(nil, r, 0)
	if err != nil {
		return nil, 0, err
	}
	return raw, raw[0], nil
}

// maxDepth bounds the nesting of aggregates.
const maxDepth = 64

func appendValue(raw []byte, r *bufio.Reader, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, errors.New("reply nested too deep")
	}
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	raw = append(raw, line...)
	switch line[0] {
	case '+', '-', ':', ',', '#', '_', '(':
		return raw, nil
	case '$', '!', '=':
		size, err := length(line)
		if err != nil || size < 0 {
			return raw, err
		}
		body := make([]byte, size+2)
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, err
		}
		return append(raw, body...), nil
	case '*', '~', '>', '%', '|':
		n, err := length(line)
		if err != nil || n < 0 {
			return raw, err
		}
		if line[0] == '%' || line[0] == '|' {
			n *= 2
		}
		for range n {
			if raw, err = appendValue(raw, r, depth+1); err != nil {
				return nil, err
			}
		}
		if line[0] == '|' { // an attribute precedes the value it describes
			return appendValue(raw, r, depth+1)
		}
		return raw, nil
	}
	return nil, fmt.Errorf("unknown reply type %q", line[0])
}

// readLine reads a line ending in CRLF, which it keeps.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errors.New("protocol line too long")
		}
		return nil, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("malformed protocol line %q", line)
	}
	return bytes.Clone(line), nil
}

// length parses the number after a line's type byte: -1 for a null.
func length(line []byte) (int, error) {
	n, err := strconv.Atoi(string(line[1 : len(line)-2]))
	if err != nil || n < -1 || n > maxBulk {
		return 0, fmt.Errorf("malformed length in %q", line)
	}
	return n, nil
}
