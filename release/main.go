// Command release knows the modules of this repository that users import,
// and checks that they can be had with go get as a release would publish
// them. It is a module of its own, never published, so that golang.org/x/mod
// stays out of the library's requirements.
//
//	go run . modules             # the published modules, in tagging order: directory and path
//	go run . version             # the version of the library the other published modules require
//	go run . proxy DIR           # a file-based module proxy in DIR serving them at that version
//	go run . check               # that proxy, and a fresh module that go gets each one and builds
//
// Run it from this directory. scripts/release.sh tags a release with it, and
// the test command runs check (see release_test.go).
package main

import (
	"fmt"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: release modules | version | proxy DIR | check")
		return 2
	}
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		return 1
	}
	switch {
	case args[0] == "modules" && len(args) == 1:
		for _, m := range Published {
			fmt.Printf("%s %s\n", m.Dir, m.Path)
		}
	case args[0] == "version" && len(args) == 1:
		v, err := requiredVersion(root)
		if err != nil {
			fmt.Fprintln(os.Stderr, "release:", err)
			return 1
		}
		fmt.Println(v)
	case args[0] == "proxy" && len(args) == 2:
		v, err := Proxy(root, args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "release:", err)
			return 1
		}
		fmt.Printf("release: %d modules at %s in %s\n", len(Published), v, args[1])
	case args[0] == "check" && len(args) == 1:
		if err := Check(root, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "release:", err)
			return 1
		}
	default:
		fmt.Fprintf(os.Stderr, "release: unknown command %q\n", args)
		return 2
	}
	return 0
}
