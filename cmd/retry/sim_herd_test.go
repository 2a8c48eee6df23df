package main

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tableValue returns the value of a row of retry sim's table.
func tableValue(t *testing.T, out, row string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^ *` + regexp.QuoteMeta(row) + ` {2,}(.+?)$`).FindStringSubmatch(out)
	require.NotNil(t, m, "row %q in\n%s", row, out)
	return m[1]
}

// TestSimHerdDefaultsShowAHerd: retry sim -scenario herd with its defaults
// shows a herd meeting the recovered server and clearing: every client
// served, a recovery within the 5 s cap plus a second; without jitter the
// herd stays in lockstep (1000 in 100 ms) and takes ten times longer.
func TestSimHerdDefaultsShowAHerd(t *testing.T) {
	code, out, errOut := runSimArgs(t, "-scenario", "herd")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "1000", tableValue(t, out, "caller requests"))
	assert.Equal(t, "100.00%", tableValue(t, out, "client success rate"))
	assert.Equal(t, "n/a", regexp.MustCompile(`\((.*)\)`).FindStringSubmatch(tableValue(t, out, "goodput /s (baseline)"))[1], "no time before the outage")
	jittered, err := strconv.ParseFloat(tableValue(t, out, "time to recover")[:len(tableValue(t, out, "time to recover"))-1], 64)
	require.NoError(t, err)
	assert.LessOrEqual(t, jittered, 6.0)
	peak, err := strconv.Atoi(tableValue(t, out, "herd peak (per 100ms)"))
	require.NoError(t, err)
	assert.Positive(t, peak)

	code, out, errOut = runSimArgs(t, "-scenario", "herd", "-jitter", "none")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "1000", tableValue(t, out, "herd peak (per 100ms)"))
	lockstep, err := strconv.ParseFloat(tableValue(t, out, "time to recover")[:len(tableValue(t, out, "time to recover"))-1], 64)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, lockstep, 10*jittered)
}

// TestSimHerdThatGivesUp: with the library's 4 attempts every client gives
// up during the outage; the table says n/a where there is nothing to
// measure, not "did not recover" nor a latency of 0 ms.
func TestSimHerdThatGivesUp(t *testing.T) {
	code, out, errOut := runSimArgs(t, "-scenario", "herd", "-attempts", "4", "-max-delay", "30s")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "0.00%", tableValue(t, out, "client success rate"))
	assert.Equal(t, "n/a", tableValue(t, out, "latency of successes p50/p90/p99 ms"))
	assert.Equal(t, "n/a: every request ended during the trigger", tableValue(t, out, "time to recover"))
	assert.NotContains(t, out, "did not recover")
}
