package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// budgetRaw returns a raw file of the Budget group with ten rounds in
// each of two runs. retrykit takes 100 ns; direct takes 50 (retrykit is
// slower in every round); retry-go takes 200 (faster in every round);
// x-time-rate takes 95 or 105, so that retrykit is slower in 6 of 10 rounds
// when idle and in every round when busy; failsafe-go is not measured.
func budgetRaw(t *testing.T) string {
	var buf strings.Builder
	w := newRawWriter(&buf)
	for _, run := range []string{"idle", "busy"} {
		w.Config("run", run)
		for k, v := range map[string]string{"cpu": "AMD EPYC", "ncpu": "2", "goos": "linux", "goarch": "amd64",
			"go": "go1.26.8", "rounds": "10", "benchtime": "1s", "seed": "7", "date": "2026-12-01 18:40 UTC"} {
			w.Config(k, v)
		}
		if run == "busy" {
			w.Config("burners", "1")
		}
		for round := 1; round <= 10; round++ {
			rate := 95.0
			if run == "idle" && round > 6 {
				rate = 105
			}
			for _, m := range []struct {
				label  string
				ns     float64
				allocs float64
			}{{"retrykit", 100 + float64(round)/100, 0}, {"direct", 50, 0}, {"retry-go", 200, 4}, {"x-time-rate", rate, 0}} {
				w.Config("round", strconv.Itoa(round))
				w.Config("group", "Budget")
				w.Config("member", m.label)
				w.Result(Result{Name: "Budget/lib=" + m.label, Procs: 2, Iterations: 1000,
					Metrics: map[string]float64{"ns/op": m.ns, "allocs/op": m.allocs}})
			}
		}
		w.Config("others-cpu", "0.10")
		w.Config("load-start", "0.50 0.40 0.30")
	}
	require.NoError(t, w.Err())
	return buf.String()
}

func TestMarkdown(t *testing.T) {
	runs, err := ReadRaw(strings.NewReader(budgetRaw(t)))
	require.NoError(t, err)
	groups, err := Select(Comparisons, "^Budget$")
	require.NoError(t, err)
	md := Report{Groups: groups, Runs: runs}.Markdown()

	require.True(t, strings.HasPrefix(md, BeginMarker+"\n"))
	require.True(t, strings.HasSuffix(md, EndMarker+"\n"))
	for _, want := range []string{
		"Measured on AMD EPYC (2 CPUs), linux/amd64, go1.26.8, 10 rounds of `-benchtime 1s`; seed 7:",
		"SEED=7 ROUNDS=10 BENCHTIME=1s LOAD=idle,busy ./benchmarks/run.sh",
		"| idle | 2026-12-01 18:40 UTC | 0.10 | ? | 0.50 0.40 0.30; ? | ? |",
		"| busy (1 CPU burner) |",
		"#### Budget: one shared retry budget",
		"`FILTER='^Budget$' ROUNDS=10 BENCHTIME=1s LOAD=idle,busy ./benchmarks/run.sh`",
		"| | idle | busy | allocs | ratio, idle | ratio, busy | quoted |",
		"| **retrykit** | 100 ns | 100 ns | 0 | | | |",
		"| direct | 50.0 ns | 50.0 ns | 0 | 2.00 (2.00–2.00), p=0.000 | 2.00 (2.00–2.00), p=0.000 | **slower**, 2.00× |",
		"| retry-go | 200 ns | 200 ns | 4 | 0.50 (0.50–0.50), p=0.000 | 0.50 (0.50–0.50), p=0.000 | **faster**, 0.50× |",
		// Idle alone says "no difference"; the busy run is worse and is quoted.
		"| x-time-rate | 95.0 ns | 95.0 ns | 0 | 1.05 (0.95–1.05), p=0.464 | 1.05 (1.05–1.05), p=0.000 | **slower**, 1.05× |",
		"| failsafe-go | — | — | — | — | — | — |",
		"| Budget: retrykit ≤ 1.00× x-time-rate | 1.05× | **no** |",
	} {
		assert.Contains(t, md, want)
	}
	assert.NotContains(t, md, "GRPC", "groups not measured are left out")
}

func TestVerdictCell(t *testing.T) {
	cases := []struct {
		r    Ratio
		want string
	}{
		{Ratio{N: 10, Median: 1.27, Min: 1.2, Max: 1.3, Slower: 10, P: 0.0001}, "**slower**, 1.27×"},
		{Ratio{N: 10, Median: 0.5, Min: 0.4, Max: 0.6, Faster: 10, P: 0.0001}, "**faster**, 0.50×"},
		{Ratio{N: 10, Median: 1.02, Min: 0.98, Max: 1.1, Slower: 8, Faster: 2, P: 0.01}, "no difference, 1.02× (slower in 8 of 10 rounds)"},
		{Ratio{N: 10, Median: 0.99, Min: 0.9, Max: 1.1, Slower: 3, Faster: 7, P: 0.3}, "no difference, 0.99× (faster in 7 of 10 rounds)"},
		{Ratio{N: 10, Median: 1, Min: 0.9, Max: 1.1, Slower: 5, Faster: 5, P: 0.9}, "no difference, 1.00×"},
		{Ratio{}, "—"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, verdictCell(tc.r))
	}
}

