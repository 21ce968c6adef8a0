//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chaosRecord is the part of the chaos program's JSON record the tests
// read (see integration/chaos).
type chaosRecord struct {
	Exit       int            `json:"exit_status"`
	Failures   []string       `json:"failures"`
	Faults     map[string]int `json:"faults_injected"`
	Violations map[string]int `json:"violations"`
	Report     struct {
		Total struct {
			Grants int `json:"grants"`
		} `json:"total"`
	} `json:"report"`
	Phases []struct {
		Label   string         `json:"label"`
		Matched bool           `json:"matched"`
		Got     map[string]int `json:"got"`
		Err     string         `json:"error"`
	} `json:"phases"`
}

var (
	chaosOnce sync.Once
	chaosBin  string
	chaosErr  error
)

// chaosProgram builds the chaos program with the race detector, once.
func chaosProgram(t *testing.T) string {
	t.Helper()
	chaosOnce.Do(func() {
		dir, err := os.MkdirTemp("", "quorumlock-chaos-")
		if err != nil {
			chaosErr = err
			return
		}
		chaosBin = filepath.Join(dir, "chaos")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "build", "-race", "-o", chaosBin, "./chaos").CombinedOutput()
		if err != nil {
			chaosErr = errors.New("go build ./chaos: " + err.Error() + ": " + strings.TrimSpace(string(out)))
		}
	})
	require.NoError(t, chaosErr)
	return chaosBin
}

// runChaos runs the chaos program on the suite's cluster with args, its
// progress going to stderr, and returns its record and its summary.
func runChaos(t *testing.T, args ...string) (*chaosRecord, string) {
	t.Helper()
	bin := chaosProgram(t)
	path := filepath.Join(t.TempDir(), "record.json")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, "-json", path, "-progress", "15s")...)
	var summary bytes.Buffer
	cmd.Stdout, cmd.Stderr = &summary, os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running the chaos program: %v", err)
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err, "the chaos program wrote no record; it said:\n%s", summary.String())
	var rec chaosRecord
	require.NoError(t, json.Unmarshal(b, &rec))
	assert.Equal(t, rec.Exit, cmd.ProcessState.ExitCode(), "the exit status is the record's")
	return &rec, summary.String()
}

// TestChaos_outOfModel runs each out-of-model fault of the chaos program:
// each phase must show what it expects (the violations the fault causes,
// and what fencing or the quarantine turns them into), or the program
// exits 1.
func TestChaos_outOfModel(t *testing.T) {
	for _, fault := range []string{"restart-without-persistence", "restart-clock-step", "eviction", "third-party-del",
		"clock-step", "paused-holder"} {
		t.Run(fault, func(t *testing.T) {
			f := dockerFaults(t)
			f.restarted = strings.HasPrefix(fault, "restart-")
			rec, summary := runChaos(t, "-fault", fault)
			if !assert.Zero(t, rec.Exit, "exit status; failures: %s", strings.Join(rec.Failures, "; ")) {
				t.Logf("summary:\n%s", summary)
			}
			require.NotEmpty(t, rec.Phases)
			for _, p := range rec.Phases {
				assert.True(t, p.Matched, "%s phase: saw %v %s", p.Label, p.Got, p.Err)
			}
			violations := 0
			for _, k := range []string{"overlap", "lost-update", "late-lost-signal"} {
				violations += rec.Phases[0].Got[k]
			}
			assert.Positive(t, violations, "the first phase shows what the fault breaks")
		})
	}
}

// TestChaos_inModel runs the chaos program's in-model profile briefly: no
// violation, faults of several kinds injected and healed.
func TestChaos_inModel(t *testing.T) {
	f := dockerFaults(t)
	f.restarted = true // the schedule may kill nodes
	rec, summary := runChaos(t, "-seed", "1", "-duration", "45s", "-min-grants", "50")
	if !assert.Zero(t, rec.Exit, "exit status; failures: %s", strings.Join(rec.Failures, "; ")) {
		t.Logf("summary:\n%s", summary)
	}
	assert.GreaterOrEqual(t, rec.Report.Total.Grants, 50)
	assert.GreaterOrEqual(t, len(rec.Faults), 3, "fault kinds injected: %v", rec.Faults)
	for kind, n := range rec.Violations {
		assert.Zero(t, n, "%s violations", kind)
	}
}
