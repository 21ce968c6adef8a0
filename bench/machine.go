package main

import (
	"context"
	"os"
	"runtime"
	"strings"
)

// machine describes where a run was made.
type machine struct {
	cpu     string // model name
	cores   int
	kernel  string
	goVer   string
	redis   string // redis-server version
	loadAvg string // 1, 5 and 15 minute load averages at the start
}

func readMachine(ctx context.Context, addr string) machine {
	return machine{
		cpu:     cpuModel(),
		cores:   runtime.NumCPU(),
		kernel:  firstLine("/proc/sys/kernel/osrelease"),
		goVer:   runtime.Version(),
		redis:   serverVersion(ctx, addr),
		loadAvg: loadAverage(),
	}
}

// loadAverage returns the 1, 5 and 15 minute load averages, or "?".
func loadAverage() string {
	f := strings.Fields(firstLine("/proc/loadavg"))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// firstLine returns the first line of a file, or "?".
func firstLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "?"
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line)
}
