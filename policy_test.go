package retry_test

import (
	"context"
	"testing"

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
