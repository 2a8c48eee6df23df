package retry_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// TestHints: After(d, err) replaces the computed wait with d plus a
// full-jitter spread of the base delay, or exactly d under WithExactHints
// or NoJitter; it overrides the classifiers.
func TestHints(t *testing.T) {
	const hint = time.Second
	const base = 100 * time.Millisecond
	tests := []struct {
		name   string
		opts   []retry.Option
		lo, hi time.Duration // bounds of each wait
	}{
		{"default jitter adds a spread", nil, hint, hint + base},
		{"equal jitter adds a full spread", []retry.Option{retry.WithJitter(retry.EqualJitter)}, hint, hint + base},
		{"exact hints", []retry.Option{retry.WithExactHints()}, hint, hint},
		{"no jitter", []retry.Option{retry.WithJitter(retry.NoJitter)}, hint, hint},
		{"the spread is clamped to the cap", []retry.Option{retry.WithMaxDelay(hint)}, hint, hint},
		{"no cap", []retry.Option{retry.WithMaxDelay(0)}, hint, hint + base},
		{"overrides a classifier that stops", []retry.Option{retry.WithClassifier(retry.StopOn(errA)), retry.WithExactHints()}, hint, hint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range uint64(10) {
				synctest.Test(t, func(t *testing.T) {
					var n notes
					opts := append([]retry.Option{retry.WithBackoff(retry.Constant(base)), retry.WithRand(seeded(seed)), retry.WithNotify(n.hook)}, tt.opts...)
					calls := 0
					start := time.Now()
					v, err := retry.Do(context.Background(), func(context.Context) (string, error) {
						calls++
						if calls < 3 {
							return "", retry.After(hint, errA)
						}
						return "ok", nil
					}, opts...)
					require.NoError(t, err)
					assert.Equal(t, "ok", v)
					require.Len(t, n.list, 2)
					for _, a := range n.list {
						assert.True(t, a.Wait >= tt.lo && a.Wait <= tt.hi, "%v outside [%v, %v]", a.Wait, tt.lo, tt.hi)
						assert.Equal(t, errA, a.Err, "the After wrapper is stripped")
					}
					assert.Equal(t, sum(n.delays()), time.Since(start))
				})
			}
		})
	}
}

// TestHintSpreadIsJittered: across seeds, the spread added to a hint is not
// constant.
func TestHintSpreadIsJittered(t *testing.T) {
	seen := map[time.Duration]bool{}
	for seed := range uint64(10) {
		synctest.Test(t, func(t *testing.T) {
			var n notes
			op, _ := failing(retry.After(time.Second, errA))
			start := time.Now()
			_, err := retry.Do(context.Background(), op, retry.WithMaxAttempts(2), retry.WithRand(seeded(seed)), retry.WithNotify(n.hook),
				retry.WithBackoff(retry.Constant(time.Millisecond)))
			require.ErrorIs(t, err, retry.ErrExhausted)
			require.Len(t, n.list, 1)
			assert.Equal(t, n.list[0].Wait, time.Since(start))
			seen[n.list[0].Wait] = true
		})
	}
	assert.Greater(t, len(seen), 1)
}

func TestHintEdgeCases(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		opts     []retry.Option
		attempts int
		elapsed  time.Duration
		reason   error
		after    time.Duration // Error.Hint
	}{
		{"too long: stops at once", retry.After(5*time.Second, errA), []retry.Option{retry.WithMaxDelay(2 * time.Second)},
			1, 0, retry.ErrHintTooLong, 5 * time.Second},
		{"too long beats the default cap", retry.After(time.Minute, errA), nil, 1, 0, retry.ErrHintTooLong, time.Minute},
		{"equal to the cap is obeyed", retry.After(2*time.Second, errA), []retry.Option{retry.WithMaxDelay(2 * time.Second), retry.WithMaxAttempts(2)},
			2, 2 * time.Second, retry.ErrExhausted, 2 * time.Second},
		{"no cap: a long hint is obeyed", retry.After(time.Hour, errA), []retry.Option{retry.WithMaxDelay(0), retry.WithMaxAttempts(3), retry.WithExactHints()},
			3, 2 * time.Hour, retry.ErrExhausted, time.Hour},
		{"zero hint", retry.After(0, errA), []retry.Option{retry.WithExactHints()}, 4, 0, retry.ErrExhausted, 0},
		{"negative hint is zero", retry.After(-time.Second, errA), []retry.Option{retry.WithExactHints()}, 4, 0, retry.ErrExhausted, 0},
		{"the last attempt keeps its hint", retry.After(time.Second, errA), []retry.Option{retry.WithMaxAttempts(1)}, 1, 0, retry.ErrExhausted, time.Second},
		{"hint past the elapsed limit", retry.After(time.Second, errA), []retry.Option{retry.WithMaxElapsed(time.Second)}, 1, 0, retry.ErrMaxElapsed, time.Second},
		{"wrapped hint", fmt.Errorf("op: %w", retry.After(time.Second, errA)), []retry.Option{retry.WithExactHints(), retry.WithMaxAttempts(2)},
			2, time.Second, retry.ErrExhausted, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				op, calls := failing(tt.err)
				start := time.Now()
				v, err := retry.Do(context.Background(), op, tt.opts...)
				assert.Equal(t, tt.elapsed, time.Since(start))
				assert.Equal(t, tt.attempts, *calls)
				assert.Equal(t, tt.attempts, v, "the last value comes back")
				re := asError(t, err)
				assert.Equal(t, tt.reason, re.Reason)
				assert.Equal(t, tt.after, re.Hint)
				assert.Equal(t, tt.attempts, re.Attempts)
				assert.ErrorIs(t, err, errA)
			})
		})
	}
}

// TestHintPastTheDeadline: a hint whose wait would end after the context's
// deadline stops at once with context.DeadlineExceeded and the hint.
func TestHintPastTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		op, calls := failing(retry.After(10*time.Second, errA))
		start := time.Now()
		_, err := retry.Do(ctx, op, retry.WithExactHints())
		assert.Zero(t, time.Since(start))
		assert.Equal(t, 1, *calls)
		re := asError(t, err)
		assert.Equal(t, context.DeadlineExceeded, re.Reason)
		assert.Equal(t, 10*time.Second, re.Hint)
	})
}
