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
		for _, want := range []string{"usage: retry", "-attempts number", "(default 4)", "(default exponential)", "(default 100ms)", "(default 2)", "(default 30s)", "(default full)", "Exit status:"} {
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
	assert.Contains(t, stdout, "To run a program named sim, write retry -- sim.")
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
		value := regexp.MustCompile(`^[0-9]+\.[0-9]ms$`)
		for _, row := range lines[3:] {
			assert.Len(t, row, len(lines[2]), "right-aligned under the header: %q", stdout)
			for _, v := range strings.Fields(row)[1:] {
				assert.Regexp(t, value, v, "%s", stdout)
			}
		}
	}
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
