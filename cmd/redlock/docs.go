package main

import (
	"slices"
	"strings"
)

// The tables of the command's flags and exit statuses are made
// here, from the commands' flag sets and exitTable, and a test checks that
// docs/command.md has them as made.

// exitsMarkdown is exitTable as the Markdown table of docs/command.md.
func exitsMarkdown() string {
	var b strings.Builder
	b.WriteString("| exit status | meaning |\n|---|---|\n")
	for _, r := range exitTable {
		b.WriteString("| " + r.status + " | " + r.meaning + " |\n")
	}
	return b.String()
}

// flagsMarkdown is docs/command.md's table of every command's flags, a flag
// that several commands share (the same name and usage) in one row.
func flagsMarkdown() string {
	type row struct {
		commands []string
		flag     flagInfo
	}
	var rows []*row
	for _, c := range commands() {
		if c.flags == nil {
			continue
		}
		for _, f := range c.flags().flags() {
			i := slices.IndexFunc(rows, func(r *row) bool { return r.flag == f })
			if i < 0 {
				rows = append(rows, &row{flag: f})
				i = len(rows) - 1
			}
			rows[i].commands = append(rows[i].commands, "`"+c.name+"`")
		}
	}
	var b strings.Builder
	b.WriteString("| command | flag | what it does |\n|---|---|---|\n")
	for _, r := range rows {
		f := r.flag
		name := "`--" + f.long
		if f.value != "" {
			name += " " + f.value
		}
		name += "`"
		if f.short != "" {
			name = "`-" + f.short + "`, " + name
		}
		usage := strings.Join(strings.Fields(f.usage), " ")
		if f.def != "" {
			usage += " (default " + f.def + ")"
		}
		b.WriteString("| " + strings.Join(r.commands, ", ") + " | " + name + " | " + strings.ReplaceAll(usage, "|", `\|`) + " |\n")
	}
	return b.String()
}
