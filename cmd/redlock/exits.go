package main

import (
	"strings"
)

// Exit statuses. The program's own status is passed through by run; the
// numbers of redlock's own outcomes follow sysexits.h where one fits.
// exitTable says what each means, for the help and docs/command.md.
const (
	exitOK          = 0
	exitFalse       = 1   // status: free; doctor: findings
	exitSplit       = 3   // status: split
	exitUsage       = 64  // EX_USAGE: bad flags, arguments, URLs or options
	exitUnavailable = 69  // EX_UNAVAILABLE: nodes could not be read
	exitSoftware    = 70  // EX_SOFTWARE: an unexpected failure; the demo saw a fault
	exitNotObtained = 75  // EX_TEMPFAIL: the lock (or a permit) was not obtained; try again later
	exitLost        = 76  // the lock (or permit) was lost, or not held at release, while the program ran
	exitNoPerm      = 77  // EX_NOPERM: a node refused the credentials
	exitMaxHold     = 79  // the program reached --max-hold
	exitCannotExec  = 126 // the program was found but could not be started
	exitNotFound    = 127 // the program was not found
)

// An exitRow is one line of the exit status table: the status and what it
// means, in Markdown (commands and flags in backquotes).
type exitRow struct {
	status, meaning string
}

// exitTable is the one description of the exit statuses: redlock help
// prints it, and the table in docs/command.md is checked against it.
var exitTable = []exitRow{
	{"0", "success (`run`: the program exited 0; `status`: the lock is held by a quorum; `doctor`: every node is sound)"},
	{"1–125", "`run`: the program's own exit status"},
	{"1", "`status`: the lock is free on a quorum; `doctor`: a node, or the set of nodes, has findings"},
	{"3", "`status`: split: keys on some nodes, but neither one owner nor absence on a quorum"},
	{"64", "usage error: bad flags, arguments, node URLs or options, or a database number the servers cannot select (EX_USAGE)"},
	{"69", "`status`: fewer than a quorum of nodes could be read; `doctor`: a node could not be read (EX_UNAVAILABLE)"},
	{"70", "unexpected failure; `demo`: an overlap, a phase that went wrong, or a stale write accepted (EX_SOFTWARE)"},
	{"75", "`run`: the lock (with `--permits`, a permit) was not obtained (held elsewhere, or too many nodes down); nothing was run (EX_TEMPFAIL)"},
	{"76", "`run`: the lock (or permit) was lost while the program ran (it was terminated), or the program succeeded but a quorum no longer held it at release, so it may have run unprotected"},
	{"77", "`run`, `status`, `doctor`: a node refused the credentials or a command: wrong password, or an ACL (EX_NOPERM)"},
	{"79", "`run`: the program held the lock for `--max-hold` and was terminated"},
	{"126 / 127", "`run`: the program could not be started / was not found (checked before locking)"},
	{"128+N", "`run`: the program was killed by signal N, or signal N interrupted redlock while it waited for the lock (nothing was run)"},
}

// exitsText is exitTable as plain text for the help, wrapped to 78 columns.
func exitsText() string {
	var b strings.Builder
	b.WriteString("Exit statuses:\n")
	const width, col = 78, 13
	for _, r := range exitTable {
		lines := wrap(strings.ReplaceAll(r.meaning, "`", ""), width-col)
		b.WriteString("  " + r.status + strings.Repeat(" ", max(col-2-len([]rune(r.status)), 1)) + lines[0] + "\n")
		for _, l := range lines[1:] {
			b.WriteString(strings.Repeat(" ", col) + l + "\n")
		}
	}
	return b.String()
}

// wrap breaks text into lines of at most width characters at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		switch {
		case line == "":
			line = w
		case len([]rune(line))+1+len([]rune(w)) > width:
			lines = append(lines, line)
			line = w
		default:
			line += " " + w
		}
	}
	return append(lines, line)
}
