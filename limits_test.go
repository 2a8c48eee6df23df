package retry_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// TestNoWaitAfterLastAttempt: the loop returns right after the last
// attempt, without a final wait and without a notification.
func TestNoWaitAfterLastAttempt(t *testing.T) {
	for _, attempts := range []int{1, 2, 3, 7} {
		synctest.Test(t, func(t *testing.T) {
			op, calls := failing(errA)
			var n notes
			start := time.Now()
			_, err := retry.Do(context.Background(), op, retry.WithMaxAttempts(attempts),
				retry.WithBackoff(retry.Constant(time.Second)), retry.WithJitter(retry.NoJitter), retry.WithNotify(n.hook))
			assert.Equal(t, time.Duration(attempts-1)*time.Second, time.Since(start))
			assert.Equal(t, attempts, *calls)
			assert.Len(t, n.list, attempts-1)
			assert.Equal(t, attempts, asError(t, err).Attempts)
			assert.ErrorIs(t, err, retry.ErrExhausted)
		})
	}
}

// TestUnlimitedAttempts: WithMaxAttempts(0) means no limit.
func TestUnlimitedAttempts(t *testing.T) {
	calls := 0
	v, err := retry.Do(context.Background(), func(context.Context) (int, error) {
		calls++
		if calls < 50 {
			return 0, errA
		}
		return calls, nil
	}, retry.WithMaxAttempts(0), retry.WithBackoff(retry.Constant(0)))
	require.NoError(t, err)
	assert.Equal(t, 50, v)
}

// TestWaitThatWouldEndPastTheLimit: the loop never starts a wait that
// would end at or after the context's deadline (reason
// context.DeadlineExceeded) or the elapsed limit (ErrMaxElapsed); it
// returns at once, before the context is done. Waits are 100ms, 200ms,
// 400ms, so attempts start at 0, 100ms, 300ms and 700ms.
func TestWaitThatWouldEndPastTheLimit(t *testing.T) {
	tests := []struct {
		limit    time.Duration
		attempts int
		at       time.Duration
		reason   error // for the elapsed limit; the deadline gives context.DeadlineExceeded
	}{
		{50 * time.Millisecond, 1, 0, retry.ErrMaxElapsed},
		{100 * time.Millisecond, 1, 0, retry.ErrMaxElapsed}, // the wait would end at the limit
		{101 * time.Millisecond, 2, 100 * time.Millisecond, retry.ErrMaxElapsed},
		{500 * time.Millisecond, 3, 300 * time.Millisecond, retry.ErrMaxElapsed},
		{700 * time.Millisecond, 3, 300 * time.Millisecond, retry.ErrMaxElapsed},
		{701 * time.Millisecond, 4, 700 * time.Millisecond, retry.ErrExhausted},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("deadline %v", tt.limit), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), tt.limit)
				defer cancel()
				op, calls := failing(errA)
				start := time.Now()
				v, err := retry.Do(ctx, op, retry.WithJitter(retry.NoJitter))
				assert.Equal(t, tt.at, time.Since(start))
				assert.NoError(t, ctx.Err(), "returned at once, before the deadline")
				assert.Equal(t, tt.attempts, *calls)
				assert.Equal(t, tt.attempts, v)
				re := asError(t, err)
				assert.Equal(t, tt.attempts, re.Attempts)
				assert.Equal(t, errA, re.Last)
				if tt.reason == retry.ErrExhausted {
					assert.Equal(t, retry.ErrExhausted, re.Reason)
				} else {
					assert.Equal(t, context.DeadlineExceeded, re.Reason)
				}
			})
		})
		t.Run(fmt.Sprintf("max elapsed %v", tt.limit), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				op, calls := failing(errA)
				start := time.Now()
				v, err := retry.Do(context.Background(), op, retry.WithJitter(retry.NoJitter), retry.WithMaxElapsed(tt.limit))
				assert.Equal(t, tt.at, time.Since(start))
				assert.Equal(t, tt.attempts, *calls)
				assert.Equal(t, tt.attempts, v)
				re := asError(t, err)
				assert.Equal(t, tt.reason, re.Reason)
				assert.Equal(t, errA, re.Last)
			})
		})
	}
}

// TestHugeWaitAgainstTheLimits: a wait near the largest duration is checked
// against the elapsed limit and the deadline without overflowing: the loop
// stops at once instead of starting a wait of centuries.
func TestHugeWaitAgainstTheLimits(t *testing.T) {
	huge := time.Duration(math.MaxInt64)
	for _, tt := range []struct {
		name string
		wait retry.Option
	}{
		{"strategy", retry.WithBackoff(retry.Constant(huge))},
		{"hint", retry.WithBackoff(retry.Constant(0))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				op := func(context.Context) (int, error) {
					pause(time.Millisecond) // some time has elapsed when the wait is checked
					if tt.name == "hint" {
						return 0, retry.After(huge, errA)
					}
					return 0, errA
				}
				start := time.Now()
				_, err := retry.Do(context.Background(), op, tt.wait, retry.WithMaxDelay(0),
					retry.WithJitter(retry.NoJitter), retry.WithMaxElapsed(time.Hour))
				assert.Equal(t, time.Millisecond, time.Since(start))
				re := asError(t, err)
				assert.Equal(t, retry.ErrMaxElapsed, re.Reason)
				assert.Equal(t, 1, re.Attempts)
			})
		})
	}
}

// TestMaxElapsedDoesNotInterruptAnAttempt: the elapsed limit only stops
// retrying; an attempt that runs past it finishes.
func TestMaxElapsedDoesNotInterruptAnAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		start := time.Now()
		_, err := retry.Do(context.Background(), func(ctx context.Context) (int, error) {
			calls++
			pause(time.Second)
			assert.NoError(t, ctx.Err(), "the attempt's context is not cut by the elapsed limit")
			return 0, errA
		}, retry.WithMaxElapsed(500*time.Millisecond), retry.WithBackoff(retry.Constant(0)))
		assert.Equal(t, time.Second, time.Since(start))
		assert.Equal(t, 1, calls)
		assert.ErrorIs(t, err, retry.ErrMaxElapsed)
	})
}

// TestZeroLimitsMeanNone: 0 turns off every limit.
func TestZeroLimitsMeanNone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n notes
		calls := 0
		start := time.Now()
		v, err := retry.Do(context.Background(), func(ctx context.Context) (int, error) {
			calls++
			_, hasDeadline := ctx.Deadline()
			assert.False(t, hasDeadline, "no attempt timeout")
			if calls < 10 {
				return 0, errA
			}
			return calls, nil
		}, retry.WithMaxAttempts(0), retry.WithMaxElapsed(0), retry.WithAttemptTimeout(0), retry.WithMaxDelay(0),
			retry.WithBackoff(retry.Exponential(time.Hour, 2)), retry.WithJitter(retry.NoJitter), retry.WithNotify(n.hook))
		require.NoError(t, err)
		assert.Equal(t, 10, v)
		assert.Equal(t, 511*time.Hour, time.Since(start)) // 1+2+…+256 hours, no 30s cap
		assert.Equal(t, 256*time.Hour, n.list[8].Wait)
	})
}
