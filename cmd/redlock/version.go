package main

import (
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
)

// version is the release version, set by release builds with
// -ldflags "-X main.version=...". When it is empty, the version comes from
// the build information Go records in the binary.
var version string

const versionHelp = `Usage: redlock version

Prints, on one line, the version of redlock and the Go version it was built
with. A release prints its version (v1.2.3); a build from a checkout prints
"devel", the first 12 digits of the commit, "-dirty" if the work tree had
changes, and the commit's time. "redlock --version" does the same.

Exit status: 0; 64 for a usage error.
`

func cmdVersion(args []string, sio stdio) int {
	fs := newFlagSet("version")
	if status, ok := parse(fs, args, versionHelp, sio); !ok {
		return status
	}
	if fs.NArg() > 0 {
		return usageError(sio, fs, "unexpected argument %q: version takes none", fs.Arg(0))
	}
	info, _ := debug.ReadBuildInfo() // nil when the binary has none
	fmt.Fprintln(sio.out, versionLine(version, info))
	return exitOK
}

// versionLine is what redlock version prints: "redlock", the version and
// the Go version, separated by spaces. A non-empty release version wins;
// otherwise the version is read from info, which may be nil.
func versionLine(release string, info *debug.BuildInfo) string {
	goVersion := runtime.Version()
	if info != nil && info.GoVersion != "" {
		goVersion = info.GoVersion
	}
	v := release
	if v == "" {
		v = buildVersion(info)
	}
	return "redlock " + v + " " + goVersion
}

// buildVersion is the main module's version when it names a release (go
// install ...@v1.2.3, or a build from a clean checkout of a tag), or when
// no commit was recorded (go install ...@commit gives a pseudo-version).
// Otherwise it is "devel", the commit's first 12 digits, "-dirty" for a
// modified work tree, and the commit's time, as far as info records them.
func buildVersion(info *debug.BuildInfo) string {
	if info == nil {
		return "devel"
	}
	var revision, modified, when string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value
		case "vcs.time":
			when = s.Value
		}
	}
	mv := info.Main.Version
	switch {
	case isRelease(mv):
		return mv
	case revision == "" && mv != "" && mv != "(devel)":
		return mv
	}
	out := "devel"
	if revision != "" {
		out += " " + revision[:min(12, len(revision))]
		if modified == "true" {
			out += "-dirty"
		}
	}
	if when != "" {
		out += " " + when
	}
	return out
}

// pseudoVersion matches the end of a Go pseudo-version, such as
// v0.0.0-20261127032600-963c172abcde, once build metadata is removed.
var pseudoVersion = regexp.MustCompile(`[-.][0-9]{14}-[0-9a-f]{12}$`)

// isRelease reports whether v is a module version that names a release:
// not empty, not "(devel)", not a pseudo-version, not from a dirty tree.
func isRelease(v string) bool {
	if v == "" || v == "(devel)" || strings.HasSuffix(v, "+dirty") {
		return false
	}
	base, _, _ := strings.Cut(v, "+")
	return !pseudoVersion.MatchString(base)
}
