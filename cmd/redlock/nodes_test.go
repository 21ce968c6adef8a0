package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplitURLs(t *testing.T) {
	tests := []struct {
		list string
		want []string
	}{
		{"redis://a:1", []string{"redis://a:1"}},
		{"redis://a:1,redis://b:2", []string{"redis://a:1", "redis://b:2"}},
		{"redis://a:1, rediss://b:2 ,\tredis://c:3", []string{"redis://a:1", "rediss://b:2", "redis://c:3"}},
		{"redis://:pa,ss@a:1,redis://:x,,y@b:2", []string{"redis://:pa,ss@a:1", "redis://:x,,y@b:2"}},
		{"redis://:pw,redis@a:1", []string{"redis://:pw,redis@a:1"}},
		{"redis://a:1,", []string{"redis://a:1,"}},
		{",redis://a:1", []string{"", "redis://a:1"}},
		{"http://a:1,redis://b:2", []string{"http://a:1", "redis://b:2"}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, splitURLs(tt.list), "%q", tt.list)
	}
}

// writeNodesFile writes text to a file in a temporary directory and
// returns its path.
func writeNodesFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nodes")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	return path
}

func TestNodeFlags_source(t *testing.T) {
	file := writeNodesFile(t, "# the lock nodes\n\n  redis://:pa,ss#x@a:1  \n\t# b is down\nrediss://b:2\n")
	empty := writeNodesFile(t, "# nothing\n\n")
	tests := []struct {
		name     string
		list     string
		file     string
		env      []string
		what     string // the source named, if no error
		urls     []string
		errorHas string
	}{
		{name: "flag", list: "redis://a:1,redis://b:2", env: []string{nodesEnv + "=redis://c:3"},
			what: "--nodes", urls: []string{"redis://a:1", "redis://b:2"}},
		{name: "file flag", file: file, env: []string{nodesEnv + "=redis://c:3"},
			what: "--nodes-file " + file, urls: []string{"redis://:pa,ss#x@a:1", "rediss://b:2"}},
		{name: "env", env: []string{nodesEnv + "=redis://c:3"}, what: "$REDLOCK_NODES", urls: []string{"redis://c:3"}},
		{name: "file env", env: []string{nodesFileEnv + "=" + file}, what: "$REDLOCK_NODES_FILE " + file,
			urls: []string{"redis://:pa,ss#x@a:1", "rediss://b:2"}},
		{name: "both flags", list: "redis://a:1", file: file, errorHas: "give --nodes or --nodes-file, not both"},
		{name: "both envs", env: []string{nodesEnv + "=redis://c:3", nodesFileEnv + "=" + file},
			errorHas: "both REDLOCK_NODES and REDLOCK_NODES_FILE are set: unset one"},
		{name: "none", errorHas: "no nodes: give --nodes-file PATH"},
		{name: "missing file", file: file + ".missing", errorHas: "--nodes-file " + file + ".missing: no such file or directory"},
		{name: "file without URLs", file: empty, errorHas: "--nodes-file " + empty + ": no node URLs in it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nf := nodeFlags{list: tt.list, file: tt.file}
			src, err := nf.source(stdio{env: tt.env})
			if tt.errorHas != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.errorHas)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.what, src.what)
			assert.Equal(t, tt.urls, src.urls)
		})
	}
}

// A URL's error names its line in a nodes file, never its text beyond
// what ParseURL shows with the password masked.
func TestNodeSource_openNamesTheLine(t *testing.T) {
	file := writeNodesFile(t, "redis://127.0.0.1:1\n# comment\nredis://:hunter2,x@127.0.0.1\n")
	src, err := fileSource("--nodes-file", file)
	require.NoError(t, err)
	_, err = src.open()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--nodes-file "+file+": line 3: ")
	assert.NotContains(t, err.Error(), "hunter2")
}

func TestNodeSource_hasPassword(t *testing.T) {
	for list, want := range map[string]bool{
		"redis://a:1,redis://b:2":         false,
		"redis://a:1,redis://:pw@b:2":     true,
		"redis://user@a:1":                true, // a lone user is taken as a password
		"redis://:p#w?x@a:1":              true, // not a URL url.Parse reads as having one
		"rediss://user:pw@a:1/0":          true,
		strings.Repeat("redis://a:1,", 3): false,
	} {
		assert.Equal(t, want, listSource("--nodes", list).hasPassword(), "%q", list)
	}
}
