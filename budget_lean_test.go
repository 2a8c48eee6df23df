package retry_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// TestBudgetFirstAttemptSuccess: a policy whose only extra is a budget
// takes Do's fast path, and a call that succeeds at its first attempt
// still deposits, as one that succeeds after a retry does, allocating
// nothing.
func TestBudgetFirstAttemptSuccess(t *testing.T) {
	b, err := retry.NewBudget(retry.BudgetConfig{Capacity: 10, PerSuccess: 0.5, RetryCost: 1})
	require.NoError(t, err)
	p, err := retry.NewPolicy(retry.WithBudget(b), retry.WithBackoff(retry.Constant(0)))
	require.NoError(t, err)
	ctx := context.Background()
	ok := func(context.Context) (int, error) { return 1, nil }
	failOnce := func() func(context.Context) (int, error) {
		n := 0
		return func(context.Context) (int, error) {
			n++
			if n == 1 {
				return 0, errors.New("transient")
			}
			return n, nil
		}
	}

	tests := []struct {
		name string
		op   func(context.Context) (int, error)
		want float64 // tokens after the call
	}{
		{"retried: -1 +0.5", failOnce(), 9.5},
		{"retried again", failOnce(), 9},
		{"first attempt: +0.5", ok, 9.5},
		{"first attempt again", ok, 10},
		{"first attempt at capacity", ok, 10},
	}
	for _, tt := range tests {
		_, err := retry.Do(ctx, tt.op, p)
		require.NoError(t, err, tt.name)
		assert.InDelta(t, tt.want, b.Tokens(), 1e-9, tt.name)
	}
	assert.Equal(t, uint64(2), b.Stats().Allowed)
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = retry.Do(ctx, ok, p) }))
}
