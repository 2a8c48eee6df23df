package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry/sim"
)

// TestSimAllocatesOnlyWhatARunHolds: the inputs of issue 20 that crashed
// retry sim out of memory are usage errors naming their flag, found before
// anything is allocated. (The event limit is lowered where the run, before
// the bound existed, would otherwise have gone on for long.)
func TestSimAllocatesOnlyWhatARunHolds(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-clients", "1e9"}, "-clients must be in [1, 100000], got 1000000000"},
		{[]string{"-clients", "100001"}, "-clients must be in [1, 100000], got 100001"},
		{[]string{"-queue", "1e10"}, "-queue must be in [0, 1000000], got 10000000000"},
		{[]string{"-queue", "1000001"}, "-queue must be in [0, 1000000], got 1000001"},
		{[]string{"-scenario", "herd", "-clients", "3e7"}, "-clients must be in [1, 100000], got 30000000"},
		{[]string{"-scenario", "occ", "-clients", "100001", "-max-events", "1000"}, "-clients must be in [1, 100000], got 100001"},
		{[]string{"-rate", "1e300", "-max-events", "100000"}, "-rate 1e+300 brings about 1.35e+302 caller requests over a run of 2m15s, more than the event limit (100000) processes: lower the rate, shorten the run or raise the limit"},
		{[]string{"-scenario", "layers", "-rate", "1e-300"}, "-rate 1e-300 spreads 700 caller requests over 6.99e+302s, more than a run spans (100000h0m0s): lower -requests or raise -rate"},
		{[]string{"-scenario", "layers", "-requests", "1e9", "-rate", "1e300"}, "-requests must be in [1, 500000000], the event limit (each caller request is an event), got 1000000000"},
		{[]string{"-hop", "100001h"}, "-hop must be in [0, 100000h0m0s], got 100001h0m0s"},
		{[]string{"-service", "100001h"}, "-service must be in (0, 100000h0m0s], got 100001h0m0s"},
		{[]string{"-scenario", "sweep", "-lengths", "1s,100001h"}, "-lengths must each be in (0, 100000h0m0s], got 100001h0m0s"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := runSimArgs(t, tc.args...)
			assert.Equal(t, exitUsage, code, errOut)
			assert.Empty(t, out)
			assert.Equal(t, "retry sim: "+tc.want, strings.SplitN(errOut, "\n", 2)[0])
			requireFlagWords(t, errOut)
		})
	}
}

// TestSimTinyRate: at -rate 1e-300 no request arrives within the run; the
// run says so (0 requests, n/a) instead of driving virtual time negative.
func TestSimTinyRate(t *testing.T) {
	code, out, errOut := runSimArgs(t, "-rate", "1e-300", "-max-events", "100000")
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `caller requests +0\n`, out)
}

// TestSimLimitErrorsInFlagWords: a run stopped by a bound says which and
// what to change, in the words of the flags.
func TestSimLimitErrorsInFlagWords(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&sim.LimitError{Limit: 1000, At: 1234567 * time.Microsecond},
			"retry sim: stopped after 1000 events at virtual time 1.235s: raise -max-events or shorten the run\n"},
		{&sim.LimitError{Pending: true, Limit: sim.MaxPending, At: 12 * time.Second},
			"retry sim: stopped at virtual time 12s holding more than 1000000 events at once: the work in flight outgrows what a run holds; lower the load (-rate, -clients, -requests) or let attempts time out (-timeout) or give up (-attempts)\n"},
		{fmt.Errorf("sim: sweep cell: %w", &sim.FieldError{Field: "Open.Queue", Problem: "must be in [0, 1000000], got -1"}),
			"retry sim: -queue must be in [0, 1000000], got -1\n"},
	} {
		var b strings.Builder
		code := reportSim(&b, tc.err)
		assert.NotEqual(t, 0, code)
		assert.Equal(t, tc.want, b.String())
		requireFlagWords(t, b.String())
	}
}

