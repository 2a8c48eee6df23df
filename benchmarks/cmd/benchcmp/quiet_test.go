package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQuiet(t *testing.T) {
	cases := []struct {
		meta map[string]string
		want bool
	}{
		{map[string]string{"others-cpu": "0.10", "burners": "0"}, true},
		{map[string]string{"others-cpu": "0.25"}, true},
		{map[string]string{"others-cpu": "0.26", "burners": "0"}, false},
		{map[string]string{"others-cpu": "0.00", "burners": "1"}, false},
		{map[string]string{"burners": "0"}, false}, // load not recorded
		{map[string]string{"others-cpu": "x"}, false},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, (&Run{Meta: tc.meta}).Quiet(), "%v", tc.meta)
	}
}

// TestNoQuietRunNoClaim: when no run was quiet, a group that runs on every
// CPU at once shows its ratios but claims no verdict and no target, and
// the header says the idle run was not quiet; a serial group still
// claims.
func TestNoQuietRunNoClaim(t *testing.T) {
	raw := strings.ReplaceAll(budgetRaw(t), "others-cpu: 0.10", "others-cpu: 1.54")
	raw += "run: idle\nround: 1\ngroup: Permanent\nmember: retrykit\nBenchmarkP 1 100 ns/op 1 allocs/op\n" +
		"member: direct\nBenchmarkP 1 10 ns/op 0 allocs/op\n"
	runs, err := ReadRaw(strings.NewReader(raw))
	require.NoError(t, err)
	groups, err := Select(Comparisons, "^(Budget|Permanent)$")
	require.NoError(t, err)
	md := Report{Groups: groups, Runs: runs}.Markdown()
	assert.Contains(t, md, "The idle run was not quiet: other processes used 1.54 CPUs on average (a quiet run allows 0.25).")
	assert.NotContains(t, md, "The busy run was not quiet", "a busy run is busy by design")
	assert.Contains(t, md, "**No quiet run**")
	assert.Contains(t, md, "| direct | 50.0 ns | 50.0 ns | 0 | 2.00 (2.00–2.00), p=0.000 | 2.00 (2.00–2.00), p=0.000 | not claimed: no quiet run |")
	assert.Contains(t, md, "| Budget: retrykit ≤ 1.00× x-time-rate | 1.05× | not claimed: no quiet run |")
	assert.Contains(t, md, "| direct | 10.0 ns | — | 0 | 10.0 (10.0–10.0), p=1.000 | — | no difference, 10.0× (slower in 1 of 1 rounds) |")
}