func TestFormat(t *testing.T) {
	for ns, want := range map[float64]string{3.504: "3.50 ns", 15.23: "15.2 ns", 199.6: "200 ns", 1234: "1.23 µs",
		36100: "36.1 µs", 366000: "366 µs", 1.5e6: "1.50 ms"} {
		assert.Equal(t, want, duration(ns), "%v", ns)
	}
	for x, want := range map[float64]string{1: "1.00", 0.934: "0.93", 0.996: "0.996", 1.004: "1.004",
		0.99996: "1.0000", 23.94: "23.9", 150: "150"} {
		assert.Equal(t, want, ratio(x), "%v", x)
	}
}

// TestRunReport runs the command on a raw file with -report and -readme:
// it prints the report and replaces the README's section with it.
func TestRunReport(t *testing.T) {
	dir := t.TempDir()
	raw := filepath.Join(dir, "raw.txt")
	require.NoError(t, os.WriteFile(raw, []byte(budgetRaw(t)), 0o644))
	readme := filepath.Join(dir, "README.md")
	require.NoError(t, os.WriteFile(readme, []byte("# R\n"+BeginMarker+"\nold\n"+EndMarker+"\nrest\n"), 0o644))

	var out, errs strings.Builder
	require.NoError(t, run(t.Context(), []string{"-report", raw, "-readme", readme}, &out, &errs))
	assert.Contains(t, out.String(), "**slower**, 2.00×")
	doc, err := os.ReadFile(readme)
	require.NoError(t, err)
	assert.Equal(t, "# R\n"+out.String()+"rest\n", string(doc))
}

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"-rounds", "3", "-benchtime", "200ms", "-load", "busy", "-seed", "9"}, &strings.Builder{})
	require.NoError(t, err)
	assert.Equal(t, 3, c.Rounds)
	assert.Equal(t, "200ms", c.Benchtime)
	assert.Equal(t, []string{"busy"}, c.Loads)
	assert.Equal(t, uint64(9), c.Seed)

	c, err = parseFlags(nil, &strings.Builder{})
	require.NoError(t, err)
	assert.NotZero(t, c.Seed, "a random seed, printed with the report")
	assert.Equal(t, []string{"idle", "busy"}, c.Loads)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-rounds", "0"}, "-rounds 0"},
		{[]string{"-benchtime", "fast"}, "-benchtime"},
		{[]string{"-benchtime", "1000"}, "-benchtime"},
		{[]string{"-load", "idle,hot"}, "-load"},
		{[]string{"-burners", "0"}, "-burners"},
		{[]string{"-readme", "R.md", "-filter", "Budget"}, "-readme"},
		{[]string{"extra"}, "unexpected arguments"},
	} {
		_, err := parseFlags(tc.args, &strings.Builder{})
		require.ErrorContains(t, err, tc.want, "%q", tc.args)
	}
}

// TestTargetTakesTheWorstMedian: a target is judged on the largest median
// of the runs, not on the run whose verdict is quoted. Here the idle run
// says "no difference" at 0.5× (one round across 1) and the busy run says
// "faster" at 0.9×: the verdict quotes idle, the target 0.8× is not met.
func TestTargetTakesTheWorstMedian(t *testing.T) {
	mk := func(name string, subject []float64, ref float64) *Run {
		r := &Run{Name: name, Meta: map[string]string{}, Samples: map[string]map[string]map[int]Sample{}}
		for i, s := range subject {
			require.NoError(t, r.add("G", "a", i+1, Sample{NsPerOp: s}))
			require.NoError(t, r.add("G", "b", i+1, Sample{NsPerOp: ref}))
		}
		return r
	}
	idle := mk("idle", []float64{50, 50, 50, 50, 50, 50, 50, 50, 50, 120}, 100)
	busy := mk("busy", []float64{90, 90, 90, 90, 90, 90, 90, 90, 90, 90}, 100)
	g := Group{Name: "G", Members: libs("W", "a", "b"),
		Views: []View{{Title: "t", Subject: "a", Refs: []string{"b"}, Targets: []Target{{Ref: "b", MaxRatio: 0.8}}}}}
	md := Report{Groups: []Group{g}, Runs: []*Run{idle, busy}}.Markdown()
	assert.Contains(t, md, "| no difference, 0.50× (faster in 9 of 10 rounds) |")
	assert.Contains(t, md, "| G: a ≤ 0.80× b | 0.90× | **no** |")
}
