package sim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// TestLayersMultiply: L layers of A attempts in a total outage
// send exactly A^L attempts to the dependency per caller request.
func TestLayersMultiply(t *testing.T) {
	for _, tc := range []struct{ depth, attempts, want int }{
		{1, 3, 3}, {3, 3, 27}, {3, 4, 64}, {5, 3, 243},
	} {
		p, err := retry.NewPolicy(retry.WithMaxAttempts(tc.attempts))
		require.NoError(t, err)
		// Calls apart, and calls overlapping in time.
		for _, gap := range []time.Duration{time.Minute, time.Millisecond, 0} {
			r, err := Layers{Depth: tc.depth, Requests: 10, Gap: gap, Hop: time.Millisecond, FailRate: 1}.Run(Fleet{Policy: p})
			require.NoError(t, err)
			assert.Equal(t, float64(tc.want), r.Amplification, "%d layers × %d attempts, gap %v", tc.depth, tc.attempts, gap)
			assert.Zero(t, r.Succeeded)
			want := int64(10)
			for i := range tc.depth {
				want *= int64(tc.attempts)
				assert.Equal(t, want, r.Attempts[i], "layer %d", i+1)
			}
		}
	}
}

// TestGRPCThrottlingThreshold: with gRPC A6 throttling (10 tokens, 0.1 per
// success, retries only above half) retries stay enabled while the failure
// fraction is below ratio/(1+ratio) = 9.1%; above it, only about 0.1 retry
// per success is left.
func TestGRPCThrottlingThreshold(t *testing.T) {
	t.Parallel()
	p, err := retry.NewPolicy(retry.WithMaxAttempts(0))
	require.NoError(t, err)
	retried := func(f float64) float64 {
		r, err := Layers{Depth: 1, Requests: 50_000, Gap: 10 * time.Millisecond, FailRate: f, Seed: 1}.Run(Fleet{Policy: p, Budget: grpcBudget})
		require.NoError(t, err)
		failed := r.Attempts[0] - r.Succeeded // attempts that failed
		retries := r.Attempts[0] - r.Requests
		return float64(retries) / float64(failed)
	}
	for _, f := range []float64{0.02, 0.05} {
		assert.Greater(t, retried(f), 0.97, "failure fraction %v: retries stay enabled", f)
	}
	for _, f := range []float64{0.12, 0.2, 0.5} {
		// At most 0.1 retry per success: retried ≤ 0.1·(1−f)/f, plus the burst.
		assert.Less(t, retried(f), 0.1*(1-f)/f+0.03, "failure fraction %v: throttled", f)
	}
}

// TestGRPCThrottlingThresholdIsSharp probes both sides of the threshold
// ratio/(1+ratio) = 9.1%: at 8.5% failures the tokens drift up, at 9.8%
// down. With A6's 10 tokens each failure's step is a fifth of the 5-token
// margin, so the switch is gradual (at 8.5% some retries are refused
// already, and at 9.8% most are still granted); with maxTokens 1000, A6's
// largest, the drift decides alone: after 200,000 requests the bucket is
// still near full at 8.5%, and pinned at its threshold at 9.8%.
func TestGRPCThrottlingThresholdIsSharp(t *testing.T) {
	t.Parallel()
	run := func(c retry.BudgetConfig, f float64) (retried, tokens float64) {
		b, err := retry.NewBudget(c)
		require.NoError(t, err)
		p, err := retry.NewPolicy(retry.WithMaxAttempts(0), retry.WithBudget(b))
		require.NoError(t, err)
		r, err := Layers{Depth: 1, Requests: 200_000, Gap: 10 * time.Millisecond, FailRate: f, Seed: 1}.Run(Fleet{Policy: p})
		require.NoError(t, err)
		return float64(r.Attempts[0]-r.Requests) / float64(r.Attempts[0]-r.Succeeded), b.Tokens()
	}
	deep := retry.BudgetConfig{Capacity: 1000, PerSuccess: 0.1, Threshold: 500 + 1e-6}
	retried, tokens := run(deep, 0.085)
	assert.Greater(t, retried, 0.999, "8.5%: retries stay enabled")
	assert.Greater(t, tokens, 900.0, "8.5%: the tokens stay near full")
	retried, tokens = run(deep, 0.098)
	assert.Less(t, retried, 0.97, "9.8%: throttled")
	assert.Less(t, tokens, 510.0, "9.8%: the tokens are pinned at the threshold")

	low, _ := run(*grpcBudget, 0.085)
	high, _ := run(*grpcBudget, 0.098)
	assert.Greater(t, low, 0.9, "A6's 10 tokens at 8.5%: most retries granted")
	assert.Less(t, high, low, "A6's 10 tokens: fewer retries past the threshold")
	assert.Less(t, high, 0.1*(1-0.098)/0.098, "A6's 10 tokens at 9.8%: at most 0.1 retry per success")
}

func TestLayersRejectsBadInput(t *testing.T) {
	p, err := retry.NewPolicy()
	require.NoError(t, err)
	for _, tc := range []struct {
		l    Layers
		want string
	}{
		{Layers{Depth: 0, Requests: 1}, "Layers.Depth"},
		{Layers{Depth: MaxLayers + 1, Requests: 1}, "Layers.Depth"},
		{Layers{Depth: 1, Requests: 0}, "Layers.Requests"},
		{Layers{Depth: 1, Requests: 1, FailRate: 2}, "Layers.FailRate"},
		{Layers{Depth: 1, Requests: 1, Gap: -1}, "Layers.Gap"},
	} {
		_, err := tc.l.Run(Fleet{Policy: p})
		require.ErrorIs(t, err, retry.ErrInvalidConfig)
		assert.Contains(t, err.Error(), tc.want)
	}
}

func TestLayersStopAtTheEventLimit(t *testing.T) {
	p, err := retry.NewPolicy(retry.WithMaxAttempts(4))
	require.NoError(t, err)
	_, err = Layers{Depth: 8, Requests: 100, FailRate: 1, MaxEvents: 1000}.Run(Fleet{Policy: p})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "event limit")
}

// TestLayersRunInTimeOrder: caller requests overlap in time, and their
// attempts meet the policy in time order. Two requests 1 ms apart, each
// attempt failing 20 ms after it starts and retried after 100 ms, against a
// breaker that opens after 3 failures: the failures come at 20, 21, 140 and
// 141 ms, so each request makes 2 attempts before the breaker refuses its
// third. Run one request after the other, the second would start at 1 ms
// with the breaker already opened at 260 ms and make none.
func TestLayersRunInTimeOrder(t *testing.T) {
	p, err := retry.NewPolicy(retry.WithMaxAttempts(3), retry.WithBackoff(retry.Constant(100*time.Millisecond)), retry.WithJitter(retry.NoJitter))
	require.NoError(t, err)
	br := &retry.BreakerConfig{FailureThreshold: 3, RecoveryTimeout: time.Hour}
	r, err := Layers{Depth: 1, Requests: 2, Gap: time.Millisecond, Hop: 10 * time.Millisecond, FailRate: 1}.Run(Fleet{Policy: p, Breaker: br})
	require.NoError(t, err)
	assert.Equal(t, []int64{4}, r.Attempts)
}
