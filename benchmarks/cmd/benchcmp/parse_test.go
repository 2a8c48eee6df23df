package main

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseLine(t *testing.T) {
	cases := []struct {
		name, line string
		want       Result
		ok, err    bool
	}{
		{
			name: "sub-benchmark with -benchmem",
			line: "BenchmarkRetry3/lib=retrykit-2   \t 5962104\t       199.6 ns/op\t       0 B/op\t       0 allocs/op",
			want: Result{Name: "Retry3/lib=retrykit", Procs: 2, Iterations: 5962104,
				Metrics: map[string]float64{"ns/op": 199.6, "B/op": 0, "allocs/op": 0}},
			ok: true,
		},
		{
			name: "GOMAXPROCS=1 prints no suffix",
			line: "BenchmarkDirect 100 3.5 ns/op",
			want: Result{Name: "Direct", Procs: 1, Iterations: 100, Metrics: map[string]float64{"ns/op": 3.5}},
			ok:   true,
		},
		{
			name: "a dash that is not the procs suffix",
			line: "BenchmarkSuccess/lib=retry-go-8 10 1.5 ns/op",
			want: Result{Name: "Success/lib=retry-go", Procs: 8, Iterations: 10, Metrics: map[string]float64{"ns/op": 1.5}},
			ok:   true,
		},
		{
			name: "lib=go-retry without suffix keeps its dash",
			line: "BenchmarkSuccess/lib=go-retry 10 1.5 ns/op",
			want: Result{Name: "Success/lib=go-retry", Procs: 1, Iterations: 10, Metrics: map[string]float64{"ns/op": 1.5}},
			ok:   true,
		},
		{
			name: "custom metric and exponent",
			line: "BenchmarkOpen/a6-2 3 1.2e+06 ns/op 3.4e6 attempts/s",
			want: Result{Name: "Open/a6", Procs: 2, Iterations: 3, Metrics: map[string]float64{"ns/op": 1.2e6, "attempts/s": 3.4e6}},
			ok:   true,
		},
		{name: "config line", line: "cpu: AMD EPYC"},
		{name: "PASS", line: "PASS"},
		{name: "ok line", line: "ok  \tgithub.com/retrykit/retry\t1.2s"},
		{name: "name alone before logs", line: "BenchmarkRetry3/lib=retrykit-2"},
		{name: "name then log text", line: "BenchmarkX-2 bench_test.go:12: hello"},
		{name: "not a benchmark: lower case after the prefix", line: "Benchmarking 100 1 ns/op"},
		{name: "just the prefix", line: "Benchmark 100 1 ns/op"},
		{name: "just the prefix and procs", line: "Benchmark-2 100 1 ns/op"},
		{name: "odd fields", line: "BenchmarkX-2 100 3.5 ns/op 0", err: true},
		{name: "zero iterations", line: "BenchmarkX-2 0 3.5 ns/op", err: true},
		{name: "negative iterations", line: "BenchmarkX-2 -5 3.5 ns/op", err: true},
		{name: "value not a number", line: "BenchmarkX-2 100 abc ns/op", err: true},
		{name: "NaN", line: "BenchmarkX-2 100 NaN ns/op", err: true},
		{name: "infinite", line: "BenchmarkX-2 100 +Inf ns/op", err: true},
		{name: "negative value", line: "BenchmarkX-2 100 -1 ns/op", err: true},
		{name: "unit twice", line: "BenchmarkX-2 100 1 ns/op 2 ns/op", err: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := ParseLine(tc.line)
			if tc.err {
				require.ErrorIs(t, err, errMalformed)
				assert.False(t, ok)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.ok, ok)
			if ok {
				assert.Equal(t, tc.want, got)
			}
		})
	}
}

func TestResultStringRoundTrips(t *testing.T) {
	r := Result{Name: "Retry3/lib=retrykit", Procs: 2, Iterations: 7,
		Metrics: map[string]float64{"ns/op": 199.6, "allocs/op": 0, "B/op": 0}}
	assert.Equal(t, "BenchmarkRetry3/lib=retrykit-2\t7\t0 B/op\t0 allocs/op\t199.6 ns/op", r.String())
	back, ok, err := ParseLine(r.String())
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, r, back)
}

func TestParseConfig(t *testing.T) {
	cases := []struct {
		line, key, value string
		ok               bool
	}{
		{"cpu: AMD EPYC 7B13", "cpu", "AMD EPYC 7B13", true},
		{"load-start: 0.52 0.40 0.31", "load-start", "0.52 0.40 0.31", true},
		{"member: go-grpc-middleware", "member", "go-grpc-middleware", true},
		{"date: 2026-12-01 18:40 UTC", "date", "2026-12-01 18:40 UTC", true},
		{"empty:", "empty", "", true},
		{"Cpu: upper case key", "", "", false},
		{"two words: no", "", "", false},
		{": no key", "", "", false},
		{"no colon", "", "", false},
		{"BenchmarkX-2 100 1 ns/op", "", "", false},
		{"    bench_test.go:12: log", "", "", false},
	}
	for _, tc := range cases {
		key, value, ok := ParseConfig(tc.line)
		assert.Equal(t, tc.ok, ok, tc.line)
		assert.Equal(t, tc.key, key, tc.line)
		assert.Equal(t, tc.value, value, tc.line)
	}
}

// FuzzParseLine: no line makes the parser panic; a line it accepts has
// b.N ≥ 1 and finite, non-negative metrics, and prints back to a line
// that parses to the same result; a rejected line is never half-parsed.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		"BenchmarkRetry3/lib=retrykit-2   \t 5962104\t       199.6 ns/op\t       0 B/op\t       0 allocs/op",
		"BenchmarkDirect 100 3.5 ns/op",
		"BenchmarkX-2 100 NaN ns/op",
		"BenchmarkX-0 1 1e300 x",
		"Benchmark-2 1 0 ns/op",
		"BenchmarkX-02 1 -0 ns/op",
		"cpu: AMD EPYC",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r, ok, err := ParseLine(line)
		if err != nil || !ok {
			require.False(t, ok)
			require.Equal(t, Result{}, r)
			return
		}
		require.GreaterOrEqual(t, r.Iterations, int64(1))
		require.GreaterOrEqual(t, r.Procs, 1)
		for unit, v := range r.Metrics {
			require.False(t, math.IsNaN(v) || math.IsInf(v, 0) || v < 0, "%s = %v", unit, v)
		}
		back, ok, err := ParseLine(r.String())
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, r, back)
	})
}
