package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/sim"
)

// shortTail is -scenario tail small enough to run in a test.
var shortTail = []string{"-scenario", "tail", "-requests", "200"}

func TestSimTailTable(t *testing.T) {
	code, out, errOut := runSimArgs(t, append(shortTail, "-budget", "none,fanout")...)
	require.Equal(t, 0, code, errOut)
	for _, want := range []string{"no hedge, budget none", "hedge 5ms, budget fanout", "hedge p95, budget none",
		"user request p50/p99/p99.9 ms", "single call p50/p99/p99.9 ms", "extra requests (hedges won)", "load: attempts per call"} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "brownout", "no -outage, no brownout rows")
}

func TestSimTailBrownoutJSONAndSVG(t *testing.T) {
	svg := filepath.Join(t.TempDir(), "tail.svg")
	code, out, errOut := runSimArgs(t, append(shortTail, "-requests", "500", "-outage-start", "1s", "-outage", "2s",
		"-hedge", "none,2ms,p90", "-max-in-flight", "3", "-format", "json", "-svg", svg, "-seed", "4")...)
	require.Equal(t, 0, code, errOut)
	var rs []sim.TailResult
	require.NoError(t, json.Unmarshal([]byte(out), &rs))
	require.Len(t, rs, 3)
	assert.Equal(t, "hedge p90 x3, budget none", rs[2].Label)
	assert.Equal(t, uint64(4), rs[0].Seed)
	for _, r := range rs {
		assert.Positive(t, r.BrownoutLoad, r.Label)
		assert.NotEmpty(t, r.Series)
	}
	raw, err := os.ReadFile(svg)
	require.NoError(t, err)
	b := string(raw)
	assert.Contains(t, b, "load on the server: attempts per call")
	assert.Contains(t, b, "hedge 2ms x3, budget none")
}

func TestSimTailCSVSameSeedSameBytes(t *testing.T) {
	args := append(shortTail, "-format", "csv", "-hedge", "p95", "-seed", "9")
	_, a, _ := runSimArgs(t, args...)
	_, b, _ := runSimArgs(t, args...)
	assert.Equal(t, a, b)
	assert.True(t, strings.HasPrefix(a, "label,seed,t_s,calls_per_s,attempts_per_s,load"), a)
}

func TestSimTailBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-hedge", "p100"}, "-hedge p100: want a percentile in (0, 100) after p"},
		{[]string{"-hedge", "none,-5ms"}, "-hedge -5ms: want none, a delay in (0, 100000h0m0s]"},
		{[]string{"-hedge", "soon"}, `-hedge soon: want none, a delay`},
		{[]string{"-hedge", ""}, `invalid value "" for flag -hedge: want a comma-separated list without empty entries`},
		{[]string{"-max-in-flight", "1"}, "-max-in-flight must be in [2, 4], got 1"},
		{[]string{"-fan-out", "0"}, "-fan-out must be in [1, 10000], got 0"},
		{[]string{"-sigma", "5"}, "-sigma must be in [0, 4], got 5"},
		{[]string{"-stragglers", "1.5"}, "-stragglers must be in [0, 1], got 1.5"},
		{[]string{"-slow-min", "20", "-slow-max", "10"}, "-slow-max must be in [20, 1e6] (from the least factor up), got 10"},
		{[]string{"-slowdown", "0.5"}, "-slowdown must be in [1, 1e6], or 0 for 1, got 0.5"},
		{[]string{"-median", "0s"}, "-median must be in (0, 100000h0m0s], got 0s"},
		{[]string{"-rate", "0"}, "-rate must be a positive number of user requests per second, got 0"},
		{[]string{"-requests", "0"}, "-requests must be at least 1"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, errOut := runSimArgs(t, append([]string{"-scenario", "tail"}, tc.args...)...)
			assert.Equal(t, exitUsage, code, errOut)
			assert.Contains(t, errOut, "retry sim: "+tc.want)
			requireFlagWords(t, errOut)
		})
	}
}

func TestSimTailFlagsOtherScenariosIgnore(t *testing.T) {
	for _, f := range []string{"-hedge=p95", "-fan-out=3", "-slowdown=2", "-max-in-flight=3"} {
		name, _, _ := strings.Cut(f, "=")
		code, _, errOut := runSimArgs(t, f)
		assert.Equal(t, exitUsage, code, errOut)
		assert.Contains(t, errOut, name+" does not apply to -scenario open")
	}
	for _, f := range []string{"-clients=3", "-timeout=1s", "-trigger=reject", "-burst=3"} {
		name, _, _ := strings.Cut(f, "=")
		code, _, errOut := runSimArgs(t, "-scenario", "tail", f)
		assert.Equal(t, exitUsage, code, errOut)
		assert.Contains(t, errOut, name+" does not apply to -scenario tail")
	}
}

func TestParseHedge(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want sim.Hedge
	}{
		{"none", sim.Hedge{}},
		{"5ms", sim.Hedge{Delay: 5 * time.Millisecond, MaxInFlight: 3}},
		{"p95", sim.Hedge{Quantile: 0.95, MaxInFlight: 3}},
		{"p99.9", sim.Hedge{Quantile: 0.999, MaxInFlight: 3}},
	} {
		h, err := parseHedge(tc.in, 3)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want.Delay, h.Delay, tc.in)
		assert.InDelta(t, tc.want.Quantile, h.Quantile, 1e-12, tc.in)
	}
	for _, bad := range []string{"", "p", "p0", "p100", "pNaN", "p-1", "0s", "-1ms", "1e9h", "fast", "P95"} {
		_, err := parseHedge(bad, 0)
		assert.Error(t, err, bad)
	}
}

// FuzzParseHedge: any -hedge entry is a hedge the simulator accepts, or
// an error; never a panic.
func FuzzParseHedge(f *testing.F) {
	for _, s := range []string{"none", "5ms", "p95", "p99.9", "p0", "p100", "pInf", "p1e-300", "1ns", "-1s", "100000h0m1s", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, entry string) {
		h, err := parseHedge(entry, 0)
		if err != nil {
			return
		}
		if h.Delay < 0 || math.IsNaN(h.Quantile) || h.Quantile < 0 || h.Quantile >= 1 {
			t.Fatalf("%q: %+v", entry, h)
		}
		s := sim.LatencyTail()
		s.Requests, s.FanOut = 1, 1
		if _, err := s.Run(sim.Fleet{Policy: mustPolicy(t)}, h); err != nil {
			t.Fatalf("%q: %+v: %v", entry, h, err)
		}
	})
}

func mustPolicy(t *testing.T) *retry.Policy {
	p, err := retry.NewPolicy()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