// TestSimEveryFieldHasAFlag: every scenario field the CLI sets has a flag
// to name in errors.
func TestSimEveryFieldHasAFlag(t *testing.T) {
	for _, field := range []string{"Open.Clients", "Open.Rate", "Open.Workers", "Open.Service", "Open.Queue", "Open.Hop",
		"Open.Timeout", "Open.After", "Open.Bucket", "Open.MaxEvents", "Open.Trigger.Start", "Open.Trigger.Length",
		"Open.Trigger.Magnitude", "Herd.Clients", "Herd.Rate", "Herd.Burst", "Herd.Outage", "Herd.Hop", "Herd.After",
		"Herd.Bucket", "Herd.MaxEvents", "OCC.Clients", "OCC.Trials", "OCC.MaxEvents", "Layers.Depth", "Layers.Requests",
		"Layers.Gap", "Layers.Hop", "Layers.FailRate", "Layers.MaxEvents", "Sweep.Magnitudes", "Sweep.Lengths"} {
		assert.Contains(t, simFlags, field)
	}
}

// FuzzSimWholeNumbers: the count flags' parser never panics, accepts what
// strconv reads as a whole number in range, and returns that number.
func FuzzSimWholeNumbers(f *testing.F) {
	for _, s := range []string{"0", "100", "-5", "1e9", "1e10", "2.5e3", "1.5", "1e30", "9223372036854775807",
		"9223372036854775808", "-9223372036854775808", "9.3e18", "NaN", "Inf", "-Inf", "0x10", "1_000", "", " 1", "1e-3", "-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, bits := range []int{32, 64} {
			n, err := parseWhole(s, bits)
			if err != nil {
				continue
			}
			require.LessOrEqual(t, n, int64(math.MaxInt64)>>(64-bits), "%q, %d bits", s, bits)
			require.GreaterOrEqual(t, n, int64(math.MinInt64)>>(64-bits), "%q, %d bits", s, bits)
			if i, err := strconv.ParseInt(s, 10, bits); err == nil {
				require.Equal(t, i, n, "%q", s)
				continue
			}
			v, err := strconv.ParseFloat(s, 64)
			require.NoError(t, err, "%q accepted", s)
			require.Equal(t, v, float64(n), "%q", s)
		}
	})
}

// FuzzSimLists: -magnitudes and -lengths never panic, and what they accept
// is a non-empty list of fractions in (0, 1] and of durations > 0.
func FuzzSimLists(f *testing.F) {
	for _, s := range []string{"0.25,0.5,1", "1", "0", "1.5", "NaN", ",", "1s,5s,30s", "0s", "-1s", "1e-9", "100001h", "1s,", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var fs []float64
		if (floatListValue{&fs}).Set(s) == nil {
			require.NotEmpty(t, fs)
			for _, v := range fs {
				require.True(t, v > 0 && v <= 1, "%q gave %v", s, v)
			}
		}
		var ds []time.Duration
		if (durationListValue{&ds}).Set(s) == nil {
			require.NotEmpty(t, ds)
			for _, d := range ds {
				require.Positive(t, d, "%q", s)
			}
		}
	})
}

// FuzzSimCountFlags: any value of a count flag either is refused with an
// error naming the flag, or runs; nothing panics and nothing allocates
// beyond the bounds (a -max-events of 20000 keeps every run short).
func FuzzSimCountFlags(f *testing.F) {
	flags := []string{"clients", "workers", "queue", "requests", "trials", "layers", "max-events"}
	for i := range flags {
		for _, s := range []string{"1", "0", "-1", "1e5", "1e9", "100001", "1000001", "2.5e3"} {
			f.Add(uint8(i), s)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		name := flags[int(which)%len(flags)]
		scenario := map[string]string{"requests": "layers", "layers": "layers", "trials": "occ"}[name]
		args := []string{"-scenario", cmpOrString(scenario, "open"), "-" + name, value}
		if name != "max-events" {
			args = append(args, "-max-events", "20000")
		}
		switch scenario {
		case "occ":
			args = append(args, "-clients", "3")
		case "":
			args = append(args, "-outage-start", "1s", "-outage", "1s", "-after", "5s")
		}
		code, _, errOut := runSimArgs(t, args...)
		if code == 0 {
			return
		}
		requireFlagWords(t, errOut)
		if code == exitUsage && name != "max-events" {
			assert.Contains(t, errOut, "-"+name, "%v", args)
		}
	})
}

func cmpOrString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
