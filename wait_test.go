package retry_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/retrykit/retry"
)

// TestZeroDelayAllocatesNothing: with a prebuilt policy, three failures and
// a success with zero delays allocate nothing (no timer); so does a
// success. A permanent error allocates only the returned error.
func TestZeroDelayAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	p := newPolicy(t, retry.WithBackoff(retry.Constant(0)))
	calls := 0
	threeFailures := func(context.Context) (int, error) {
		calls++
		if calls%4 != 0 {
			return 0, errA
		}
		return calls, nil
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := retry.Do(ctx, threeFailures, p); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs, "three zero-delay failures")
	assert.Equal(t, 4*101, calls)

	succeed := func(context.Context) (int, error) { return 1, nil }
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = retry.Do(ctx, succeed, p) }), "success")

	perm := retry.Permanent(errA)
	permanent := func(context.Context) (int, error) { return 0, perm }
	assert.LessOrEqual(t, testing.AllocsPerRun(100, func() { _, _ = retry.Do(ctx, permanent, p) }), 1.0, "permanent")

	// Full jitter of a zero base is zero too: still no timer.
	q := newPolicy(t, retry.WithBackoff(retry.Exponential(0, 2)), retry.WithJitter(retry.EqualJitter))
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		if _, err := retry.Do(ctx, threeFailures, q); err != nil {
			t.Fatal(err)
		}
	}), "zero base with jitter")
}

// TestZeroDelayTakesNoTime: zero waits take no virtual time at all.
func TestZeroDelayTakesNoTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPolicy(t, retry.WithBackoff(retry.Constant(0)))
		op, calls := failing(errA)
		start := time.Now()
		_, err := retry.Do(context.Background(), op, p)
		assert.Zero(t, time.Since(start))
		assert.ErrorIs(t, err, retry.ErrExhausted)
		assert.Equal(t, 4, *calls)
	})
}

// TestOneTimerPerCall: a call allocates the same whether it waits twice or
// ten times: its one timer is reused for every wait.
func TestOneTimerPerCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		op := func(context.Context) (int, error) { return 0, errA }
		perCall := func(attempts int) float64 {
			p := newPolicy(t, retry.WithMaxAttempts(attempts), retry.WithBackoff(retry.Constant(time.Millisecond)), retry.WithJitter(retry.NoJitter))
			return testing.AllocsPerRun(50, func() { _, _ = retry.Do(ctx, op, p) })
		}
		few, many := perCall(3), perCall(11)
		assert.Equal(t, few, many, "allocations grow with the number of waits")
		assert.Positive(t, few, "a non-zero wait needs a timer")
	})
}
