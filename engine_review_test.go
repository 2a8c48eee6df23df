package retry

import (
	"context"
	"errors"
	"fmt"
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

// A TimedOut mark anywhere in the chain charges TimeoutCost, and a hint
// under it is still honoured (review a, F).
func TestTimedOutMarkChargesTimeoutCost(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		hint time.Duration
	}{
		{"bare", TimedOut(errReview), 0},
		{"over a hint", TimedOut(After(time.Millisecond, errReview)), time.Millisecond},
		{"under a hint", After(time.Millisecond, TimedOut(errReview)), time.Millisecond},
		{"wrapped", fmt.Errorf("op: %w", TimedOut(errReview)), 0},
		{"joined", errors.Join(errReview, TimedOut(errReview)), 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewBudget(BudgetConfig{Capacity: 10, TimeoutCost: 5})
			require.NoError(t, err)
			p, err := NewPolicy(WithBudget(b), WithJitter(NoJitter))
			require.NoError(t, err)
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			ctx, pr, err := p.Begin(context.Background(), Progress{}, now)
			require.NoError(t, err)
			v := p.Failed(ctx, pr, tt.err, now)
			require.NoError(t, v.Err)
			assert.Equal(t, 5.0, b.TokensAt(now), "TimeoutCost")
			assert.Equal(t, tt.hint, v.Hint)
			if tt.hint > 0 {
				assert.Equal(t, tt.hint, v.Wait, "the hint decides the wait")
			}
		})
	}
	t.Run("Do refunds the timeout cost when a hook panics", func(t *testing.T) {
		b, err := NewBudget(BudgetConfig{Capacity: 10, TimeoutCost: 5})
		require.NoError(t, err)
		obs := &Observer{RetryScheduled: func(context.Context, RetryInfo) { panic("hook") }}
		p, err := NewPolicy(WithBudget(b), WithObserver(obs), WithBackoff(Constant(0)))
		require.NoError(t, err)
		assert.Panics(t, func() {
			_, _ = Do(context.Background(), func(context.Context) (int, error) {
				return 0, TimedOut(After(0, errReview))
			}, p)
		})
		assert.Equal(t, 10.0, b.Tokens(), "the whole TimeoutCost is refunded")
	})
}
