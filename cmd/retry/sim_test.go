package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// runSimArgs runs retry sim with args and returns its status and outputs.
func runSimArgs(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"sim"}, args...), strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// short is a scaled-down metastable stall that runs in milliseconds.
var short = []string{"-clients", "20", "-rate", "70", "-workers", "1", "-queue", "200", "-outage-start", "3s", "-outage", "2s", "-after", "20s", "-attempts", "3"}

func TestSimTable(t *testing.T) {
	code, out, errOut := runSimArgs(t, append(short, "-budget", "none,grpc")...)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "-budget none")
	assert.Contains(t, out, "-budget grpc")
	assert.Contains(t, out, "did not recover within 20s")
	assert.Contains(t, out, "amplification (mean)")
}

func TestSimSameSeedSameBytes(t *testing.T) {
	args := append(short, "-format", "csv", "-budget", "ratio", "-seed", "5")
	_, a, _ := runSimArgs(t, args...)
	_, b, _ := runSimArgs(t, args...)
	require.NotEmpty(t, a)
	assert.Equal(t, a, b)
	assert.True(t, strings.HasPrefix(a, "label,seed,t_s,offered_per_s"), a)
}

func TestSimJSONAndSVG(t *testing.T) {
	svg := filepath.Join(t.TempDir(), "chart.svg")
	code, out, errOut := runSimArgs(t, append(short, "-format", "json", "-svg", svg)...)
	require.Equal(t, 0, code, errOut)
	var rs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &rs))
	require.Len(t, rs, 1)
	assert.Equal(t, "open", rs[0]["scenario"])
	b, err := os.ReadFile(svg)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(b, []byte("<svg ")))
}

func TestSimScenarios(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-scenario", "layers", "-layers", "3", "-attempts", "3", "-rate", "10"}, "27.000"},
		{[]string{"-scenario", "occ", "-trials", "2", "-clients", "10", "-attempts", "0"}, "calls"},
		{[]string{"-scenario", "herd", "-clients", "50", "-attempts", "0", "-max-delay", "5s"}, "time to recover"},
		{[]string{"-scenario", "sweep", "-clients", "20", "-rate", "70", "-workers", "1", "-queue", "200", "-outage-start", "3s", "-after", "20s",
			"-attempts", "3", "-magnitudes", "0.2,1", "-lengths", "1s", "-format", "csv"}, "-budget none,1,1,false"},
		{[]string{"-scenario", "sweep", "-clients", "20", "-rate", "70", "-workers", "1", "-queue", "200", "-outage-start", "3s", "-after", "20s",
			"-attempts", "3", "-magnitudes", "1", "-lengths", "1s"}, "time to recover"},
		{[]string{"-scenario", "occ", "-trials", "2", "-clients", "10", "-attempts", "0", "-format", "json"}, `"calls"`},
		{[]string{"-scenario", "layers", "-layers", "2", "-attempts", "3", "-requests", "5", "-format", "json"}, `"amplification": 9`},
	} {
		t.Run(tc.args[1], func(t *testing.T) {
			code, out, errOut := runSimArgs(t, tc.args...)
			require.Equal(t, 0, code, errOut)
			assert.Contains(t, out, tc.want)
		})
	}
}

func TestSimBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-rate", "-1"}, exitUsage, "-rate must be a positive number of requests per second, got -1"},
		{[]string{"-workers", "0"}, exitUsage, "-workers must be in [1, 1000000], got 0"},
		{[]string{"-outage", "-1s"}, exitUsage, "-outage must be in [0, 100000h0m0s], got -1s"},
		{[]string{"-scenario", "herd", "-burst", "0"}, exitUsage, "-burst must be >= 1, got 0"},
		{[]string{"-scenario", "nope"}, exitUsage, `invalid value "nope" for flag -scenario: want one of open, herd, occ, layers, sweep`},
		{[]string{"-budget", "lots"}, exitUsage, "-budget lots: unknown preset"},
		{[]string{"-budget", "capacity=0"}, exitUsage, "-budget capacity=0: capacity must be > 0, got 0"},
		{[]string{"-budget", "capacity=10+threshold=20"}, exitUsage, "-budget capacity=10+threshold=20: threshold (20) must be below capacity (10)"},
		{[]string{"-budget", "capacity=10+cost=x"}, exitUsage, `-budget capacity=10+cost=x: cost="x" is not a finite number`},
		{[]string{"-breaker", "failures=x"}, exitUsage, `-breaker failures=x: failures="x" is not a whole number`},
		{[]string{"-breaker", "recovery=-1s"}, exitUsage, "-breaker recovery=-1s: recovery must not be negative, got -1s"},
		{[]string{"-scenario", "layers", "-layers", "9"}, exitUsage, "-layers must be in [1, 8], got 9"},
		{[]string{"-trigger", "slow"}, exitUsage, "-trigger slow needs -magnitude"},
		{[]string{"-magnitude", "0.5"}, exitUsage, "-magnitude applies only to -trigger slow"},
		{[]string{"extra"}, exitUsage, `arguments after the flags are not taken, got ["extra"]`},
		{[]string{"-max-events", "1000"}, exitUsage, "-rate 700 brings about 9.45e+04 caller requests over a run of 2m15s, more than the event limit (1000) processes"},
		{[]string{"-max-events", "200000"}, exitFailure, "stopped after 200000 events at virtual time 25.326s: raise -max-events or shorten the run"},
		{[]string{"-scenario", "herd", "-after", "-1s"}, exitUsage, "-after must be in [0, 100000h0m0s], got -1s"},
		{[]string{"-scenario", "occ", "-max-events", "-5"}, exitUsage, "-max-events must not be negative, got -5"},
		{[]string{"-scenario", "layers", "-rate", "0"}, exitUsage, "-rate must be a positive number of requests per second, got 0"},
		{[]string{"-scenario", "layers", "-requests", "0"}, exitUsage, "-requests must be in [1, 500000000]"},
		{[]string{"-scenario", "occ", "-format", "csv"}, exitUsage, "-format csv does not apply"},
		{[]string{"-format", "svg"}, exitUsage, `invalid value "svg" for flag -format: a chart is written to a file: use -svg FILE`},
		{[]string{"-clients", "1.5"}, exitUsage, `invalid value "1.5" for flag -clients: want a whole number, such as 100 or 1e5; got "1.5"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, errOut := runSimArgs(t, tc.args...)
			assert.Equal(t, tc.code, code, errOut)
			assert.Contains(t, errOut, "retry sim: "+tc.want)
			requireFlagWords(t, errOut)
		})
	}
}

// requireFlagWords fails unless an error of retry sim has one prefix and
// names flags, not the Go fields or types behind them.
func requireFlagWords(t *testing.T, errOut string) {
	t.Helper()
	require.True(t, strings.HasPrefix(errOut, "retry sim: "), errOut)
	assert.Equal(t, 1, strings.Count(errOut, "retry sim: "), errOut)
	assert.NotContains(t, errOut, "invalid configuration")
	assert.NotRegexp(t, `\b(Open|Herd|OCC|Layers|Sweep|BudgetConfig|BreakerConfig)\.|\b(Capacity|PerSuccess|PerSecond|RetryCost|TimeoutCost|Threshold|FailureThreshold|RecoveryTimeout|HalfOpenProbes|MaxEvents|MaxBuckets|MaxSpan|MaxPending)\b`, errOut)
}

func TestSimHelp(t *testing.T) {
	code, out, _ := runSimArgs(t, "-h")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "Scenarios:")
	assert.Contains(t, out, "-budget")
	assert.Contains(t, out, "-attempts")
}

// FuzzSimPolicyParsers: -budget and -breaker never panic, and what they
// accept the library accepts.
func FuzzSimPolicyParsers(f *testing.F) {
	for _, s := range []string{"none", "grpc", "ratio", "aws", "default", "capacity=10+per-success=0.1+threshold=5",
		"failures=5+recovery=30s+probes=1", "capacity=0", "capacity=NaN", "threshold=", "=", "+", "recovery=-1s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if c, err := parseBudget(s); err == nil && c != nil {
			_, err := retry.NewBudget(*c)
			require.NoError(t, err, "-budget %q", s)
		}
		if c, err := parseBreaker(s); err == nil && c != nil {
			_, err := retry.NewBreaker(*c)
			require.NoError(t, err, "-breaker %q", s)
		}
	})
}

// TestGRPCPresetIsA6: the grpc preset keeps more than half its tokens, so
// from full it grants 4 retries, as gRPC A6 does.
func TestGRPCPresetIsA6(t *testing.T) {
	c, err := parseBudget("grpc")
	require.NoError(t, err)
	b, err := retry.NewBudget(*c)
	require.NoError(t, err)
	for range 10 {
		_, err := retry.Do(t.Context(), func(context.Context) (int, error) { return 0, errors.New("down") },
			retry.WithMaxAttempts(100), retry.WithBackoff(retry.Constant(0)), retry.WithBudget(b))
		require.Error(t, err)
	}
	assert.Equal(t, uint64(4), b.Stats().Allowed)
}

// TestSimRangeTooLarge: a fine or long time range is a usage error naming
// its flag, not a process out of memory.
func TestSimRangeTooLarge(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-bucket", "1ns"}, "-bucket makes 135000000000 time buckets of 1ns over a run of 2m15s, more than a run holds (1000000)"},
		{[]string{"-after", "2000000h"}, "-after must be in [0, 100000h0m0s], got 2000000h0m0s"},
		{[]string{"-after", "30000h", "-outage-start", "90000h"}, "-after makes 432000005 time buckets of 1s over a run of 120000h0m5s"},
		{[]string{"-scenario", "herd", "-bucket", "1ns"}, "-bucket makes"},
		{[]string{"-scenario", "herd", "-after", "2000000h"}, "-after must be in"},
	} {
		code, _, errOut := runSimArgs(t, tc.args...)
		assert.Equal(t, exitUsage, code, "%v", tc.args)
		assert.Contains(t, errOut, "retry sim: "+tc.want, "%v", tc.args)
		requireFlagWords(t, errOut)
	}
}

// TestSimFlagsTheScenarioIgnores: a flag set explicitly that the scenario
// does not read is a usage error naming it, not silently ignored.
func TestSimFlagsTheScenarioIgnores(t *testing.T) {
	for _, tc := range []struct {
		scenario string
		flags    []string
	}{
		{"occ", []string{"-svg=x.svg", "-rate=1", "-outage=1s", "-burst=3"}},
		{"layers", []string{"-svg=x.svg", "-clients=3", "-trials=3", "-outage=1s"}},
		{"sweep", []string{"-trigger=reject", "-outage=1s", "-magnitude=0.5", "-retry-after", "-burst=3"}},
		{"herd", []string{"-workers=3", "-service=1s", "-queue=3", "-timeout=1s", "-trigger=reject", "-magnitude=0.5", "-outage-start=1s"}},
		{"open", []string{"-burst=3", "-trials=3", "-layers=2", "-fail-rate=0.5", "-magnitudes=0.5", "-lengths=1s", "-requests=3"}},
	} {
		for _, f := range tc.flags {
			name, _, _ := strings.Cut(f, "=")
			code, _, errOut := runSimArgs(t, "-scenario", tc.scenario, f)
			assert.Equal(t, exitUsage, code, "%s %s: %s", tc.scenario, f, errOut)
			assert.Contains(t, errOut, name+" does not apply to -scenario "+tc.scenario, "%s %s", tc.scenario, f)
		}
	}
}
