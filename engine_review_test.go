package retry

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression tests for the review of the engine and Do (branch
// review-engine, review_*_test.go): each asserts the fixed behaviour.

var errReview = errors.New("boom")

// The attempt that trips the breaker gets no retry: the call stops at the
// decision with ErrCircuitOpen, the budget pays nothing and Do does not
// sleep (review i).
func TestRetryAfterTripStopsAtDecision(t *testing.T) {
	setup := func() (*Breaker, *Budget, *Policy) {
		br, err := NewBreaker(BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Hour})
		require.NoError(t, err)
		bu, err := NewBudget(BudgetConfig{Capacity: 2})
		require.NoError(t, err)
		p, err := NewPolicy(WithBreaker(br), WithBudget(bu), WithBackoff(Constant(5*time.Second)), WithJitter(NoJitter))
		require.NoError(t, err)
		return br, bu, p
	}
	t.Run("Do", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			br, bu, p := setup()
			start := time.Now()
			n := 0
			_, err := Do(context.Background(), func(context.Context) (int, error) { n++; return 0, errReview }, p)
			assert.Equal(t, 1, n)
			assert.Equal(t, "circuit_open", ReasonOf(err))
			assert.ErrorIs(t, err, ErrCircuitOpen)
			assert.ErrorIs(t, err, errReview)
			assert.Zero(t, time.Since(start), "no sleep before a refused retry")
			assert.Zero(t, bu.Stats().Allowed)
			assert.Equal(t, 2.0, bu.Tokens())
			assert.Zero(t, br.Stats().Rejected, "no attempt was asked for")
		})
	})
	t.Run("engine", func(t *testing.T) {
		_, bu, p := setup()
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		ctx, pr, err := p.Begin(context.Background(), Progress{}, now)
		require.NoError(t, err)
		v := p.Failed(ctx, pr, errReview, now)
		assert.ErrorIs(t, v.Err, ErrCircuitOpen)
		assert.Zero(t, v.Wait)
		assert.Equal(t, 2.0, bu.Tokens())
	})
	t.Run("recovers before the wait ends", func(t *testing.T) {
		br, err := NewBreaker(BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second})
		require.NoError(t, err)
		p, err := NewPolicy(WithBreaker(br), WithBackoff(Constant(5*time.Second)), WithJitter(NoJitter))
		require.NoError(t, err)
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		ctx, pr, err := p.Begin(context.Background(), Progress{}, now)
		require.NoError(t, err)
		v := p.Failed(ctx, pr, errReview, now)
		require.NoError(t, v.Err, "the circuit is half-open by the next attempt")
		assert.Equal(t, 5*time.Second, v.Wait)
	})
}
