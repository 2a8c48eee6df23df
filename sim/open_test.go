package sim

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// The budgets of the checks, per client.
var (
	// ratioBudget is a 10% ratio of successes with a burst of 10.
	ratioBudget = &retry.BudgetConfig{Capacity: 10, PerSuccess: 0.1}
	// grpcBudget is gRPC A6 retry throttling (maxTokens 10, tokenRatio 0.1):
	// a retry only while the tokens left stay above half, 4 from full.
	grpcBudget = &retry.BudgetConfig{Capacity: 10, PerSuccess: 0.1, Threshold: 5 + 1e-6}
	// awsBudget is the AWS SDK's standard retry quota (500 tokens, 5 per
	// retry, 10 per retry of a timeout, 1 back per success).
	awsBudget = &retry.BudgetConfig{Capacity: 500, RetryCost: 5, TimeoutCost: 10, PerSuccess: 1}
)

// policy3 is the policy of the metastability checks: 3 attempts,
// exponential from 100 ms, capped at 5 s.
func policy3(t testing.TB, j retry.Jitter, opts ...retry.Option) *retry.Policy {
	t.Helper()
	p, err := newPolicy3(j, opts...)
	require.NoError(t, err)
	return p
}

// newPolicy3 is policy3 for a caller without a test to fail.
func newPolicy3(j retry.Jitter, opts ...retry.Option) (*retry.Policy, error) {
	return retry.NewPolicy(append([]retry.Option{retry.WithMaxAttempts(3),
		retry.WithBackoff(retry.Exponential(100*time.Millisecond, 2)), retry.WithMaxDelay(5 * time.Second),
		retry.WithJitter(j)}, opts...)...)
}

func runOpen(t testing.TB, s Open, f Fleet) Summary {
	t.Helper()
	r, err := s.Run(f)
	require.NoError(t, err)
	return r.Summary
}

// recoveryBound is the bound on the time to recover, in seconds, with a
// budget that allows r retries per success: 1.5·Q/(μ − λ(1+r)) + 5 s, half
// as long again as the full queue (Q) takes to drain at the capacity (μ)
// the load (λ) and its retries leave over, plus the 5 s the measure needs.
func recoveryBound(s Open, r float64) float64 {
	mu := float64(s.Workers) / s.Service.Seconds()
	return 1.5*float64(s.Queue)/(mu-s.Rate*(1+r)) + 5
}

// TestMetastableWithoutBudget: at utilisation 0.7 with 3
// attempts and no budget, a 5 s stall never recovers, whatever the jitter.
func TestMetastableWithoutBudget(t *testing.T) {
	t.Parallel()
	for _, j := range []retry.Jitter{retry.NoJitter, retry.FullJitter, retry.EqualJitter, retry.DecorrelatedJitter} {
		t.Run(j.String(), func(t *testing.T) {
			t.Parallel()
			for seed := uint64(1); seed <= 3; seed++ {
				o := Metastable()
				o.Seed = seed
				s := runOpen(t, o, Fleet{Policy: policy3(t, j)})
				assert.False(t, s.Recovered, "seed %d: recovered after %vs", seed, s.RecoverySeconds)
				assert.Greater(t, s.Amplification, 2.5, "seed %d: retries sustain the overload", seed)
				assert.InDelta(t, 694, s.BaselineGoodput, 35, "seed %d: before the trigger the server keeps up", seed)
			}
		})
	}
}

// TestBudgetRecovers: with a budget, a stall of 1, 5 or 30 s
// recovers within 1.5·Q/(μ − λ(1+r)) + 5 s, for seeds 1 to 3.
func TestBudgetRecovers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		f    func(testing.TB) Fleet // a fleet per run: a budget the fleet shares keeps its state
		r    float64
	}{
		{"ratio", func(t testing.TB) Fleet { return Fleet{Policy: policy3(t, retry.FullJitter), Budget: ratioBudget} }, 0.1},
		{"grpc", func(t testing.TB) Fleet { return Fleet{Policy: policy3(t, retry.FullJitter), Budget: grpcBudget} }, 0.1},
		{"aws", func(t testing.TB) Fleet { return Fleet{Policy: policy3(t, retry.FullJitter), Budget: awsBudget} }, 0.2},
		{"one attempt", func(t testing.TB) Fleet { return Fleet{Policy: policy3(t, retry.FullJitter, retry.WithMaxAttempts(1))} }, 0},
		{"shared ratio budget", func(t testing.TB) Fleet { return Fleet{Policy: sharedBudget(t, 1000, 0.1)} }, 0.1},
	} {
		// A subtest per budget and stall, run in parallel: the runs share
		// nothing (each builds its own fleet).
		for _, length := range []time.Duration{time.Second, 5 * time.Second, 30 * time.Second} {
			t.Run(fmt.Sprintf("%s stall %v", tc.name, length), func(t *testing.T) {
				t.Parallel()
				for seed := uint64(1); seed <= 3; seed++ {
					s := Metastable()
					s.Trigger.Length, s.Seed = length, seed
					got := runOpen(t, s, tc.f(t))
					require.True(t, got.Recovered, "stall %v, seed %d", length, seed)
					assert.LessOrEqual(t, got.RecoverySeconds, recoveryBound(s, tc.r), "stall %v, seed %d", length, seed)
				}
			})
		}
	}
}

