package retry_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

func TestDefaultConstants(t *testing.T) {
	assert.Equal(t, 4, retry.DefaultMaxAttempts)
	assert.Equal(t, 100*time.Millisecond, retry.DefaultInitial)
	assert.Equal(t, 2.0, retry.DefaultMultiplier)
	assert.Equal(t, 30*time.Second, retry.DefaultMaxDelay)
}

// TestDefaultsWithoutJitter: 4 attempts, waits of 100ms, 200ms and 400ms,
// no wait after the last attempt: 700ms of virtual time in all.
func TestDefaultsWithoutJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		op, calls := failing(errA)
		var n notes
		start := time.Now()
		v, err := retry.Do(context.Background(), op, retry.WithJitter(retry.NoJitter), retry.WithNotify(n.hook))
		assert.Equal(t, 700*time.Millisecond, time.Since(start))
		assert.Equal(t, 4, *calls)
		assert.Equal(t, 4, v, "the last value comes back")
		require.ErrorIs(t, err, retry.ErrExhausted)
		assert.ErrorIs(t, err, errA)
		assert.Equal(t, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}, n.delays())
	})
}

// TestDefaultCap: without jitter the default schedule doubles from 100ms
// and is capped at 30s.
func TestDefaultCap(t *testing.T) {
	got := newPolicy(t, retry.WithJitter(retry.NoJitter)).Schedule(14)
	want := []time.Duration{100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000, 30000, 30000, 30000}
	for i := range want {
		want[i] *= time.Millisecond
	}
	assert.Equal(t, want, got)
}

// TestDefaultFullJitter: by default each wait is uniform in [0, base]; the
// virtual time spent is exactly the sum of the waits chosen.
func TestDefaultFullJitter(t *testing.T) {
	for seed := range uint64(20) {
		synctest.Test(t, func(t *testing.T) {
			op, calls := failing(errA)
			var n notes
			start := time.Now()
			_, err := retry.Do(context.Background(), op, retry.WithRand(seeded(seed)), retry.WithNotify(n.hook))
			assert.Equal(t, sum(n.delays()), time.Since(start))
			require.ErrorIs(t, err, retry.ErrExhausted)
			assert.Equal(t, 4, *calls)
			require.Len(t, n.list, 3)
			for i, base := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond} {
				d := n.list[i].Wait
				assert.True(t, d >= 0 && d <= base, "seed %d retry %d: %v outside [0, %v]", seed, i+1, d, base)
				assert.NotEqual(t, base, d, "seed %d retry %d: jitter was not applied", seed, i+1)
			}
		})
	}
}

// TestDefaultRetriesEveryError: with no classifier, any error is retried
// (here a wrapped and a joined one).
func TestDefaultRetriesEveryError(t *testing.T) {
	for _, e := range []error{errA, fmt.Errorf("x: %w", errA), errors.Join(errA, errB), context.Canceled, context.DeadlineExceeded} {
		op, calls := failing(e)
		_, err := retry.Do(context.Background(), op, retry.WithBackoff(retry.Constant(0)))
		assert.ErrorIs(t, err, retry.ErrExhausted, "%v", e)
		assert.Equal(t, 4, *calls, "%v", e)
	}
}

// TestCapComesBeforeJitter: the strategy's delay is capped first and then
// jittered, so a capped delay stays jittered; the wait never exceeds the
// cap.
func TestCapComesBeforeJitter(t *testing.T) {
	const limit = 1500 * time.Millisecond
	strategy := retry.Exponential(time.Second, 2) // 1s, 2s, 4s, …: capped from retry 2
	tests := []struct {
		name   string
		jitter retry.Jitter
		lo, hi time.Duration // bounds of every wait after retry 1
	}{
		{"none", retry.NoJitter, limit, limit},
		{"full", retry.FullJitter, 0, limit},
		{"equal", retry.EqualJitter, limit / 2, limit},
		{"proportional", retry.ProportionalJitter(0.5), limit / 2, limit},
		{"decorrelated", retry.DecorrelatedJitter, time.Second, limit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPolicy(t, retry.WithBackoff(strategy), retry.WithMaxDelay(limit), retry.WithJitter(tt.jitter), retry.WithRand(seeded(7)))
			waits := p.Schedule(200)[1:]
			below := 0
			for _, w := range waits {
				require.True(t, w >= tt.lo && w <= tt.hi, "%v outside [%v, %v]", w, tt.lo, tt.hi)
				if w < limit-limit/10 {
					below++
				}
			}
			switch tt.jitter {
			case retry.NoJitter:
				assert.Zero(t, below)
			case retry.DecorrelatedJitter:
				// min(cap, U[first, 3×previous]): mostly at the cap, by design.
				assert.Positive(t, below)
			default:
				// Jitter after the cap spreads the waits below it; jitter
				// before the cap would leave almost every wait at the cap.
				assert.Greater(t, below, len(waits)/4, "the capped delay was not jittered")
			}
		})
	}
}
