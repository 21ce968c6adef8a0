package main

import (
	"os"
	"testing"
)

// The published modules, served as a release would publish them, can be
// had with go get by a fresh module outside the workspace, which builds;
// none of their go.mod files carries a replace directive.
func TestCheck(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(root, os.Stderr); err != nil {
		t.Fatal(err)
	}
}
