package retry_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// maxDuration is the largest time.Duration, where strategies saturate.
const maxDuration = time.Duration(math.MaxInt64)

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

// TestPermanentAnywhereInChain: Permanent anywhere in the error chain stops
// the loop with ErrPermanent, whatever wraps it (an After hint included)
// and whatever the classifiers say.
func TestPermanentAnywhereInChain(t *testing.T) {
	errA := errors.New("a")
	tests := []struct {
		name string
		err  error
	}{
		{"bare", retry.Permanent(errA)},
		{"wrapped by fmt", fmt.Errorf("op: %w", retry.Permanent(errA))},
		{"inside After", retry.After(0, retry.Permanent(errA))},
		{"After inside Permanent", retry.Permanent(retry.After(0, errA))},
		{"wrapped After around Permanent", fmt.Errorf("op: %w", retry.After(0, retry.Permanent(errA)))},
		{"in a join after an After", errors.Join(retry.After(0, errors.New("b")), retry.Permanent(errA))},
		{"in a join", errors.Join(errors.New("b"), retry.Permanent(errA))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			_, err := retry.Do(context.Background(), func(context.Context) (int, error) {
				calls++
				return calls, tt.err
			}, retry.WithClassifier(retry.RetryOn(errA)), retry.WithBackoff(retry.Constant(0)))
			assert.Equal(t, 1, calls)
			require.ErrorIs(t, err, retry.ErrPermanent)
			assert.ErrorIs(t, err, errA)
		})
	}
}

// TestJitterValuesOutsideTheConstructors: Jitter is a plain integer, so a
// caller can write any value; the policy rejects those the constructors
// never return instead of producing negative or meaningless waits.
func TestJitterValuesOutsideTheConstructors(t *testing.T) {
	const tag = retry.Jitter(1) << 63 // the bit ProportionalJitter sets
	tests := []struct {
		name string
		j    retry.Jitter
	}{
		{"the next mode", retry.DecorrelatedJitter + 1},
		{"an unknown mode", 99},
		{"proportional 5", tag | retry.Jitter(math.Float64bits(5))},
		{"proportional +Inf", tag | retry.Jitter(math.Float64bits(math.Inf(1)))},
		{"proportional NaN", tag | retry.Jitter(math.Float64bits(math.NaN()))},
		{"all bits", retry.Jitter(math.MaxUint64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := retry.NewPolicy(retry.WithJitter(tt.j))
			require.ErrorIs(t, err, retry.ErrInvalidConfig)
			assert.Nil(t, p)
		})
	}
	for _, f := range []float64{0, 0.25, 1} {
		_, err := retry.NewPolicy(retry.WithJitter(tag | retry.Jitter(math.Float64bits(f))))
		assert.NoError(t, err, "fraction %v", f)
	}
}
