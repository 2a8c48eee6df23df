package sim

import (
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
