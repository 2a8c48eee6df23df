package retry

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewBudgetInvalid(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name string
		cfg  BudgetConfig
		msg  string
	}{
		{"zero capacity", BudgetConfig{}, "Capacity must be > 0"},
		{"zero capacity, positive cost", BudgetConfig{RetryCost: 2, TimeoutCost: 3}, "Capacity must be > 0"},
		{"tiny capacity", BudgetConfig{Capacity: 1e-7}, "Capacity (1e-07) is below the resolution"},
		{"negative capacity", BudgetConfig{Capacity: -1}, "Capacity must not be negative"},
		{"NaN capacity", BudgetConfig{Capacity: nan}, "Capacity must be finite"},
		{"infinite capacity", BudgetConfig{Capacity: inf}, "Capacity must be finite"},
		{"huge capacity", BudgetConfig{Capacity: 1e13}, "Capacity must be at most"},
		{"negative per success", BudgetConfig{Capacity: 10, PerSuccess: -0.1}, "PerSuccess must not be negative"},
		{"NaN per success", BudgetConfig{Capacity: 10, PerSuccess: nan}, "PerSuccess must be finite"},
		{"negative per second", BudgetConfig{Capacity: 10, PerSecond: -1}, "PerSecond must not be negative"},
		{"infinite per second", BudgetConfig{Capacity: 10, PerSecond: math.Inf(-1)}, "PerSecond must be finite"},
		{"negative retry cost", BudgetConfig{Capacity: 10, RetryCost: -1}, "RetryCost must not be negative"},
		{"NaN timeout cost", BudgetConfig{Capacity: 10, TimeoutCost: nan}, "TimeoutCost must be finite"},
		{"negative threshold", BudgetConfig{Capacity: 10, Threshold: -1}, "Threshold must not be negative"},
		{"threshold at capacity", BudgetConfig{Capacity: 10, Threshold: 10}, "Threshold (10) must be below Capacity (10)"},
		{"cost above capacity", BudgetConfig{Capacity: 0.5}, "no retry could ever be granted"},
		{"cost above headroom", BudgetConfig{Capacity: 10, Threshold: 5, RetryCost: 6}, "no retry could ever be granted"},
		{"timeout cost above headroom", BudgetConfig{Capacity: 10, TimeoutCost: 11}, "no retry could ever be granted"},
		{"below resolution", BudgetConfig{Capacity: 10, PerSuccess: 1e-9}, "below the resolution"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewBudget(tt.cfg)
			assert.Nil(t, b)
			require.ErrorIs(t, err, ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

func TestBudgetStartsFullWithDefaults(t *testing.T) {
	b := mustBudget(t, BudgetConfig{Capacity: 10, PerSuccess: 1}) // 10 tokens, one back per success
	assert.Equal(t, 10.0, b.Tokens())
	assert.Equal(t, int64(1e6), b.retryCost, "RetryCost defaults to 1")
	assert.Equal(t, b.retryCost, b.timeoutCost, "TimeoutCost defaults to RetryCost")
	assert.Nil(t, b.tl.origin.Load(), "no time refill: the clock is never read")

	c := mustBudget(t, BudgetConfig{Capacity: 10, RetryCost: 2})
	assert.Equal(t, int64(2e6), c.timeoutCost, "TimeoutCost defaults to RetryCost")
}
