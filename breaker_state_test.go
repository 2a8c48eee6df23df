package retry

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The breaker's state machine and window, and the budget's refill, driven
// with explicit instants: no clock, no synctest, like rate.Limiter's tests.

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// step is one event at an instant: an admission (wantAdmit), then an
// outcome for it if admitted.
type step struct {
	at        time.Duration // since t0
	outcome   outcome
	wantAdmit bool
	wantState BreakerState // StateAt(t0+at) after the step
}

func TestBreakerStateMachineAtExplicitTimes(t *testing.T) {
	tests := map[string]struct {
		cfg   BreakerConfig
		steps []step
	}{
		"consecutive failures open; recovery half-opens; a probe success closes": {
			cfg: BreakerConfig{FailureThreshold: 2, RecoveryTimeout: 10 * time.Second},
			steps: []step{
				{0, outcomeFailure, true, BreakerClosed},
				{time.Second, outcomeSuccess, true, BreakerClosed}, // resets the run
				{2 * time.Second, outcomeFailure, true, BreakerClosed},
				{3 * time.Second, outcomeFailure, true, BreakerOpen},
				{12 * time.Second, outcomeNone, false, BreakerOpen}, // 9s after the trip
				{13 * time.Second, outcomeSuccess, true, BreakerClosed},
			},
		},
		"a probe failure reopens for the recovery timeout again": {
			cfg: BreakerConfig{FailureThreshold: 1, RecoveryTimeout: 5 * time.Second},
			steps: []step{
				{0, outcomeFailure, true, BreakerOpen},
				{5 * time.Second, outcomeFailure, true, BreakerOpen},
				{9 * time.Second, outcomeNone, false, BreakerOpen},
				{10 * time.Second, outcomeSuccess, true, BreakerClosed},
			},
		},
		"a probe that learned nothing frees its slot": {
			cfg: BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second},
			steps: []step{
				{0, outcomeFailure, true, BreakerOpen},
				{time.Second, outcomeNone, true, BreakerHalfOpen},
				{time.Second, outcomeSuccess, true, BreakerClosed},
			},
		},
		"failure rate over the window, once it holds MinimumCalls": {
			cfg: BreakerConfig{FailureRate: 0.5, Window: 10 * time.Second, MinimumCalls: 4, RecoveryTimeout: time.Minute},
			steps: []step{
				{0, outcomeFailure, true, BreakerClosed},
				{time.Second, outcomeFailure, true, BreakerClosed},
				{2 * time.Second, outcomeSuccess, true, BreakerClosed},
				{3 * time.Second, outcomeFailure, true, BreakerOpen}, // 3 of 4
			},
		},
		"failures that left the window no longer count": {
			cfg: BreakerConfig{FailureRate: 0.5, Window: 10 * time.Second, MinimumCalls: 4, RecoveryTimeout: time.Minute},
			steps: []step{
				{0, outcomeFailure, true, BreakerClosed},
				{time.Second, outcomeFailure, true, BreakerClosed},
				{11 * time.Second, outcomeSuccess, true, BreakerClosed},
				{12 * time.Second, outcomeSuccess, true, BreakerClosed},
				{13 * time.Second, outcomeFailure, true, BreakerClosed}, // the first two failures left the window: 1 of 3
				{14 * time.Second, outcomeSuccess, true, BreakerClosed},
			},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := NewBreaker(tt.cfg)
			require.NoError(t, err)
			for i, s := range tt.steps {
				clk := at(t0.Add(s.at))
				tk, ok := b.allow(&clk)
				require.Equal(t, s.wantAdmit, ok, "step %d: admission", i)
				if ok {
					b.done(tk, s.outcome, &clk, nil)
				}
				require.Equal(t, s.wantState, b.StateAt(t0.Add(s.at)), "step %d: state", i)
			}
		})
	}
}

// A lengthened open time draws its jitter from the policy's random source:
// the same seed, the same open times.
func TestBreakerOpenTimeUsesThePolicysRand(t *testing.T) {
	openTimes := func(seed uint64) []int64 {
		b, err := NewBreaker(BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second, MaxRecoveryTimeout: time.Hour})
		require.NoError(t, err)
		r := &lockedRand{r: rand.New(rand.NewPCG(seed, 0))}
		var got []int64
		now := t0
		for range 6 {
			clk := at(now)
			tk, ok := b.allow(&clk)
			require.True(t, ok)
			b.done(tk, outcomeFailure, &clk, r)
			until := b.openUntil.Load()
			got = append(got, until-b.tl.since(now))
			now = t0.Add(time.Duration(until)) // the instant it half-opens
		}
		return got
	}
	a, b := openTimes(1), openTimes(1)
	assert.Equal(t, a, b)
	assert.NotEqual(t, a, openTimes(2))
	assert.Equal(t, int64(time.Second), a[0], "the first trip uses RecoveryTimeout")
	for i, d := range a[1:] {
		assert.GreaterOrEqual(t, d, int64(time.Second), "trip %d", i+2)
	}
}

func TestBudgetRefillAtExplicitTimes(t *testing.T) {
	b, err := NewBudget(BudgetConfig{Capacity: 3, PerSecond: 2})
	require.NoError(t, err)
	withdraw := func(d time.Duration) bool {
		clk := at(t0.Add(d))
		return b.withdraw(false, &clk)
	}
	for range 3 {
		require.True(t, withdraw(0))
	}
	require.False(t, withdraw(0), "empty")
	require.False(t, withdraw(499*time.Millisecond), "0.998 tokens")
	require.True(t, withdraw(500*time.Millisecond), "one token after 500ms at 2/s")
	assert.Equal(t, 2.0, b.TokensAt(t0.Add(1500*time.Millisecond)))
	assert.Equal(t, 3.0, b.TokensAt(t0.Add(time.Hour)), "capped")
	assert.Equal(t, 0.0, b.TokensAt(t0), "looking changes nothing: what was credited by the last withdrawal")
}
