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
		{[]string{"-rate", "-1"}, exitUsage, "-rate: "},
		{[]string{"-workers", "0"}, exitUsage, "-workers: "},
		{[]string{"-outage", "-1s"}, exitUsage, "-outage: "},
		{[]string{"-scenario", "herd", "-burst", "0"}, exitUsage, "-burst: "},
		{[]string{"-scenario", "nope"}, exitUsage, "-scenario"},
		{[]string{"-budget", "lots"}, exitUsage, "-budget"},
		{[]string{"-budget", "capacity=0"}, exitUsage, "Capacity must be > 0"},
		{[]string{"-breaker", "failures=x"}, exitUsage, "-breaker"},
		{[]string{"-scenario", "layers", "-layers", "9"}, exitUsage, "-layers: "},
		{[]string{"-trigger", "slow"}, exitUsage, "-magnitude"},
		{[]string{"-magnitude", "0.5"}, exitUsage, "-magnitude applies only"},
		{[]string{"extra"}, exitUsage, "no arguments"},
		{[]string{"-max-events", "1000"}, exitFailure, "event limit"},
		{[]string{"-scenario", "herd", "-after", "-1s"}, exitUsage, "-after: "},
		{[]string{"-scenario", "occ", "-max-events", "-5"}, exitUsage, "-max-events: "},
		{[]string{"-budget", "foo"}, exitUsage, `unknown budget preset "foo"`},
		{[]string{"-scenario", "layers", "-rate", "0"}, exitUsage, "-rate: "},
		{[]string{"-scenario", "layers", "-requests", "0"}, exitUsage, "-requests: "},
		{[]string{"-scenario", "occ", "-format", "csv"}, exitUsage, "-format csv does not apply"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, errOut := runSimArgs(t, tc.args...)
			assert.Equal(t, tc.code, code, errOut)
			assert.Contains(t, errOut, tc.want)
			assert.True(t, strings.HasPrefix(errOut, "retry sim: "), errOut)
		})
	}
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
		flag string
	}{
		{[]string{"-bucket", "1ns"}, "-bucket: "},
		{[]string{"-after", "2000000h"}, "-after: "},
		{[]string{"-scenario", "herd", "-bucket", "1ns"}, "-bucket: "},
		{[]string{"-scenario", "herd", "-after", "2000000h"}, "-after: "},
	} {
		code, _, errOut := runSimArgs(t, tc.args...)
		assert.Equal(t, 2, code, "%v", tc.args)
		assert.Contains(t, errOut, tc.flag, "%v", tc.args)
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
