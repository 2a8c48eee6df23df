package main

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseLine(t *testing.T) {
	cases := []struct {
		line string
		want result
		ok   bool
	}{
		{"BenchmarkSuccess/lib=direct-2   73102330   3.504 ns/op   0 B/op   0 allocs/op",
			result{"Success", "direct", 3.504, 0}, true},
		{"BenchmarkHTTP503x2/lib=retry-go \t 2781 100089 ns/op 15251 B/op 186 allocs/op",
			result{"HTTP503x2", "retry-go", 100089, 186}, true},
		{"BenchmarkSuccess-2 100 3.5 ns/op 0 B/op 0 allocs/op", result{}, false},
		{"BenchmarkSuccess/lib=x-2 100 3.5 ns/op", result{}, false},
		{"BenchmarkSuccess/lib=x-2 100 abc ns/op 0 allocs/op", result{}, false},
		{"BenchmarkSuccess/lib=x-2 100 NaN ns/op 0 allocs/op", result{}, false},
		{"BenchmarkSuccess/lib=x-2 100 -1 ns/op 0 allocs/op", result{}, false},
		{"goos: linux", result{}, false},
		{"PASS", result{}, false},
	}
	for _, tc := range cases {
		got, ok := parseLine(tc.line)
		assert.Equal(t, tc.ok, ok, tc.line)
		assert.Equal(t, tc.want, got, tc.line)
	}
}

func TestMarkdownMedians(t *testing.T) {
	in := `goos: linux
BenchmarkSuccess/lib=direct-2 1 3 ns/op 0 B/op 0 allocs/op
BenchmarkSuccess/lib=direct-2 1 5 ns/op 0 B/op 0 allocs/op
BenchmarkSuccess/lib=direct-2 1 4 ns/op 0 B/op 0 allocs/op
BenchmarkSuccess/lib=other-2 1 1500 ns/op 0 B/op 3 allocs/op
BenchmarkRetry3/lib=other-2 1 250 ns/op 0 B/op 2 allocs/op
BenchmarkRetry3/lib=other-2 1 150 ns/op 0 B/op 4 allocs/op
PASS
`
	tb, err := read(strings.NewReader(in))
	require.NoError(t, err)
	assert.Equal(t, "| workload | direct | other |\n"+
		"|---|---:|---:|\n"+
		"| Success | 4.00 ns, 0 | 1.50 µs, 3 |\n"+
		"| Retry3 | | 200 ns, 3 |\n", tb.markdown())
}

func FuzzParseLine(f *testing.F) {
	f.Add("BenchmarkSuccess/lib=direct-2   73102330   3.504 ns/op   0 B/op   0 allocs/op")
	f.Add("BenchmarkA/lib=b 1 2 ns/op 3 allocs/op")
	f.Add("Benchmark/lib=-")
	f.Fuzz(func(t *testing.T, line string) {
		r, ok := parseLine(line)
		if !ok {
			return
		}
		if r.workload == "" || r.lib == "" || !(r.nsPerOp >= 0) || !(r.allocsPerOp >= 0) ||
			math.IsInf(r.nsPerOp, 0) || math.IsInf(r.allocsPerOp, 0) {
			t.Fatalf("accepted an incomplete result %+v from %q", r, line)
		}
	})
}
