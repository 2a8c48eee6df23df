package retry_test

import (
	"context"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// TestStrategySaturation: strategy arithmetic saturates at the largest
// duration instead of overflowing, going negative, panicking or looping.
func TestStrategySaturation(t *testing.T) {
	tests := []struct {
		name  string
		s     retry.Strategy
		retry int
		want  time.Duration
	}{
		{"exponential hour x10 at 1000", retry.Exponential(time.Hour, 10), 1000, maxDuration},
		{"exponential at MaxInt", retry.Exponential(time.Millisecond, 1.0001), math.MaxInt, maxDuration},
		{"exponential multiplier 1 at MaxInt", retry.Exponential(time.Second, 1), math.MaxInt, time.Second},
		{"exponential last exact step", retry.Exponential(1, 2), 63, 1 << 62},
		{"exponential first overflow", retry.Exponential(1, 2), 64, maxDuration},
		{"linear at MaxInt", retry.Linear(time.Hour, time.Hour), math.MaxInt, maxDuration},
		{"linear from the largest", retry.Linear(maxDuration, 1), 2, maxDuration},
		{"linear just below saturation", retry.Linear(maxDuration-10, 1), 11, maxDuration},
		{"linear step 0 at MaxInt", retry.Linear(time.Second, 0), math.MaxInt, time.Second},
		{"fibonacci hour at 1000", retry.Fibonacci(time.Hour), 1000, maxDuration},
		{"fibonacci 1ns at 92, the largest int64 Fibonacci number", retry.Fibonacci(1), 92, 7540113804746346429},
		{"fibonacci 1ns at 93 overflows", retry.Fibonacci(1), 93, maxDuration},
		{"fibonacci 1ns at 1e9", retry.Fibonacci(1), 1_000_000_000, maxDuration},
		{"fibonacci 1ns at MaxInt", retry.Fibonacci(1), math.MaxInt, maxDuration},
		{"fibonacci 2ns at MaxInt", retry.Fibonacci(2), math.MaxInt, maxDuration},
		{"fibonacci zero unit at MaxInt", retry.Fibonacci(0), math.MaxInt, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.s.Delay(tt.retry))
		})
	}
}

func TestStrategies(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		s    retry.Strategy
		want []time.Duration // Delay(1), Delay(2), …
	}{
		{"constant", retry.Constant(7 * ms), []time.Duration{7 * ms, 7 * ms, 7 * ms}},
		{"constant zero", retry.Constant(0), []time.Duration{0, 0, 0}},
		{"linear", retry.Linear(10*ms, 5*ms), []time.Duration{10 * ms, 15 * ms, 20 * ms, 25 * ms}},
		{"linear from zero", retry.Linear(0, 5*ms), []time.Duration{0, 5 * ms, 10 * ms}},
		{"exponential", retry.Exponential(100*ms, 2), []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms}},
		{"exponential 1.5", retry.Exponential(100*ms, 1.5), []time.Duration{100 * ms, 150 * ms, 225 * ms}},
		{"exponential from zero", retry.Exponential(0, 2), []time.Duration{0, 0, 0}},
		{"fibonacci", retry.Fibonacci(ms), []time.Duration{ms, ms, 2 * ms, 3 * ms, 5 * ms, 8 * ms, 13 * ms}},
		{"func", retry.StrategyFunc(func(n int) time.Duration { return time.Duration(n) * ms }), []time.Duration{ms, 2 * ms, 3 * ms}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, want := range tt.want {
				assert.Equal(t, want, tt.s.Delay(i+1), "retry %d", i+1)
			}
			if _, isFunc := tt.s.(retry.StrategyFunc); !isFunc {
				// Arguments below 1 are treated as 1.
				assert.Equal(t, tt.want[0], tt.s.Delay(0))
				assert.Equal(t, tt.want[0], tt.s.Delay(-5))
				assert.Equal(t, tt.want[0], tt.s.Delay(math.MinInt))
			}
		})
	}
}

