package sim_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/sim"
)

// fleetScenario is the scenario shared budgets are measured on:
// sim.Metastable with 1,000 clients, 4 attempts, exponential
// 100ms, a 5s stall, 60s after it.
func fleetScenario() sim.Open {
	s := sim.Metastable()
	s.Clients = 1000
	s.After = 60 * time.Second
	return s
}

func fleetPolicy(t testing.TB, opts ...retry.Option) *retry.Policy {
	t.Helper()
	p, err := retry.NewPolicy(append([]retry.Option{retry.WithMaxAttempts(4),
		retry.WithBackoff(retry.Exponential(100*time.Millisecond, 2)), retry.WithMaxDelay(30 * time.Second)}, opts...)...)
	require.NoError(t, err)
	return p
}

// With the default lease, 1,000 clients in 20 processes sharing a budget
// keep the amplification during the stall within 10% of one budget every
// client shares at once, and far below a budget per client.
func TestSharedBudgetNearIdeal(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("three runs of 1,000 clients")
	}
	cfg := retry.BudgetConfig{Capacity: 10, PerSuccess: 0.1}
	ideal, err := retry.NewBudget(cfg)
	require.NoError(t, err)
	s := fleetScenario()
	run := func(f sim.Fleet) sim.Result {
		r, err := s.Run(f)
		require.NoError(t, err)
		return r
	}
	one := run(sim.Fleet{Policy: fleetPolicy(t, retry.WithBudget(ideal))})
	leased := run(sim.Fleet{Policy: fleetPolicy(t), Shared: &sim.Shared{Budget: cfg, Processes: 20}})
	each := run(sim.Fleet{Policy: fleetPolicy(t), Budget: &cfg})
	t.Logf("amplification during the stall: one budget %.3f, 20 processes leasing %.3f, one per client %.3f",
		one.Summary.AmplificationTrigger, leased.Summary.AmplificationTrigger, each.Summary.AmplificationTrigger)
	assert.LessOrEqual(t, leased.Summary.AmplificationTrigger, 1.1*one.Summary.AmplificationTrigger)
	assert.Less(t, leased.Summary.AmplificationTrigger, each.Summary.AmplificationTrigger)
}
