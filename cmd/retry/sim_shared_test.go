package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// -budget shared: and fleet: run one budget for all clients, at once or
// leased by processes; the leased one retries at least as much as the
// ideal and less than a budget per client.
func TestSimSharedBudgets(t *testing.T) {
	code, out, errOut := runSimArgs(t, append(short, "-format", "json", "-clients", "100",
		"-budget", "ratio,shared:ratio,fleet:ratio+processes=10,fleet:capacity=10+per-success=0.1+processes=10+lease=1+sync=50ms")...)
	require.Equal(t, 0, code, errOut)
	var rs []struct {
		Summary struct {
			Attempts int64 `json:"attempts"`
		} `json:"summary"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rs))
	require.Len(t, rs, 4)
	each, ideal, fleet := rs[0].Summary.Attempts, rs[1].Summary.Attempts, rs[2].Summary.Attempts
	assert.LessOrEqual(t, ideal, fleet)
	assert.Less(t, fleet, each)
}

func TestSimSharedBudgetsBadInput(t *testing.T) {
	for _, entry := range []string{
		"fleet:ratio+processes=0", "fleet:ratio+processes=x", "fleet:ratio+lease=-1", "fleet:ratio+lease=NaN",
		"fleet:ratio+sync=0s", "fleet:ratio+sync=soon", "shared:none", "fleet:none", "shared:ratio+processes=2",
		"fleet:bogus",
	} {
		code, _, errOut := runSimArgs(t, append(short, "-clients", "100", "-budget", entry)...)
		assert.Equal(t, 2, code, "%s: %s", entry, errOut)
		assert.Contains(t, errOut, "-budget", entry)
	}
	// Checked by the simulator when the run is built: the message names
	// the field.
	for entry, field := range map[string]string{"fleet:ratio+processes=100000": "Processes", "fleet:capacity=10+lease=0.5": "Lease"} {
		code, _, errOut := runSimArgs(t, append(short, "-clients", "100", "-budget", entry)...)
		assert.NotZero(t, code, entry)
		assert.Contains(t, errOut, field, entry)
	}
}
