package sim

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// TestTimeoutsCostTimeoutCost: the simulator reports its attempt timeouts
// as timeouts (retry.TimedOut), so the AWS SDK's quota charges each retry
// of one 10 tokens, not the 5 of a retry of a 503. In a stall every
// attempt times out; the fleet's tokens fall by 10 per retry.
func TestTimeoutsCostTimeoutCost(t *testing.T) {
	s := Open{Clients: 1, Rate: 2, Workers: 1, Service: 10 * time.Millisecond, Queue: 1000,
		Hop: 5 * time.Millisecond, Timeout: 200 * time.Millisecond, Seed: 1,
		Trigger: Trigger{Mode: Stall, Start: 2 * time.Second, Length: 10 * time.Second}, After: 5 * time.Second}
	for _, tc := range []struct {
		name string
		b    retry.BudgetConfig
		cost float64
	}{
		{"aws", *awsBudget, 10},
		{"timeout cost 1", retry.BudgetConfig{Capacity: 500, RetryCost: 5, TimeoutCost: 1}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := s.Run(Fleet{Policy: policy3(t, retry.FullJitter), Budget: &tc.b})
			require.NoError(t, err)
			before, end := r.Series[1], r.Series[11] // the buckets ending at the trigger's start and end
			require.Equal(t, 500.0, before.Tokens, "full before the stall")
			var retries float64
			for _, x := range r.Series[2:12] {
				assert.Zero(t, x.Goodput, "nothing succeeds during the stall")
				retries += x.Offered - x.FirstTry
			}
			require.Greater(t, retries, 20.0)
			require.Less(t, tc.cost*retries, 500.0, "the quota lasts the whole stall")
			// A retry granted in the trigger's last 5 ms reaches the server after it.
			assert.InDelta(t, tc.cost*retries, 500-end.Tokens, tc.cost)
		})
	}
}

// TestTokensOfATimeRefilledBudget: a budget that refills with time
// (PerSecond) is observed at virtual instants like any other. After a 5 s
// outage of 503s has drained it, the fleet of 100 clients gains exactly
// 100 tokens a second until the buckets are full again.
func TestTokensOfATimeRefilledBudget(t *testing.T) {
	s := Metastable()
	s.Trigger = Trigger{Mode: Reject, Start: 10 * time.Second, Length: 5 * time.Second}
	s.After = 20 * time.Second
	r, err := s.Run(Fleet{Policy: policy3(t, retry.FullJitter),
		Budget: &retry.BudgetConfig{Capacity: 10, PerSecond: 1}})
	require.NoError(t, err)
	require.Equal(t, float64(10*s.Clients), r.Series[9].Tokens, "full before the outage")
	assert.Less(t, r.Series[14].Tokens, float64(s.Clients), "drained by the outage")
	for k := 16; k < 22; k++ {
		assert.InDelta(t, float64(s.Clients), r.Series[k].Tokens-r.Series[k-1].Tokens, 1e-3, "second %d", k)
	}
	assert.Equal(t, float64(10*s.Clients), r.Series[len(r.Series)-1].Tokens, "full again")
}

// TestSVGDrawsBreakersOpen: the time series chart overlays the fraction of
// the clients' breakers that were open.
func TestSVGDrawsBreakersOpen(t *testing.T) {
	r := Result{Label: "x", Summary: Summary{Clients: 4, Horizon: 3, TriggerEnd: 2, TriggerLength: 1},
		Series: []Sample{{T: 0, Tokens: -1}, {T: 1, Tokens: -1, BreakersOpen: 2}, {T: 2, Tokens: -1, BreakersOpen: 4}}}
	var b strings.Builder
	require.NoError(t, WriteSVG(&b, r))
	svg := b.String()
	requireXML(t, svg)
	require.Contains(t, svg, `stroke="`+colBreaker+`"`)
	// 0, half and all of the panel's height: y = padT+ph, padT+ph/2, padT.
	ph := float64(panelH - padT - padB)
	assert.Contains(t, svg, fmt.Sprintf(",%.1f ", padT+ph/2))
	assert.Contains(t, svg, fmt.Sprintf(",%.1f\"", float64(padT)))
}

// TestSweepColoursScaleToTheSlowest: the sweep's colours run from green at
// once to olive at the slowest recovery drawn, not at the horizon.
func TestSweepColoursScaleToTheSlowest(t *testing.T) {
	r := SweepResult{Label: "x", After: 120, Magnitudes: []float64{1}, Lengths: []float64{1, 2, 3},
		Cells: []SweepCell{{Recovered: true, RecoverySeconds: 0}, {Recovered: true, RecoverySeconds: 4}, {Recovered: true, RecoverySeconds: 8}}}
	var b strings.Builder
	require.NoError(t, WriteSweepSVG(&b, r))
	svg := b.String()
	requireXML(t, svg)
	assert.Contains(t, svg, `fill="`+recoveryColour(0, 1)+`"`)
	assert.Contains(t, svg, `fill="`+recoveryColour(1, 1)+`"`, "the slowest cell is olive")
	assert.Contains(t, svg, `fill="`+recoveryColour(0.5, 1)+`"`, "half as slow, half way")
}

// requireXML fails unless s is well-formed XML.
func requireXML(t *testing.T, s string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		require.NoError(t, err)
	}
}
