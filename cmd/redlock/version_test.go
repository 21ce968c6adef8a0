package main

import (
	"bytes"
	"debug/buildinfo"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVersionLine(t *testing.T) {
	const (
		rev    = "963c172abcde0123456789abcdef0123456789ab"
		when   = "2026-11-27T03:26:00Z"
		pseudo = "v0.0.0-20261127032600-963c172abcde"
	)
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{
			{Key: "-trimpath", Value: "true"},
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: when},
			{Key: "vcs.modified", Value: modified},
		}
	}
	build := func(mainVersion string, settings []debug.BuildSetting) *debug.BuildInfo {
		return &debug.BuildInfo{
			GoVersion: "go1.26.8",
			Path:      "github.com/quorumlock/quorumlock/cmd/redlock",
			Main:      debug.Module{Path: "github.com/quorumlock/quorumlock", Version: mainVersion},
			Settings:  settings,
		}
	}
	tests := []struct {
		name    string
		release string // what -X main.version would set
		info    *debug.BuildInfo
		want    string
	}{
		{"go install at a tag", "", build("v1.2.3", nil),
			"redlock v1.2.3 go1.26.8"},
		{"go install at a commit", "", build(pseudo, nil),
			"redlock " + pseudo + " go1.26.8"},
		{"clean checkout", "", build(pseudo, vcs("false")),
			"redlock devel 963c172abcde " + when + " go1.26.8"},
		{"modified checkout", "", build(pseudo+"+dirty", vcs("true")),
			"redlock devel 963c172abcde-dirty " + when + " go1.26.8"},
		{"clean checkout of a tag", "", build("v1.2.3", vcs("false")),
			"redlock v1.2.3 go1.26.8"},
		{"modified checkout of a tag", "", build("v1.2.3+dirty", vcs("true")),
			"redlock devel 963c172abcde-dirty " + when + " go1.26.8"},
		{"pseudo-version after a pre-release", "", build("v1.3.0-rc.1.0.20261127032600-963c172abcde", vcs("false")),
			"redlock devel 963c172abcde " + when + " go1.26.8"},
		{"incompatible major version", "", build("v2.0.0+incompatible", nil),
			"redlock v2.0.0+incompatible go1.26.8"},
		{"devel with vcs", "", build("(devel)", vcs("false")),
			"redlock devel 963c172abcde " + when + " go1.26.8"},
		{"devel without vcs", "", build("(devel)", nil),
			"redlock devel go1.26.8"},
		{"short revision, no time", "", build("(devel)", []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}}),
			"redlock devel abc go1.26.8"},
		{"release version wins over a checkout", "1.2.3", build(pseudo+"+dirty", vcs("true")),
			"redlock 1.2.3 go1.26.8"},
		{"release version wins over a tag", "1.2.4", build("v1.2.3", nil),
			"redlock 1.2.4 go1.26.8"},
		{"no build information", "", nil,
			"redlock devel " + runtime.Version()},
		{"no build information, release version", "1.2.3", nil,
			"redlock 1.2.3 " + runtime.Version()},
		{"no Go version recorded", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}},
			"redlock v1.2.3 " + runtime.Version()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, versionLine(tt.release, tt.info))
		})
	}
}

func TestVersionCommand(t *testing.T) {
	saved := version
	t.Cleanup(func() { version = saved })

	call := func(args ...string) (code int, stdout, stderr string) {
		var out, errOut bytes.Buffer
		code = run(args, nil, &out, &errOut, nil)
		return code, out.String(), errOut.String()
	}

	version = ""
	info, _ := debug.ReadBuildInfo()
	want := versionLine("", info) + "\n"
	for _, spelling := range []string{"version", "--version", "-version"} {
		code, stdout, stderr := call(spelling)
		assert.Equal(t, exitOK, code, spelling)
		assert.Equal(t, want, stdout, spelling)
		assert.Empty(t, stderr, spelling)
	}

	version = "1.2.3"
	code, stdout, _ := call("--version")
	assert.Equal(t, exitOK, code)
	assert.Equal(t, "redlock 1.2.3 "+runtime.Version()+"\n", stdout, "the release version set at link time")

	code, stdout, stderr := call("version", "extra")
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, `unexpected argument "extra"`)

	for _, args := range [][]string{{"version", "--help"}, {"help", "version"}} {
		code, stdout, _ := call(args...)
		assert.Equal(t, exitOK, code, args)
		assert.True(t, strings.HasPrefix(stdout, "Usage: redlock version"), "%v printed no help", args)
	}

	code, stdout, _ = call("help")
	assert.Equal(t, exitOK, code)
	assert.True(t, strings.Contains(stdout, "\n  redlock version\n"), "the usage names the version command")
}

// TestVersionBinary checks that the built command prints what its own
// build information says, and that a release build's -X main.version
// (see .goreleaser.yaml) takes precedence.
func TestVersionBinary(t *testing.T) {
	info, err := buildinfo.ReadFile(binary)
	require.NoError(t, err, "reading the build information of %s", binary)
	r := runBinary(t, nil, "--version")
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	assert.Equal(t, versionLine("", info)+"\n", r.stdout)

	release := filepath.Join(t.TempDir(), "redlock")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=9.9.9-test", "-o", release, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build -X main.version: %s", out)
	out, err = exec.Command(release, "version").Output()
	require.NoError(t, err, "%s version", release)
	assert.Equal(t, "redlock 9.9.9-test "+info.GoVersion+"\n", string(out))
}
