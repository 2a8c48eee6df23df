package retry_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// A Policy that did not come from NewPolicy has no configuration at all (it
// would mean unlimited attempts and no cap): it is rejected, alone or
// among options, and the operation is never called.
func TestZeroPolicyIsInvalid(t *testing.T) {
	calls := 0
	op := func(context.Context) (int, error) { calls++; return 1, nil }
	for _, opts := range [][]retry.Option{
		{&retry.Policy{}},
		{retry.WithMaxAttempts(2), new(retry.Policy)},
		{(*retry.Policy)(nil)},
	} {
		_, err := retry.Do(context.Background(), op, opts...)
		require.ErrorIs(t, err, retry.ErrInvalidConfig)
		_, err = retry.NewPolicy(opts...)
		require.ErrorIs(t, err, retry.ErrInvalidConfig)
	}
	_, err := new(retry.Policy).With()
	require.ErrorIs(t, err, retry.ErrInvalidConfig)
	require.Zero(t, calls)
}

// TestMaxAttempts: MaxAttempts reports the limit the options left, the
// default without one, 0 for no limit and for a nil or zero Policy; Do
// makes exactly that many calls of an operation that always fails.
func TestMaxAttempts(t *testing.T) {
	tests := []struct {
		name string
		opts []retry.Option
		want int
	}{
		{"default", nil, retry.DefaultMaxAttempts},
		{"set", []retry.Option{retry.WithMaxAttempts(7)}, 7},
		{"last option wins", []retry.Option{retry.WithMaxAttempts(7), retry.WithMaxAttempts(2)}, 2},
		{"unlimited", []retry.Option{retry.WithMaxAttempts(0)}, 0},
		{"derived", []retry.Option{newPolicy(t, retry.WithMaxAttempts(9)), retry.WithMaxElapsed(time.Second)}, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPolicy(t, append(tt.opts, retry.WithBackoff(retry.Constant(0)))...)
			require.Equal(t, tt.want, p.MaxAttempts())
			if tt.want == 0 {
				return
			}
			op, calls := failing(errA)
			_, err := retry.Do(context.Background(), op, p)
			require.ErrorIs(t, err, retry.ErrExhausted)
			require.Equal(t, tt.want, *calls)
		})
	}
	var nilPolicy *retry.Policy
	require.Zero(t, nilPolicy.MaxAttempts())
	require.Zero(t, new(retry.Policy).MaxAttempts())
}

// TestMaxInFlight: MaxInFlight reports the copies a policy runs at once:
// 1 without hedging or with it turned off, the hedge's maximum otherwise,
// 0 for a nil or zero Policy.
func TestMaxInFlight(t *testing.T) {
	d, err := retry.NewHedgeDelay(0.95, time.Millisecond)
	require.NoError(t, err)
	tests := []struct {
		name string
		opts []retry.Option
		want int
	}{
		{"no hedging", nil, 1},
		{"hedged", []retry.Option{retry.WithHedge(time.Millisecond, 3)}, 3},
		{"adaptive", []retry.Option{retry.WithAdaptiveHedge(d, 2)}, 2},
		{"turned off after", []retry.Option{retry.WithHedge(time.Millisecond, 3), retry.WithHedge(0, 1)}, 1},
		{"derived", []retry.Option{newPolicy(t, retry.WithHedge(0, 4)), retry.WithMaxAttempts(9)}, 4},
		{"discard only", []retry.Option{retry.WithHedgeDiscard(func(int) {})}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, newPolicy(t, tt.opts...).MaxInFlight())
		})
	}
	var nilPolicy *retry.Policy
	require.Zero(t, nilPolicy.MaxInFlight())
	require.Zero(t, new(retry.Policy).MaxInFlight())
}
