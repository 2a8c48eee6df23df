package main

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// runInProcess calls run with args and returns its status and output.
func runInProcess(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	status := run(t.Context(), args, nil, &stdout, &stderr)
	return status, stdout.String(), stderr.String()
}

func TestDryRun(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"defaults without jitter", []string{"-dry-run", "-jitter", "none"}, `policy: -attempts 4 -backoff exponential -delay 100ms -multiplier 2 -max-delay 30s -jitter none -max-elapsed 0 (no limit) -attempt-timeout 0 (no limit)
retry   wait  total wait
    1  100ms       100ms
    2  200ms       300ms
    3  400ms       700ms
`},
		{"max-elapsed stops the schedule", []string{"-dry-run", "-jitter", "none", "-attempts", "0", "-backoff", "fibonacci", "-delay", "150ms", "-max-elapsed", "1s", "true"}, `policy: -attempts 0 (no limit) -backoff fibonacci -delay 150ms -max-delay 30s -jitter none -max-elapsed 1s -attempt-timeout 0 (no limit)
retry   wait  total wait
    1  150ms       150ms
    2  150ms       300ms
    3  300ms       600ms
    4  450ms      1050ms  (not taken: it would end past -max-elapsed 1s, so the loop stops)
`},
		{"max-delay caps", []string{"-dry-run", "-jitter", "none", "-attempts", "4", "-backoff", "linear", "-delay", "1s", "-step", "2s", "-max-delay", "4s"}, `policy: -attempts 4 -backoff linear -delay 1s -step 2s -max-delay 4s -jitter none -max-elapsed 0 (no limit) -attempt-timeout 0 (no limit)
retry  wait  total wait
    1    1s          1s
    2    3s          4s
    3    4s          8s
`},
		{"no attempt limit", []string{"-dry-run", "-jitter", "none", "-attempts", "0", "-backoff", "constant", "-delay", "1s"}, `policy: -attempts 0 (no limit) -backoff constant -delay 1s -max-delay 30s -jitter none -max-elapsed 0 (no limit) -attempt-timeout 0 (no limit)
retry  wait  total wait
    1    1s          1s
    2    1s          2s
    3    1s          3s
    4    1s          4s
    5    1s          5s
    6    1s          6s
    7    1s          7s
    8    1s          8s
    9    1s          9s
   10    1s         10s
... and so on: -attempts 0 sets no limit
`},
		{"one attempt", []string{"-dry-run", "-attempts", "1", "-jitter", "equal"}, `policy: -attempts 1 -backoff exponential -delay 100ms -multiplier 2 -max-delay 30s -jitter equal -max-elapsed 0 (no limit) -attempt-timeout 0 (no limit)
a single attempt: no retries, no waits
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, stdout, stderr := runInProcess(t, tt.args...)
			assert.Equal(t, 0, status)
			assert.Equal(t, tt.want, stdout)
			assert.Empty(t, stderr)
		})
	}
}

func TestDryRunJittered(t *testing.T) {
	status, stdout, _ := runInProcess(t, "-dry-run", "-attempts", "3", "-delay", "1s", "-jitter", "equal")
	assert.Equal(t, 0, status)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	assert.Len(t, lines, 5)
	assert.Equal(t, "waits drawn with equal jitter; every run draws its own", lines[1])
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"http", "-help"}} {
		status, stdout, stderr := runInProcess(t, args...)
		assert.Equal(t, 0, status)
		assert.Empty(t, stderr)
		for _, want := range []string{"usage: retry", "-attempts number", "(default 4)", "(default exponential)", "(default 100ms)", "(default 2)", "(default 30s)", "(default full)", "\n\nExit status:\n"} {
			assert.Contains(t, stdout, want, "%q", args)
		}
	}
	_, stdout, _ := runInProcess(t, "http", "-h")
	assert.Contains(t, stdout, "-status statuses")
	assert.Contains(t, stdout, "-H header")
}

// TestHelpMentionsSim: retry -h names the sim subcommand and where its
// help is, and that help is what it says.
func TestHelpMentionsSim(t *testing.T) {
	_, stdout, _ := runInProcess(t, "-h")
	assert.Contains(t, stdout, "retry sim [flags]        (see 'retry sim -h')")
	assert.Contains(t, stdout, "To run a program named sim, write retry [flags] -- sim.")
	status, stdout, stderr := runInProcess(t, "sim", "-h")
	assert.Equal(t, 0, status)
	assert.Empty(t, stderr)
	assert.True(t, strings.HasPrefix(stdout, simSynopsis+"\n"), stdout)
	c, err := parseArgs([]string{"--", "sim", "-h"})
	require.NoError(t, err)
	assert.Equal(t, []string{"sim", "-h"}, c.command, "after --, sim is a program")
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-backoff", "nope", "true"}, `retry: invalid value "nope" for flag -backoff: want one of constant, linear, exponential, fibonacci
usage: retry [flags] [--] COMMAND [ARGS...]
Run 'retry -h' for the flags and their defaults.
`},
		{[]string{}, `retry: no command given
usage: retry [flags] [--] COMMAND [ARGS...]
Run 'retry -h' for the flags and their defaults.
`},
		{[]string{"http", "-status", "1000", "http://x/"}, `retry: invalid value "1000" for flag -status: want comma-separated HTTP statuses from 100 to 599, such as 502,503: 1000 is out of range
usage: retry http [flags] URL
Run 'retry http -h' for the flags and their defaults.
`},
	}
	for _, tt := range tests {
		status, stdout, stderr := runInProcess(t, tt.args...)
		assert.Equal(t, exitUsage, status)
		assert.Empty(t, stdout)
		assert.Equal(t, tt.want, stderr)
	}
}

// TestDryRunEvenColumns: jittered waits are written in one unit with one
// precision, right-aligned, so that a column reads evenly (not 6.918ms
// next to 20ms).
func TestDryRunEvenColumns(t *testing.T) {
	for _, jitter := range []string{"full", "equal", "decorrelated", "proportional:0.5"} {
		status, stdout, stderr := runInProcess(t, "-dry-run", "-attempts", "6", "-jitter", jitter)
		require.Equal(t, 0, status, stderr)
		lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
		require.Len(t, lines, 8, stdout)
		assert.Equal(t, "retry", strings.Fields(lines[2])[0])
		var values []string
		for _, row := range lines[3:] {
			assert.Len(t, row, len(lines[2]), "right-aligned under the header: %q", stdout)
			values = append(values, strings.Fields(row)[1:]...)
		}
		assertEvenColumn(t, values)
	}
}

// assertEvenColumn checks that values are written in one unit with the
// same number of decimals, at least one (the waits of the tests are not
// whole numbers of a unit), and returns that number.
func assertEvenColumn(t *testing.T, values []string) int {
	t.Helper()
	m := regexp.MustCompile(`^[0-9]+\.([0-9]+)(ns|µs|ms|s)$`).FindStringSubmatch(values[0])
	require.NotNil(t, m, "%q", values)
	for _, v := range values {
		assert.Regexp(t, `^[0-9]+\.[0-9]{`+strconv.Itoa(len(m[1]))+`}`+m[2]+`$`, v, "%q", values)
	}
	return len(m[1])
}

// TestColumnFormatPrecision: whatever the range of a column, every
// non-zero value is shown exactly or with at least two significant digits
// (never 0.0s for 1ms), in one unit with one number of decimals.
func TestColumnFormatPrecision(t *testing.T) {
	units := map[string]time.Duration{"ns": time.Nanosecond, "µs": time.Microsecond, "ms": time.Millisecond, "s": time.Second}
	value := regexp.MustCompile(`^([0-9]+(?:\.([0-9]+))?)(ns|µs|ms|s)$`)
	check := func(t require.TestingT, values []time.Duration) {
		format := columnFormat(values)
		var unit string
		decimals := -1
		for _, v := range values {
			s := format(v)
			m := value.FindStringSubmatch(s)
			require.NotNil(t, m, "%v: %q", v, s)
			if decimals < 0 {
				unit, decimals = m[3], len(m[2])
			}
			assert.Equal(t, unit, m[3], "one unit: %v is %q", v, s)
			assert.Equal(t, decimals, len(m[2]), "one number of decimals: %v is %q", v, s)
			x, err := strconv.ParseFloat(m[1], 64)
			require.NoError(t, err)
			shown := x * float64(units[m[3]])
			if v == 0 {
				assert.Zero(t, shown, "%q", s)
				continue
			}
			digits := strings.TrimLeft(strings.ReplaceAll(m[1], ".", ""), "0")
			exact := math.Abs(shown-float64(v)) < 0.5
			assert.True(t, exact || len(digits) >= 2, "%v shown as %q", v, s)
			assert.InEpsilon(t, float64(v), shown, 0.05, "%v shown as %q", v, s)
		}
	}
	ladder := func(from, to time.Duration, factor float64) []time.Duration {
		var out []time.Duration
		for d := from; d <= to; d = max(d+1, time.Duration(float64(d)*factor)) {
			out = append(out, d)
		}
		return out
	}
	sets := map[string][]time.Duration{
		"1ms to 30s, doubling":     ladder(time.Millisecond, 30*time.Second, 2),
		"1ms to 30s, by 1.3":       ladder(time.Millisecond, 30*time.Second, 1.3),
		"1ns up, doubling":         ladder(time.Nanosecond, 30*time.Second, 2),
		"1ns to 1µs":               ladder(time.Nanosecond, time.Microsecond, 1.7),
		"0.1s steps":               ladder(100*time.Millisecond, 3*time.Second, 1.5),
		"1ns and 3s":               {time.Nanosecond, 3 * time.Second},
		"12µs and 30s":             {12 * time.Microsecond, 30 * time.Second},
		"a zero among them":        {0, 7 * time.Millisecond, 1234567 * time.Nanosecond},
		"the largest duration too": {time.Nanosecond, math.MaxInt64},
	}
	for name, values := range sets {
		t.Run(name, func(t *testing.T) { check(t, values) })
	}
	t.Run("random", func(t *testing.T) {
		rapid.Check(t, func(rt *rapid.T) {
			values := rapid.SliceOfN(rapid.Int64Range(0, int64(time.Hour)), 1, 20).Draw(rt, "values")
			ds := make([]time.Duration, len(values))
			for i, v := range values {
				ds[i] = time.Duration(v)
			}
			check(rt, ds)
		})
	})
}

// TestDryRunSmallDelays: the schedule from 1ms, or 1ns, shows every wait,
// not 0.0s.
func TestDryRunSmallDelays(t *testing.T) {
	status, stdout, stderr := runInProcess(t, "-dry-run", "-delay", "1ms", "-jitter", "none", "-attempts", "16", "-max-delay", "0")
	require.Equal(t, 0, status, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 2+15, stdout)
	assert.Equal(t, []string{"1", "0.001s", "0.001s"}, strings.Fields(lines[2]))
	assert.Equal(t, []string{"5", "0.016s", "0.031s"}, strings.Fields(lines[6]))
	assert.Equal(t, []string{"15", "16.384s", "32.767s"}, strings.Fields(lines[16]))

	status, stdout, stderr = runInProcess(t, "-dry-run", "-delay", "1ns", "-jitter", "none", "-attempts", "3", "-max-delay", "0")
	require.Equal(t, 0, status, stderr)
	lines = strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 4, stdout)
	assert.Equal(t, []string{"1", "1ns", "1ns"}, strings.Fields(lines[2]))
	assert.Equal(t, []string{"2", "2ns", "3ns"}, strings.Fields(lines[3]))
}

func TestColumnFormat(t *testing.T) {
	ms, us, s := time.Millisecond, time.Microsecond, time.Second
	tests := []struct {
		values []time.Duration
		want   []string
	}{
		{[]time.Duration{6918 * us, 20 * ms, 26918 * us}, []string{"6.9ms", "20.0ms", "26.9ms"}},
		{[]time.Duration{100 * ms, 200 * ms, 1050 * ms}, []string{"100ms", "200ms", "1050ms"}},
		{[]time.Duration{s, 3 * s, 4 * s}, []string{"1s", "3s", "4s"}},
		{[]time.Duration{1500 * ms, 12 * s}, []string{"1.5s", "12.0s"}},
		{[]time.Duration{us, 1500 * time.Nanosecond}, []string{"1.0µs", "1.5µs"}},
		{[]time.Duration{ms, 2 * ms, 4 * ms}, []string{"1ms", "2ms", "4ms"}},
		{[]time.Duration{0, 0}, []string{"0s", "0s"}},
	}
	for _, tt := range tests {
		format := columnFormat(tt.values)
		var got []string
		for _, v := range tt.values {
			got = append(got, format(v))
		}
		assert.Equal(t, tt.want, got)
	}
}

// TestDryRunHugeWaits: the total wait saturates instead of wrapping to a
// negative duration, so -max-elapsed still stops the schedule.
func TestDryRunHugeWaits(t *testing.T) {
	const most = "2562047h47m16.854775807s" // the largest time.Duration
	status, stdout, stderr := runInProcess(t, "-dry-run", "-jitter", "none", "-max-delay", "0", "-delay", most, "-attempts", "4")
	require.Equal(t, 0, status, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 5, stdout)
	for _, row := range lines[2:] {
		assert.NotContains(t, row, "-", "no negative total")
	}
	assert.Equal(t, []string{"3", "9223372036.9s", "9223372036.9s"}, strings.Fields(lines[4]))

	status, stdout, stderr = runInProcess(t, "-dry-run", "-jitter", "none", "-max-delay", "0", "-delay", "1ns", "-multiplier", "1e300", "-attempts", "5", "-max-elapsed", "2562047h")
	require.Equal(t, 0, status, stderr)
	lines = strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 4, stdout)
	assert.Contains(t, lines[3], "(not taken: it would end past -max-elapsed 2562047h0m0s, so the loop stops)")
}

// TestDryRunMaxElapsedWithoutAttemptLimit: with -attempts 0, -max-elapsed
// bounds the schedule, which goes on until it (not for 10 rows), or says
// the rest goes on until it.
func TestDryRunMaxElapsedWithoutAttemptLimit(t *testing.T) {
	status, stdout, stderr := runInProcess(t, "-dry-run", "-jitter", "none", "-attempts", "0", "-max-elapsed", "10m")
	require.Equal(t, 0, status, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	// 100ms to 25.6s (51.1s in all), then 30s a time: the 28th wait would
	// end at 621.1s.
	require.Len(t, lines, 2+28, stdout)
	assert.Equal(t, []string{"27", "30.0s", "591.1s"}, strings.Fields(lines[len(lines)-2]))
	assert.Equal(t, []string{"28", "30.0s", "621.1s", "(not", "taken:", "it", "would", "end", "past", "-max-elapsed", "10m0s,", "so", "the", "loop", "stops)"}, strings.Fields(lines[len(lines)-1]))

	status, stdout, stderr = runInProcess(t, "-dry-run", "-jitter", "none", "-attempts", "0", "-backoff", "constant", "-delay", "1s", "-max-elapsed", "1h")
	require.Equal(t, 0, status, stderr)
	lines = strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 2+dryRunMaxRows+1, stdout)
	assert.Equal(t, []string{strconv.Itoa(dryRunMaxRows), "1s", "100s"}, strings.Fields(lines[len(lines)-2]))
	assert.Equal(t, "... and so on until the total wait would end past -max-elapsed 1h0m0s", lines[len(lines)-1])
}

// TestDryRunManyAttempts: a huge -attempts shows a bounded schedule rather
// than allocating one wait per attempt (which panicked or ran out of
// memory).
func TestDryRunManyAttempts(t *testing.T) {
	status, stdout, stderr := runInProcess(t, "-dry-run", "-jitter", "none", "-attempts", strconv.Itoa(math.MaxInt))
	require.Equal(t, 0, status, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 2+dryRunMaxRows+1, "policy, header, the rows, and a line for the rest")
	assert.Equal(t, []string{strconv.Itoa(dryRunMaxRows), "30.0s"}, strings.Fields(lines[len(lines)-2])[:2])
	assert.Equal(t, fmt.Sprintf("... and up to %d more retries (-attempts %d)", math.MaxInt-1-dryRunMaxRows, math.MaxInt), lines[len(lines)-1])
}
