package redlocktest

import (
	"bufio"
	"strings"
	"testing"
)

func TestReadCommand(t *testing.T) {
	in := "*3\r\n$4\r\nEVAL\r\n$8\r\nreturn 1\r\n$1\r\n0\r\nPING extra\r\n"
	r := bufio.NewReader(strings.NewReader(in))
	raw, args, err := readCommand(r)
	if err != nil || commandName(args) != "EVAL" || len(args) != 3 || args[1] != "return 1" {
		t.Fatalf("first command: %q, %v", args, err)
	}
	if string(raw) != in[:len(in)-len("PING extra\r\n")] {
		t.Errorf("raw bytes of the first command: %q", raw)
	}
	if _, args, err = readCommand(r); err != nil || commandName(args) != "PING" {
		t.Errorf("inline command: %q, %v", args, err)
	}
	if _, _, err = readCommand(r); err == nil {
		t.Error("reading past the end gave no error")
	}
	for _, bad := range []string{"*1\r\n:1\r\n", "*x\r\n", "*1\n", "*1\r\n$99999999999\r\n"} {
		if _, _, err := readCommand(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("malformed command %q gave no error", bad)
		}
	}
}

func TestReadReply(t *testing.T) {
	cases := []struct {
		name, in string
		kind     byte
	}{
		{"status", "+OK\r\n", '+'},
		{"error", "-ERR no\r\n", '-'},
		{"integer", ":-3\r\n", ':'},
		{"bulk", "$5\r\na\r\nbc\r\n", '$'},
		{"null bulk", "$-1\r\n", '$'},
		{"nested array", "*2\r\n:1\r\n*2\r\n$1\r\nx\r\n_\r\n", '*'},
		{"map", "%1\r\n+k\r\n#t\r\n", '%'},
		{"verbatim", "=8\r\ntxt:info\r\n", '='},
		{"push", ">2\r\n+invalidate\r\n*1\r\n+k\r\n", '>'},
		{"attribute then value", "|1\r\n+ttl\r\n:3\r\n:7\r\n", '|'},
		{"double and big number", "*2\r\n,1.5\r\n(123\r\n", '*'},
	}
	for _, c := range cases {
		r := bufio.NewReader(strings.NewReader(c.in + "+NEXT\r\n"))
		raw, kind, err := readReply(r)
		if err != nil || kind != c.kind || string(raw) != c.in {
			t.Errorf("%s: got %q, kind %q, %v", c.name, raw, kind, err)
			continue
		}
		if raw, _, err := readReply(r); err != nil || string(raw) != "+NEXT\r\n" {
			t.Errorf("%s: the reply after it was read as %q, %v", c.name, raw, err)
		}
	}
	for _, bad := range []string{"?1\r\n", "$3\r\nab", "*1\r\n", strings.Repeat("*1\r\n", maxDepth+2) + ":1\r\n"} {
		if _, _, err := readReply(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("malformed reply %.20q gave no error", bad)
		}
	}
}