// TestJitterDoesNotRescue: whatever the jitter, the budget recovers from a
// 5 s stall within recoveryBound, and without one the fleet stays down
// (TestMetastableWithoutBudget).
func TestJitterDoesNotRescue(t *testing.T) {
	t.Parallel()
	for _, j := range []retry.Jitter{retry.NoJitter, retry.FullJitter, retry.EqualJitter, retry.DecorrelatedJitter} {
		p := policy3(t, j)
		with := runOpen(t, Metastable(), Fleet{Policy: p, Budget: ratioBudget})
		require.True(t, with.Recovered, "%v jitter", j)
		assert.LessOrEqual(t, with.RecoverySeconds, recoveryBound(Metastable(), 0.1), "%v jitter", j)
	}
}

// TestRecoveryAtBucketResolution: recovery is measured from the trigger's
// end, bucket by bucket, not from the next whole second. Without retries a
// short outage of instant 503s leaves no queue behind: requests arriving
// once it ends succeed at once, so the time to recover is 0 whatever the
// outage's length.
func TestRecoveryAtBucketResolution(t *testing.T) {
	t.Parallel()
	for _, length := range []time.Duration{500 * time.Millisecond, time.Second, 1500 * time.Millisecond} {
		s := Metastable()
		s.Trigger = Trigger{Mode: Reject, Start: 10 * time.Second, Length: length}
		got := runOpen(t, s, Fleet{Policy: policy3(t, retry.FullJitter, retry.WithMaxAttempts(1))})
		require.True(t, got.Recovered, "%v", length)
		assert.Zero(t, got.RecoverySeconds, "%v", length)
	}
}

// TestRecoveryNeedsEveryBucket: one bad bucket in the window restarts it;
// an average would hide it.
func TestRecoveryNeedsEveryBucket(t *testing.T) {
	n := []int64{100, 100, 100, 100, 100, 100, 100, 100, 100, 100}
	for _, tc := range []struct {
		ok   []int64
		w    int
		want int
		rec  bool
	}{
		{[]int64{100, 100, 100, 100, 100, 100, 100, 100, 100, 100}, 5, 0, true},
		{[]int64{0, 100, 100, 100, 100, 100, 100, 100, 100, 100}, 5, 1, true},
		{[]int64{100, 100, 50, 100, 100, 100, 100, 100, 100, 100}, 5, 3, true},
		{[]int64{100, 100, 100, 100, 98, 100, 100, 100, 100, 100}, 5, 5, true},
		{[]int64{100, 100, 100, 100, 99, 100, 100, 100, 100, 100}, 5, 0, true},
		{[]int64{100, 100, 100, 100, 100, 0, 100, 100, 100, 100}, 5, 0, true},
		{[]int64{100, 100, 100, 100, 0, 100, 100, 100, 100, 0}, 5, 0, false},
	} {
		k, ok := recovery(n, tc.ok, tc.w)
		assert.Equal(t, tc.rec, ok, "%v", tc.ok)
		if tc.rec {
			assert.Equal(t, tc.want, k, "%v", tc.ok)
		}
	}
}

// sharedBudget is a policy whose one budget the whole fleet shares.
func sharedBudget(t testing.TB, capacity, perSuccess float64) *retry.Policy {
	b, err := retry.NewBudget(retry.BudgetConfig{Capacity: capacity, PerSuccess: perSuccess})
	require.NoError(t, err)
	return policy3(t, retry.FullJitter, retry.WithBudget(b))
}

// TestVulnerabilityThreshold: without a budget the system is vulnerable once
// ρ exceeds about 1/A (1/3 for 3 attempts).
func TestVulnerabilityThreshold(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rate      float64
		recovered bool
	}{{250, true}, {300, true}, {400, false}, {500, false}} {
		s := Metastable()
		s.Rate = tc.rate
		got := runOpen(t, s, Fleet{Policy: policy3(t, retry.FullJitter)})
		assert.Equal(t, tc.recovered, got.Recovered, "ρ = %v", tc.rate/1000)
	}
}

