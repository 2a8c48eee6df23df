package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRawRoundTrip writes two runs with rawWriter and reads them back.
func TestRawRoundTrip(t *testing.T) {
	var buf strings.Builder
	w := newRawWriter(&buf)
	for _, run := range []string{"idle", "busy"} {
		w.Config("run", run)
		w.Config("cpu", "AMD EPYC")
		for round := 1; round <= 2; round++ {
			for _, m := range []string{"retrykit", "direct"} {
				w.Config("round", string(rune('0'+round)))
				w.Config("group", "Success")
				w.Config("member", m)
				ns := float64(10 * round)
				if m == "direct" {
					ns = 5
				}
				w.Result(Result{Name: "Success/lib=" + m, Procs: 2, Iterations: 100,
					Metrics: map[string]float64{"ns/op": ns, "allocs/op": 1, "B/op": 8}})
			}
		}
		w.Config("others-cpu", "0.25")
	}
	require.NoError(t, w.Err())

	runs, err := ReadRaw(strings.NewReader(buf.String()))
	require.NoError(t, err)
	require.Len(t, runs, 2)
	for i, name := range []string{"idle", "busy"} {
		r := runs[i]
		assert.Equal(t, name, r.Name)
		assert.Equal(t, map[string]string{"cpu": "AMD EPYC", "others-cpu": "0.25"}, r.Meta)
		assert.Equal(t, map[int]float64{1: 10, 2: 20}, r.Values("Success", "retrykit"))
		assert.Equal(t, map[int]float64{1: 5, 2: 5}, r.Values("Success", "direct"))
		assert.Equal(t, 1.0, r.Allocs("Success", "retrykit"))
	}
}

func TestReadRawIgnoresOtherLines(t *testing.T) {
	raw := "goos: linux\nrun: idle\nround: 1\ngroup: G\nmember: m\n" +
		"PASS\n    bench_test.go:1: log\nBenchmarkX-2 10 3 ns/op 0 allocs/op\nok pkg 1s\n"
	runs, err := ReadRaw(strings.NewReader(raw))
	require.NoError(t, err)
	require.Len(t, runs, 1)
	assert.Equal(t, map[int]float64{1: 3}, runs[0].Values("G", "m"))
}

func TestReadRawErrors(t *testing.T) {
	const head = "run: idle\nround: 1\ngroup: G\nmember: m\n"
	cases := []struct{ name, raw, want string }{
		{"result before a run", "round: 1\ngroup: G\nmember: m\nBenchmarkX 1 1 ns/op 0 allocs/op\n", "before its run"},
		{"result before a member", "run: idle\nround: 1\ngroup: G\nBenchmarkX 1 1 ns/op 0 allocs/op\n", "before its run"},
		{"round not a number", "run: idle\nround: x\n", "not a positive number"},
		{"round zero", "run: idle\nround: 0\n", "not a positive number"},
		{"measured twice", head + "BenchmarkX 1 1 ns/op 0 allocs/op\nBenchmarkX 1 2 ns/op 0 allocs/op\n", "measured twice"},
		{"no allocs", head + "BenchmarkX 1 1 ns/op\n", "-benchmem"},
		{"malformed result", head + "BenchmarkX 1 NaN ns/op 0 allocs/op\n", "malformed"},
	}
	for _, tc := range cases {
		_, err := ReadRaw(strings.NewReader(tc.raw))
		require.ErrorContains(t, err, tc.want, tc.name)
	}
}
