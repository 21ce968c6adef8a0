package main

import (
	"slices"
	"strings"
	"syscall"
	"time"
)

// percentile returns the nearest-rank p-th percentile (0 < p <= 1) of
// sorted, or 0 if it is empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.999999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// median returns the median of xs (the mean of the middle two for an even
// count), or 0 if xs is empty.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// processCPU returns the user and system CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// failures counts the failed cycles of a run and keeps the first error's
// message, shortened.
type failures struct {
	count int
	first string
}

// add counts err if it is not nil.
func (f *failures) add(err error) {
	if err == nil {
		return
	}
	f.count++
	if f.count == 1 {
		f.first = oneLine(err)
	}
}

// merge adds g's count to f's, keeping f's first message if it has one.
func (f *failures) merge(g failures) {
	if f.count == 0 {
		f.first = g.first
	}
	f.count += g.count
}

// oneLine returns err's message on one line.
func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }

// short returns msg cut to at most n bytes, marked with "..." if cut.
func short(msg string, n int) string {
	if len(msg) <= n {
		return msg
	}
	return msg[:n-3] + "..."
}
