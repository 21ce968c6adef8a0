package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// A flagSet is a subcommand's flags and the short aliases among them.
type flagSet struct {
	*flag.FlagSet
	long map[string]string // short alias -> long name
}

// newFlagSet returns an empty flag set for the subcommand name that
// reports nothing itself: parse does.
func newFlagSet(name string) *flagSet {
	fs := flag.NewFlagSet("redlock "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, long: map[string]string{}}
}

// alias registers -short as another name of the flag long.
func (fs *flagSet) alias(short, long string) {
	f := fs.Lookup(long)
	fs.Var(f.Value, short, "same as --"+long)
	fs.long[short] = long
}

// aliasOf returns the short alias of the flag long, or "".
func (fs *flagSet) aliasOf(long string) string {
	for s, l := range fs.long {
		if l == long {
			return s
		}
	}
	return ""
}

// A flagInfo describes one flag (with its short alias) for help and
// completion.
type flagInfo struct {
	long, short string
	value       string // the value's name, e.g. "duration"; "" for a boolean flag
	usage       string
	def         string // the default, if worth showing
}

// flags returns the flags of fs, aliases folded into their long flag,
// sorted by name.
func (fs *flagSet) flags() []flagInfo {
	var out []flagInfo
	fs.VisitAll(func(f *flag.Flag) {
		if _, isAlias := fs.long[f.Name]; isAlias {
			return
		}
		value, usage := flag.UnquoteUsage(f)
		fi := flagInfo{long: f.Name, short: fs.aliasOf(f.Name), value: value, usage: usage}
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "0s" && f.DefValue != "false" {
			fi.def = f.DefValue
		}
		out = append(out, fi)
	})
	slices.SortFunc(out, func(a, b flagInfo) int { return strings.Compare(a.long, b.long) })
	return out
}

// isSet reports whether the flag name was given on the command line.
func (fs *flagSet) isSet(name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name || fs.long[f.Name] == name })
	return set
}

// parse parses args into fs. It returns ok to go on; otherwise the exit
// status, after printing the help (for -h or --help, on stdout) or the
// error (on stderr).
func parse(fs *flagSet, args []string, help string, sio stdio) (status int, ok bool) {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(sio.out, helpText(fs, help))
		return exitOK, false
	}
	return usageError(sio, fs, "%v", err), false
}

// helpText is help with the flags described where it says {{flags}}.
func helpText(fs *flagSet, help string) string {
	var b strings.Builder
	for _, f := range fs.flags() {
		b.WriteString("  ")
		if f.short != "" {
			b.WriteString("-" + f.short + ", ")
		}
		b.WriteString("--" + f.long)
		if f.value != "" {
			b.WriteString(" " + f.value)
		}
		usage := f.usage
		if f.def != "" {
			usage += " (default " + f.def + ")"
		}
		b.WriteString("\n" + indent(usage, "        ") + "\n")
	}
	return strings.Replace(help, "{{flags}}", b.String(), 1)
}

// indent puts prefix before every line of s.
func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// usageError reports a usage error of fs's command and returns exitUsage.
func usageError(sio stdio, fs *flagSet, format string, args ...any) int {
	fmt.Fprintf(sio.err, "%s: %s\nRun '%s --help' for usage.\n", fs.Name(), fmt.Sprintf(format, args...), fs.Name())
	return exitUsage
}
