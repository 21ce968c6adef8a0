package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// A Module is one module of the repository that users import.
type Module struct {
	Dir  string // its directory, from the repository's root
	Path string // its module path
	// Imports are packages of it that a consumer builds.
	Imports []string
}

// Published are the modules a release tags, in the order their
// requirements need: the library first, which the others require. A
// release tags the library vX.Y.Z and each other module DIR/vX.Y.Z.
var Published = []Module{
	{".", "github.com/quorumlock/quorumlock", []string{
		"github.com/quorumlock/quorumlock/redlock",
		"github.com/quorumlock/quorumlock/backend/redigo",
		"github.com/quorumlock/quorumlock/cmd/redlock",
	}},
	{"backend/goredis", "github.com/quorumlock/quorumlock/backend/goredis", []string{"github.com/quorumlock/quorumlock/backend/goredis"}},
	{"backend/rueidis", "github.com/quorumlock/quorumlock/backend/rueidis", []string{"github.com/quorumlock/quorumlock/backend/rueidis"}},
	{"otel", "github.com/quorumlock/quorumlock/otel", []string{"github.com/quorumlock/quorumlock/otel"}},
}

// libraryPath is the module path of the library, which the other published
// modules require.
const libraryPath = "github.com/quorumlock/quorumlock"

// repoRoot returns the repository's root: the parent of this command's
// directory, where go run runs it.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root := filepath.Dir(wd)
	if _, err := os.Stat(filepath.Join(root, "go.work")); err != nil {
		return "", fmt.Errorf("run it from the release directory of the repository: %w", err)
	}
	return root, nil
}

// modFile parses the go.mod of the module in dir.
func modFile(dir string) (*modfile.File, []byte, error) {
	path := filepath.Join(dir, "go.mod")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	f, err := modfile.Parse(path, data, nil)
	return f, data, err
}

// requiredVersion returns the version of the library that every other
// published module requires, and fails if they disagree, if one carries a
// replace directive (go get ignores a dependency's, so a published module
// must not need one), or if the version is not a release version.
func requiredVersion(root string) (string, error) {
	version := ""
	for _, m := range Published[1:] {
		f, _, err := modFile(filepath.Join(root, m.Dir))
		if err != nil {
			return "", err
		}
		if len(f.Replace) > 0 {
			return "", fmt.Errorf("%s/go.mod has a replace directive; a published module's must have none (go.work is the workspace's)", m.Dir)
		}
		v := ""
		for _, r := range f.Require {
			if r.Mod.Path == libraryPath {
				v = r.Mod.Version
			}
		}
		switch {
		case v == "":
			return "", fmt.Errorf("%s/go.mod does not require %s", m.Dir, libraryPath)
		case module.IsPseudoVersion(v) || !strings.HasPrefix(v, "v"):
			return "", fmt.Errorf("%s/go.mod requires %s at %s, not a release version", m.Dir, libraryPath, v)
		case version != "" && v != version:
			return "", fmt.Errorf("%s/go.mod requires %s %s, others %s", m.Dir, libraryPath, v, version)
		}
		version = v
	}
	return version, nil
}

// Proxy writes, in dir, a file-based module proxy (GOPROXY=file://dir)
// serving every published module at the version the others require of the
// library, made from the working tree as a release at that version would
// be, and returns the version.
func Proxy(root, dir string) (string, error) {
	version, err := requiredVersion(root)
	if err != nil {
		return "", err
	}
	for _, m := range Published {
		if err := serve(filepath.Join(root, m.Dir), m.Path, version, dir); err != nil {
			return "", fmt.Errorf("%s: %w", m.Path, err)
		}
	}
	return version, nil
}

// serve adds the module at path, from src, at version to the proxy in dir.
func serve(src, path, version, dir string) error {
	_, mod, err := modFile(src)
	if err != nil {
		return err
	}
	escaped, err := module.EscapePath(path)
	if err != nil {
		return err
	}
	at := filepath.Join(dir, filepath.FromSlash(escaped), "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		return err
	}
	var zipped bytes.Buffer
	if err := modzip.CreateFromDir(&zipped, module.Version{Path: path, Version: version}, src); err != nil {
		return err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, time.Now().UTC()})
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		version + ".zip": zipped.Bytes(), version + ".mod": mod, version + ".info": info, "list": []byte(version + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(at, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Check serves the published modules from a file proxy in a temporary
// directory, then makes a fresh module outside the workspace that imports
// a package of each, gets each module with go get at the version served,
// and builds and vets it; what it runs goes to log.
func Check(root string, log io.Writer) error {
	tmp, err := os.MkdirTemp("", "quorumlock-release-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	proxy := filepath.Join(tmp, "proxy")
	version, err := Proxy(root, proxy)
	if err != nil {
		return err
	}
	consumer := filepath.Join(tmp, "consumer")
	if err := os.MkdirAll(consumer, 0o755); err != nil {
		return err
	}
	var src strings.Builder
	src.WriteString("// Command consumer imports a package of every published module.\npackage main\n\nimport (\n")
	for _, m := range Published {
		for _, imp := range m.Imports {
			if strings.HasSuffix(imp, "/cmd/redlock") {
				continue // a command: go get builds it below
			}
			fmt.Fprintf(&src, "\t_ %q\n", imp)
		}
	}
	src.WriteString(")\n\nfunc main() {}\n")
	if err := os.WriteFile(filepath.Join(consumer, "main.go"), []byte(src.String()), 0o644); err != nil {
		return err
	}
	env := append(os.Environ(),
		"GOWORK=off", "GOFLAGS=",
		"GOPROXY=file://"+filepath.ToSlash(proxy)+","+goEnv("GOPROXY"),
		"GONOSUMDB="+libraryPath, "GOPRIVATE=",
	)
	steps := [][]string{{"go", "mod", "init", "example.com/consumer"}}
	for _, m := range Published {
		steps = append(steps, []string{"go", "get", m.Path + "@" + version})
	}
	steps = append(steps,
		[]string{"go", "build", "./..."},
		[]string{"go", "vet", "./..."},
		// The command, as its users install it.
		[]string{"go", "install", libraryPath + "/cmd/redlock@" + version},
	)
	env = append(env, "GOBIN="+tmp)
	for _, s := range steps {
		fmt.Fprintf(log, "release: %s\n", strings.Join(s, " "))
		cmd := exec.Command(s[0], s[1:]...)
		cmd.Dir, cmd.Env = consumer, env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w\n%s", strings.Join(s, " "), err, out)
		}
	}
	mod, err := os.ReadFile(filepath.Join(consumer, "go.mod"))
	if err != nil {
		return err
	}
	for _, m := range Published {
		if !bytes.Contains(mod, []byte(m.Path+" "+version)) {
			return errors.New("the consumer's go.mod does not require " + m.Path + " " + version + ":\n" + string(mod))
		}
	}
	if out, err := exec.Command(filepath.Join(tmp, "redlock"), "version").CombinedOutput(); err != nil {
		return fmt.Errorf("the installed command: %w\n%s", err, out)
	}
	fmt.Fprintf(log, "release: a fresh module got the %d published modules at %s from a file proxy and built, and the command installed and ran\n", len(Published), version)
	return nil
}

// goEnv returns go env's value of key, for the proxy of the modules that
// are not the repository's.
func goEnv(key string) string {
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		return "https://proxy.golang.org,direct"
	}
	return strings.TrimSpace(string(out))
}