// TestAmplificationInOutage is the arithmetic of Google SRE, gRPC and the
// AWS SDK: in a hard outage (instant 503s) 3 attempts amplify the load to
// just under 3×, and a budget bounds it by its burst.
func TestAmplificationInOutage(t *testing.T) {
	t.Parallel()
	const n, rate = 100, 700.0
	for _, length := range []time.Duration{5 * time.Second, 30 * time.Second} {
		for seed := uint64(1); seed <= 3; seed++ {
			s := Metastable()
			s.Trigger = Trigger{Mode: Reject, Start: 10 * time.Second, Length: length}
			s.Seed = seed
			T := length.Seconds()
			t.Run(fmt.Sprintf("%v seed %d", length, seed), func(t *testing.T) {
				t.Parallel()
				none := runOpen(t, s, Fleet{Policy: policy3(t, retry.FullJitter)})
				assert.GreaterOrEqual(t, none.AmplificationTrigger, 0.95*3)
				assert.Less(t, none.AmplificationTrigger, 3.0)

				ratio := runOpen(t, s, Fleet{Policy: policy3(t, retry.FullJitter), Budget: ratioBudget})
				assert.LessOrEqual(t, ratio.AmplificationTrigger, 1+0.1+10*n/(rate*T)+0.02)

				// gRPC decrements first and retries while tokens > 5,
				// so from 10 tokens a client retries 4 times.
				grpc := runOpen(t, s, Fleet{Policy: policy3(t, retry.FullJitter), Budget: grpcBudget})
				assert.LessOrEqual(t, grpc.AmplificationTrigger, 1+4*n/(rate*T)+0.01)

				// The AWS SDK's quota (500 tokens, 5 per retry of a 503)
				// lets each client retry 100 times in an outage of 503s.
				aws := runOpen(t, s, Fleet{Policy: policy3(t, retry.FullJitter), Budget: awsBudget})
				assert.InEpsilon(t, 1+min(3-1, 500/5*n/(rate*T)), aws.AmplificationTrigger, 0.03)

			})
		}
	}
}

// TestSRERatioInOutage is Google SRE's "a 10% retry budget reduces the
// growth to just 1.1x", in the reading retries ≤ 10% of caller requests.
// The library's budgets refill per success or per second, never per
// request, and a hard outage has no successes; so the per-request ratio is
// a time refill of r times each client's request rate (0.1·λ/N per
// second). Over an outage of T seconds each client then retries at most
// its burst plus r·λT/N times, and since 3 attempts want 2 retries per
// request the budget binds: amp_outage = 1 + r + burst·N/(λT), which tends
// to 1.1 as the outage lengthens.
func TestSRERatioInOutage(t *testing.T) {
	t.Parallel()
	const n, rate, r, burst = 100, 700.0, 0.1, 10.0
	sre := &retry.BudgetConfig{Capacity: burst, PerSecond: r * rate / n}
	for _, tc := range []struct {
		length time.Duration
		want   float64
	}{
		{30 * time.Second, 1 + r + burst*n/(rate*30)},
		{300 * time.Second, 1.10},
	} {
		t.Run(tc.length.String(), func(t *testing.T) {
			s := Metastable()
			s.Trigger = Trigger{Mode: Reject, Start: 10 * time.Second, Length: tc.length}
			s.After = 10 * time.Second
			got := runOpen(t, s, Fleet{Policy: policy3(t, retry.FullJitter), Budget: sre})
			assert.InDelta(t, tc.want, got.AmplificationTrigger, 0.01)
		})
	}
}

// retriesFromFull counts the retries a full budget of c grants to calls
// that always fail.
func retriesFromFull(t *testing.T, c retry.BudgetConfig) uint64 {
	t.Helper()
	b, err := retry.NewBudget(c)
	require.NoError(t, err)
	for range 10 {
		_, err := retry.Do(t.Context(), func(context.Context) (int, error) { return 0, errors.New("down") },
			retry.WithMaxAttempts(100), retry.WithBackoff(retry.Constant(0)), retry.WithBudget(b))
		require.Error(t, err)
	}
	return b.Stats().Allowed
}

// TestGRPCBudgetIsA6: gRPC A6 retries while the tokens left after a
// failure stay above half, so from a full bucket of 10 a client retries 4
// times (tokens 9, 8, 7, 6), not 5.
func TestGRPCBudgetIsA6(t *testing.T) {
	assert.Equal(t, uint64(4), retriesFromFull(t, *grpcBudget))
}

// TestTimeToOutcome: the latency of successes hides what most callers of a
// fleet that stays down wait for: three failed attempts (timeouts or full
// queues) and the waits between them, before the failure.
func TestTimeToOutcome(t *testing.T) {
	t.Parallel()
	s := runOpen(t, Metastable(), Fleet{Policy: policy3(t, retry.FullJitter)})
	assert.Less(t, s.LatencyP50, 100.0, "the few successes are fast")
	assert.Greater(t, s.OutcomeP50, 10*s.LatencyP50, "most requests end after three failed attempts")
	assert.Greater(t, s.OutcomeP50, 150.0, "at least the waits of 100 and 200 ms, fully jittered")
	assert.GreaterOrEqual(t, s.OutcomeP99, s.OutcomeP50)
}
