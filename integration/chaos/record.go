package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/quorumlock/quorumlock/internal/history"
)

// A record is what a run did and found: printed as a summary, written as
// JSON with -json.
type record struct {
	Config  *config       `json:"config"`
	Started time.Time     `json:"started"`
	Machine machine       `json:"machine"`
	Elapsed time.Duration `json:"elapsed_ns"` // the clients' contention
	Notes   []string      `json:"notes,omitempty"`

	// In-model runs.
	Planned    map[string]int  `json:"faults_planned,omitempty"`
	Faults     map[string]int  `json:"faults_injected,omitempty"` // by kind, those injected and healed without error
	Skipped    int             `json:"faults_skipped,omitempty"`  // planned but refused by the minority bound
	FaultLog   []faultRecord   `json:"fault_log,omitempty"`
	Stats      *statsRecord    `json:"client_outcomes,omitempty"`
	Violations map[string]int  `json:"violations,omitempty"` // by kind
	Report     *history.Report `json:"report,omitempty"`

	// Out-of-model runs.
	Phases []*phaseRecord `json:"phases,omitempty"`

	Failures []string `json:"failures,omitempty"` // why the exit status is not 0
	Exit     int      `json:"exit_status"`
}

// A machine describes where the run ran.
type machine struct {
	CPU    string `json:"cpu"`
	Cores  int    `json:"cores"`
	Kernel string `json:"kernel"`
	Go     string `json:"go"`
	Redis  string `json:"redis"`
	Load   string `json:"load_at_start"` // /proc/loadavg's first three fields
}

func newRecord(cfg *config, c *cluster) *record {
	r := &record{Config: cfg, Started: time.Now().UTC().Round(time.Second)}
	r.Machine = machine{CPU: cpuModel(), Cores: runtime.NumCPU(), Kernel: firstLine("/proc/sys/kernel/osrelease"),
		Go: runtime.Version(), Load: firstFields("/proc/loadavg", 3)}
	if info, err := redis.String(c.command(0, 5*time.Second, "INFO", "server")); err == nil {
		for line := range strings.Lines(info) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
				r.Machine.Redis = v
			}
		}
	}
	return r
}

// fail records why the run failed; the first exit status stays.
func (r *record) fail(exit int, why string) {
	r.Failures = append(r.Failures, why)
	if r.Exit == exitOK {
		r.Exit = exit
	}
}

// note records something the reader should know.
func (r *record) note(s string) { r.Notes = append(r.Notes, s) }

// setReport keeps the checker's report and its violations by kind.
func (r *record) setReport(rep *history.Report) {
	r.Report = rep
	r.Violations = violations(&rep.Total)
}

// violations returns the counts of every kind of violation.
func violations(c *history.Counts) map[string]int {
	return map[string]int{
		history.Overlap.String():       c.Overlaps,
		history.LostUpdate.String():    c.LostUpdates,
		history.FinalMismatch.String(): c.FinalMismatches,
		history.LateLost.String():      c.LateLost,
		history.TokenOrder.String():    c.TokenOrder,
		history.SharedToken.String():   c.SharedTokens,
		history.StaleAccepted.String(): c.StaleAccepted,
	}
}

// violationKinds lists the kinds in the order the summary prints them.
var violationKinds = []history.Kind{history.Overlap, history.LostUpdate, history.FinalMismatch, history.LateLost,
	history.TokenOrder, history.SharedToken, history.StaleAccepted}

// formatViolations renders counts by kind on one line.
func formatViolations(m map[string]int) string {
	parts := make([]string, len(violationKinds))
	for i, k := range violationKinds {
		parts[i] = fmt.Sprintf("%s %d", k, m[k.String()])
	}
	return strings.Join(parts, ", ")
}

// write writes the record as indented JSON.
func (r *record) write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// cpuModel reads the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// firstLine returns the first line of a file, or "" if it cannot be read.
func firstLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line)
}

// firstFields returns the first n fields of a file's first line.
func firstFields(path string, n int) string {
	f := strings.Fields(firstLine(path))
	return strings.Join(f[:min(n, len(f))], " ")
}

// print writes the one-screen summary.
func (r *record) print(w io.Writer) {
	cfg := r.Config
	verdict := "PASS"
	if r.Exit != exitOK {
		verdict = fmt.Sprintf("FAIL (exit status %d)", r.Exit)
	}
	if cfg.Fault != "" {
		fmt.Fprintf(w, "chaos: out-of-model fault %s, ttl %v: %s\n", cfg.Fault, cfg.TTL, verdict)
	} else {
		fmt.Fprintf(w, "chaos: in-model profile %s, seed %d: %s\n", cfg.Profile, cfg.Seed, verdict)
	}
	fmt.Fprintf(w, "  started %s on %s (%d cores), %s, Redis %s, load %s\n", r.Started.Format(time.RFC3339),
		r.Machine.CPU, r.Machine.Cores, r.Machine.Go, r.Machine.Redis, r.Machine.Load)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	if cfg.Fault != "" {
		r.printPhases(w)
	} else if r.Report != nil {
		r.printInModel(w)
	}
	for _, f := range r.Failures {
		fmt.Fprintf(w, "  FAIL: %s\n", f)
	}
}

// printInModel writes the in-model part of the summary.
func (r *record) printInModel(w io.Writer) {
	cfg, t := r.Config, &r.Report.Total
	fenced := 0
	for i := range cfg.Clients {
		if cfg.fenced(i) {
			fenced++
		}
	}
	fmt.Fprintf(w, "  %d clients (%d fenced) on %d names and a long holder's for %v, ttl %v, each through its own proxies\n",
		cfg.Clients, fenced, cfg.Names, r.Elapsed.Round(time.Second), cfg.TTL)
	fmt.Fprintf(w, "  grants %d (needed %d): released %d, released not held %d, release unknown %d, stopped on loss %d, running %d\n",
		t.Grants, cfg.MinGrants, t.Released, t.NotHeld, t.Unknown, t.StoppedOnLoss, t.Running)
	if s := r.Stats; s != nil {
		fmt.Fprintf(w, "  not obtained %d, lost signals %d, overran %d, fenced writes %d (stale rejected %d), counter updates %d\n",
			s.NotObtained, s.LostSignals, t.Overran, t.Writes, t.StaleRejected, t.Updates)
	}
	total := 0
	for _, n := range r.Faults {
		total += n
	}
	fmt.Fprintf(w, "  faults injected %d (%d of the plan skipped: the bounds of the fault model): %s\n", total, r.Skipped, formatKinds(r.Faults))
	fmt.Fprintf(w, "  violations %d: %s\n", t.Violations(), formatViolations(r.Violations))
	for _, e := range r.Report.Examples {
		fmt.Fprintf(w, "    %s\n", e)
	}
}

// formatKinds renders fault counts by kind on one line.
func formatKinds(m map[string]int) string {
	var parts []string
	for _, k := range sortedKinds(m) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
