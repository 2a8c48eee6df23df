package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Result is one result line of `go test -bench` output, such as
//
//	BenchmarkRetry3/lib=retrykit-2   5962104   199.6 ns/op   0 B/op   0 allocs/op
//
// Name is the benchmark's name without its "Benchmark" prefix and without
// the "-2" GOMAXPROCS suffix ("Retry3/lib=retrykit"); Procs is that suffix,
// 1 when the line has none (go test leaves it off at GOMAXPROCS=1).
// Iterations is b.N, at least 1. Metrics maps each unit ("ns/op",
// "allocs/op", "B/op" or a custom b.ReportMetric unit) to its value, finite
// and not negative.
type Result struct {
	Name       string
	Procs      int
	Iterations int64
	Metrics    map[string]float64
}

// errMalformed marks a line that starts like a result but cannot be one.
var errMalformed = errors.New("malformed benchmark line")

// ParseLine parses one line of benchmark output. ok is false, with a nil
// error, for the lines that are not results (config lines such as
// "cpu: ...", PASS, log output, a benchmark's name printed alone before its
// logs). A line that has a benchmark name and an iteration count but bad
// metrics (an odd number of fields, a value that is not a number, NaN,
// infinite or negative, a unit given twice) is an error: it was a result,
// and a number would silently go missing.
func ParseLine(line string) (r Result, ok bool, err error) {
	fields := strings.Fields(line)
	if len(fields) < 2 || !isBenchName(fields[0]) {
		return Result{}, false, nil
	}
	name, procs := splitProcs(strings.TrimPrefix(fields[0], "Benchmark"))
	if name == "" {
		return Result{}, false, nil // "Benchmark-2": no name
	}
	iters, perr := strconv.ParseInt(fields[1], 10, 64)
	if perr != nil {
		return Result{}, false, nil // a name followed by log text
	}
	if iters < 1 || len(fields)%2 != 0 {
		return Result{}, false, fmt.Errorf("%w: %q", errMalformed, line)
	}
	r = Result{Name: name, Procs: procs, Iterations: iters, Metrics: make(map[string]float64, (len(fields)-2)/2)}
	for i := 2; i < len(fields); i += 2 {
		v, perr := strconv.ParseFloat(fields[i], 64)
		if perr != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return Result{}, false, fmt.Errorf("%w: value %q in %q", errMalformed, fields[i], line)
		}
		unit := fields[i+1]
		if _, dup := r.Metrics[unit]; dup {
			return Result{}, false, fmt.Errorf("%w: unit %q twice in %q", errMalformed, unit, line)
		}
		r.Metrics[unit] = v
	}
	return r, true, nil
}

// isBenchName reports whether s names a benchmark as go test prints it:
// "Benchmark" followed by something that does not start with a lower-case
// letter (BenchmarkFoo, not Benchmarking).
func isBenchName(s string) bool {
	rest, ok := strings.CutPrefix(s, "Benchmark")
	if !ok || rest == "" {
		return false
	}
	c, _ := utf8.DecodeRuneInString(rest)
	return !unicode.IsLower(c)
}

// splitProcs splits the "-N" GOMAXPROCS suffix off a benchmark name: N is
// 1 when there is no such suffix.
func splitProcs(name string) (string, int) {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return name, 1
	}
	n, err := strconv.Atoi(name[i+1:])
	if err != nil || n < 1 || strconv.Itoa(n) != name[i+1:] {
		return name, 1
	}
	return name[:i], n
}

// String formats r as go test prints it; ParseLine reads it back.
func (r Result) String() string {
	var b strings.Builder
	b.WriteString("Benchmark" + r.Name)
	if r.Procs != 1 {
		b.WriteString("-" + strconv.Itoa(r.Procs))
	}
	b.WriteString("\t" + strconv.FormatInt(r.Iterations, 10))
	for _, unit := range sortedKeys(r.Metrics) {
		b.WriteString("\t" + strconv.FormatFloat(r.Metrics[unit], 'g', -1, 64) + " " + unit)
	}
	return b.String()
}

// ParseConfig parses a configuration line of benchmark output, "key:
// value", as go test prints "cpu: AMD EPYC" and as the raw files of this
// command record their run, round and member. ok is false for any other
// line. A key is one word of letters, digits, '-' and '_' starting with a
// lower-case letter, as in the Go benchmark format.
func ParseConfig(line string) (key, value string, ok bool) {
	key, value, found := strings.Cut(line, ":")
	if !found || key == "" {
		return "", "", false
	}
	if c, _ := utf8.DecodeRuneInString(key); !unicode.IsLower(c) {
		return "", "", false
	}
	for _, c := range key {
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) && c != '-' && c != '_' {
			return "", "", false
		}
	}
	return key, strings.TrimSpace(value), true
}
