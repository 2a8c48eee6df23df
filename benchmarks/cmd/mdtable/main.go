// Command mdtable reads `go test -bench` output with sub-benchmarks named
// lib=<name> and prints a Markdown table of medians: one row per workload,
// one column per library, each cell "ns/op, allocs/op". run.sh uses it for
// the table in README.md.
//
// Usage:
//
//	go run ./cmd/mdtable results/bench.txt
package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: mdtable BENCH_OUTPUT")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	t, err := read(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Print(t.markdown())
}

// result is one benchmark line: the workload, the library and its metrics.
type result struct {
	workload, lib string
	nsPerOp       float64
	allocsPerOp   float64
}

// parseLine parses one line of benchmark output such as
// "BenchmarkSuccess/lib=direct-2  100  3.5 ns/op  0 B/op  0 allocs/op".
// ok is false for any other line, including benchmarks without lib= or
// without ns/op and allocs/op.
func parseLine(line string) (r result, ok bool) {
	fields := strings.Fields(line)
	if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
		return result{}, false
	}
	name := strings.TrimPrefix(fields[0], "Benchmark")
	if i := strings.LastIndexByte(name, '-'); i >= 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	workload, lib, found := strings.Cut(name, "/lib=")
	if !found || workload == "" || lib == "" {
		return result{}, false
	}
	r = result{workload: workload, lib: lib, nsPerOp: -1, allocsPerOp: -1}
	for i := 2; i+1 < len(fields); i += 2 {
		v, err := strconv.ParseFloat(fields[i], 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return result{}, false
		}
		switch fields[i+1] {
		case "ns/op":
			r.nsPerOp = v
		case "allocs/op":
			r.allocsPerOp = v
		}
	}
	if r.nsPerOp < 0 || r.allocsPerOp < 0 {
		return result{}, false
	}
	return r, true
}

// table holds every sample of every (workload, lib) pair, in the order
// workloads and libraries first appear.
type table struct {
	workloads, libs []string
	ns, allocs      map[[2]string][]float64
}

func read(r io.Reader) (*table, error) {
	t := &table{ns: map[[2]string][]float64{}, allocs: map[[2]string][]float64{}}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		res, ok := parseLine(sc.Text())
		if !ok {
			continue
		}
		if !slices.Contains(t.workloads, res.workload) {
			t.workloads = append(t.workloads, res.workload)
		}
		if !slices.Contains(t.libs, res.lib) {
			t.libs = append(t.libs, res.lib)
		}
		k := [2]string{res.workload, res.lib}
		t.ns[k] = append(t.ns[k], res.nsPerOp)
		t.allocs[k] = append(t.allocs[k], res.allocsPerOp)
	}
	return t, sc.Err()
}

// median returns the median of xs, which must not be empty.
func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// duration formats nanoseconds with three significant digits.
func duration(ns float64) string {
	switch {
	case ns >= 1e6:
		return strconv.FormatFloat(ns/1e6, 'f', 2, 64) + " ms"
	case ns >= 1e4:
		return strconv.FormatFloat(ns/1e3, 'f', 1, 64) + " µs"
	case ns >= 1e3:
		return strconv.FormatFloat(ns/1e3, 'f', 2, 64) + " µs"
	case ns >= 100:
		return strconv.FormatFloat(ns, 'f', 0, 64) + " ns"
	case ns >= 10:
		return strconv.FormatFloat(ns, 'f', 1, 64) + " ns"
	default:
		return strconv.FormatFloat(ns, 'f', 2, 64) + " ns"
	}
}

func (t *table) markdown() string {
	var b strings.Builder
	b.WriteString("| workload |")
	for _, l := range t.libs {
		b.WriteString(" " + l + " |")
	}
	b.WriteString("\n|---|")
	for range t.libs {
		b.WriteString("---:|")
	}
	b.WriteByte('\n')
	for _, w := range t.workloads {
		b.WriteString("| " + w + " |")
		for _, l := range t.libs {
			k := [2]string{w, l}
			if len(t.ns[k]) == 0 {
				b.WriteString(" |")
				continue
			}
			fmt.Fprintf(&b, " %s, %s |", duration(median(t.ns[k])),
				strconv.FormatFloat(median(t.allocs[k]), 'f', -1, 64))
		}
		b.WriteByte('\n')
	}
	return b.String()
}
