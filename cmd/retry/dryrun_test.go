package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
		{"max-elapsed stops the schedule", []string{"-dry-run", "-jitter", "none", "-attempts", "0", "-backoff", "fibonacci", "-delay", "150ms", "-max-elapsed", "1s", "true"}, `policy: -attempts 0 (unlimited) -backoff fibonacci -delay 150ms -max-delay 30s -jitter none -max-elapsed 1s -attempt-timeout 0 (no limit)
retry   wait  total wait
    1  150ms       150ms
    2  150ms       300ms
    3  300ms       600ms
    4  450ms       1.05s  (not taken: it would end at or past -max-elapsed 1s, so the loop stops)
`},
		{"max-delay caps", []string{"-dry-run", "-jitter", "none", "-attempts", "4", "-backoff", "linear", "-delay", "1s", "-step", "2s", "-max-delay", "4s"}, `policy: -attempts 4 -backoff linear -delay 1s -step 2s -max-delay 4s -jitter none -max-elapsed 0 (no limit) -attempt-timeout 0 (no limit)
retry  wait  total wait
    1    1s          1s
    2    3s          4s
    3    4s          8s
`},
		{"constant means constant: no jitter unless -jitter says so", []string{"-dry-run", "-backoff", "constant", "-delay", "2s", "-attempts", "0"}, `policy: -attempts 0 (unlimited) -backoff constant -delay 2s -max-delay 30s -jitter none -max-elapsed 0 (no limit) -attempt-timeout 0 (no limit)
retry  wait  total wait
    1    2s          2s
    2    2s          4s
    3    2s          6s
    4    2s          8s
    5    2s         10s
    6    2s         12s
    7    2s         14s
    8    2s         16s
    9    2s         18s
   10    2s         20s
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

// TestConstantBackoffJitter: -backoff constant waits exactly -delay unless
// -jitter is given; every other backoff keeps the library's full jitter.
func TestConstantBackoffJitter(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-backoff", "constant", "true"}, "none"},
		{[]string{"-backoff", "constant", "-jitter", "full", "true"}, "full"},
		{[]string{"-jitter", "equal", "-backoff", "constant", "true"}, "equal"},
		{[]string{"true"}, "full"},
		{[]string{"-backoff", "linear", "true"}, "full"},
		{[]string{"http", "-backoff", "constant", "http://x/"}, "none"},
	}
	for _, tt := range tests {
		c, err := parseArgs(tt.args)
		require.NoError(t, err, "%q", tt.args)
		assert.Equal(t, tt.want, c.jitter.String(), "%q", tt.args)
	}
	status, stdout, _ := runInProcess(t, "-dry-run", "-backoff", "constant", "-delay", "2s", "-jitter", "full")
	require.Equal(t, 0, status)
	assert.Contains(t, stdout, "\nwaits drawn with full jitter; every run draws its own\n")
}

func TestDryRunJittered(t *testing.T) {
	status, stdout, _ := runInProcess(t, "-dry-run", "-attempts", "3", "-delay", "1s", "-jitter", "equal")
	assert.Equal(t, 0, status)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	assert.Len(t, lines, 5)
	assert.Equal(t, "waits drawn with equal jitter; every run draws its own", lines[1])
}

// TestDryRunOneStyle: every wait and total, jittered or not, is written as
// formatDuration writes it (Go's syntax, three significant digits), the
// style of -v: not 6.918ms beside 0.048s and 1600ms.
func TestDryRunOneStyle(t *testing.T) {
	for _, jitter := range []string{"none", "full", "equal", "decorrelated", "proportional:0.5"} {
		status, stdout, stderr := runInProcess(t, "-dry-run", "-attempts", "12", "-jitter", jitter)
		require.Equal(t, 0, status, stderr)
		lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
		header := 2
		if jitter != "none" {
			header = 3
		}
		require.Len(t, lines, header+11, stdout)
		for _, row := range lines[header:] {
			assert.Equal(t, utf8.RuneCountInString(lines[header-1]), utf8.RuneCountInString(row), "right-aligned under the header (µ is one column): %q", stdout)
			for _, v := range strings.Fields(row)[1:] {
				d, err := time.ParseDuration(v)
				require.NoError(t, err, "%q in %q", v, row)
				assert.Equal(t, formatDuration(d), v, "%q", row)
			}
		}
	}
}

// TestDryRunSmallDelays: the schedule from 1ms, or 1ns, shows every wait,
// never 0s for a wait that is not zero.
func TestDryRunSmallDelays(t *testing.T) {
	status, stdout, stderr := runInProcess(t, "-dry-run", "-delay", "1ms", "-jitter", "none", "-attempts", "16", "-max-delay", "0")
	require.Equal(t, 0, status, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 2+15, stdout)
	assert.Equal(t, []string{"1", "1ms", "1ms"}, strings.Fields(lines[2]))
	assert.Equal(t, []string{"5", "16ms", "31ms"}, strings.Fields(lines[6]))
	assert.Equal(t, []string{"15", "16.4s", "32.8s"}, strings.Fields(lines[16]))

	status, stdout, stderr = runInProcess(t, "-dry-run", "-delay", "1ns", "-jitter", "none", "-attempts", "3", "-max-delay", "0")
	require.Equal(t, 0, status, stderr)
	lines = strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 4, stdout)
	assert.Equal(t, []string{"1", "1ns", "1ns"}, strings.Fields(lines[2]))
	assert.Equal(t, []string{"2", "2ns", "3ns"}, strings.Fields(lines[3]))
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
	assert.Equal(t, []string{"3", most, most}, strings.Fields(lines[4]))

	status, stdout, stderr = runInProcess(t, "-dry-run", "-jitter", "none", "-max-delay", "0", "-delay", "1ns", "-multiplier", "1e300", "-attempts", "5", "-max-elapsed", "2562047h")
	require.Equal(t, 0, status, stderr)
	lines = strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 4, stdout)
	assert.Contains(t, lines[3], "(not taken: it would end at or past -max-elapsed 2562047h0m0s, so the loop stops)")
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
	assert.Equal(t, []string{"27", "30s", "9m51.1s"}, strings.Fields(lines[len(lines)-2]))
	assert.Equal(t, []string{"28", "30s", "10m21.1s", "(not", "taken:", "it", "would", "end", "at", "or", "past", "-max-elapsed", "10m0s,", "so", "the", "loop", "stops)"}, strings.Fields(lines[len(lines)-1]))

	status, stdout, stderr = runInProcess(t, "-dry-run", "-attempts", "0", "-backoff", "constant", "-delay", "1s", "-max-elapsed", "1h")
	require.Equal(t, 0, status, stderr)
	lines = strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 2+dryRunMaxRows+1, stdout)
	assert.Equal(t, []string{strconv.Itoa(dryRunMaxRows), "1s", "1m40s"}, strings.Fields(lines[len(lines)-2]))
	assert.Equal(t, "... and so on until the total wait would end at or past -max-elapsed 1h0m0s", lines[len(lines)-1])
}

// TestDryRunManyAttempts: a huge -attempts shows a bounded schedule rather
// than allocating one wait per attempt (which panicked or ran out of
// memory).
func TestDryRunManyAttempts(t *testing.T) {
	status, stdout, stderr := runInProcess(t, "-dry-run", "-jitter", "none", "-attempts", strconv.Itoa(math.MaxInt))
	require.Equal(t, 0, status, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 2+dryRunMaxRows+1, "policy, header, the rows, and a line for the rest")
	assert.Equal(t, []string{strconv.Itoa(dryRunMaxRows), "30s"}, strings.Fields(lines[len(lines)-2])[:2])
	assert.Equal(t, fmt.Sprintf("... and up to %d more retries (-attempts %d)", math.MaxInt-1-dryRunMaxRows, math.MaxInt), lines[len(lines)-1])
}