// TestSaturatedScheduleThroughThePolicy: a saturating strategy with no cap
// gives the largest duration, never a negative one, in every jitter mode.
func TestSaturatedScheduleThroughThePolicy(t *testing.T) {
	for _, j := range []retry.Jitter{retry.NoJitter, retry.FullJitter, retry.EqualJitter, retry.DecorrelatedJitter, retry.ProportionalJitter(1)} {
		t.Run(j.String(), func(t *testing.T) {
			p := newPolicy(t, retry.WithBackoff(retry.Exponential(time.Hour, 10)), retry.WithMaxDelay(0), retry.WithJitter(j), retry.WithRand(seeded(3)))
			waits := p.Schedule(1000)
			for i, w := range waits {
				require.GreaterOrEqual(t, w, time.Duration(0), "retry %d", i+1)
			}
			if j == retry.NoJitter {
				assert.Equal(t, maxDuration, waits[999])
			}
			capped := newPolicy(t, retry.WithBackoff(retry.Exponential(time.Hour, 10)), retry.WithJitter(j), retry.WithRand(seeded(3))).Schedule(1000)
			for i, w := range capped {
				require.True(t, w >= 0 && w <= retry.DefaultMaxDelay, "retry %d: %v", i+1, w)
			}
		})
	}
}

// TestNegativeStrategyIsZero: a user strategy's negative delay is treated
// as zero in every jitter mode: no wait, no time spent.
func TestNegativeStrategyIsZero(t *testing.T) {
	negative := retry.StrategyFunc(func(int) time.Duration { return -time.Second })
	for _, j := range []retry.Jitter{retry.NoJitter, retry.FullJitter, retry.EqualJitter, retry.DecorrelatedJitter, retry.ProportionalJitter(0.5)} {
		t.Run(j.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var n notes
				op, calls := failing(errA)
				start := time.Now()
				_, err := retry.Do(context.Background(), op, retry.WithBackoff(negative), retry.WithJitter(j), retry.WithNotify(n.hook))
				assert.Zero(t, time.Since(start))
				assert.ErrorIs(t, err, retry.ErrExhausted)
				assert.Equal(t, 4, *calls)
				assert.Equal(t, []time.Duration{0, 0, 0}, n.delays())
				assert.Equal(t, []time.Duration{0, 0, 0}, newPolicy(t, retry.WithBackoff(negative), retry.WithJitter(j)).Schedule(3))
			})
		})
	}
}

// TestSchedule: Schedule returns the waits before retries 1 to n, ignoring
// the attempt and elapsed limits.
func TestSchedule(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		opts []retry.Option
		n    int
		want []time.Duration
	}{
		{"linear", []retry.Option{retry.WithBackoff(retry.Linear(ms, 2*ms)), retry.WithJitter(retry.NoJitter)}, 4, []time.Duration{ms, 3 * ms, 5 * ms, 7 * ms}},
		{"capped", []retry.Option{retry.WithBackoff(retry.Fibonacci(ms)), retry.WithJitter(retry.NoJitter), retry.WithMaxDelay(4 * ms)},
			6, []time.Duration{ms, ms, 2 * ms, 3 * ms, 4 * ms, 4 * ms}},
		{"beyond the attempt limit", []retry.Option{retry.WithMaxAttempts(2), retry.WithMaxElapsed(ms), retry.WithJitter(retry.NoJitter)},
			3, []time.Duration{100 * ms, 200 * ms, 400 * ms}},
		{"zero", nil, 0, []time.Duration{}},
		{"negative", nil, -3, []time.Duration{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, newPolicy(t, tt.opts...).Schedule(tt.n))
		})
	}
	t.Run("nil or zero policy", func(t *testing.T) {
		var nilPolicy *retry.Policy
		assert.Nil(t, nilPolicy.Schedule(3))
		assert.Nil(t, new(retry.Policy).Schedule(3))
	})
}
