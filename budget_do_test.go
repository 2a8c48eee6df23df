package retry

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWithBudgetValidation(t *testing.T) {
	ctx := context.Background()
	op := func(context.Context) (int, error) { return 1, nil }

	_, err := Do(ctx, op, WithBudget(&Budget{}))
	require.ErrorIs(t, err, ErrInvalidConfig)
	assert.Contains(t, err.Error(), "not made by NewBudget")

	b := mustBudget(t, BudgetConfig{Capacity: 1})
	p, err := NewPolicy(WithBudget(b), WithBudget(nil))
	require.NoError(t, err)
	assert.Nil(t, p.cfg.budget, "a nil budget removes an earlier one")

	var none *Budget
	assert.Zero(t, none.Tokens(), "a nil budget has no tokens")
	assert.Zero(t, none.Stats())
}

func TestDoBudgetExhausted(t *testing.T) {
	ctx := context.Background()
	b := mustBudget(t, BudgetConfig{Capacity: 10, PerSuccess: 1})
	calls := 0
	op := func(context.Context) (int, error) { calls++; return calls, errBudgetOp }

	// 4 attempts per call: the first three calls take 3 retries each, the
	// fourth gets the last token and is then refused.
	for range 3 {
		_, err := Do(ctx, op, WithBudget(b), WithBackoff(Constant(0)))
		require.ErrorIs(t, err, ErrExhausted)
	}
	assert.Equal(t, 1.0, b.Tokens())
	v, err := Do(ctx, op, WithBudget(b), WithBackoff(Constant(0)))
	var re *Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, &Error{Attempts: 2, Last: errBudgetOp, Reason: ErrBudgetExhausted}, re)
	assert.Equal(t, calls, v, "the last value comes back")
	assert.Contains(t, err.Error(), "client-side decision")
	assert.ErrorIs(t, err, errBudgetOp)

	// An empty budget suppresses retries, never first attempts.
	_, err = Do(ctx, op, WithBudget(b), WithBackoff(Constant(0)))
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 1, re.Attempts)
	assert.ErrorIs(t, err, ErrBudgetExhausted)
	assert.Equal(t, BudgetStats{Allowed: 10, Denied: 2}, b.Stats())
	assert.Equal(t, 15, calls)
}

func TestDoBudgetDepositsOnSuccess(t *testing.T) {
	ctx := context.Background()
	b := mustBudget(t, BudgetConfig{Capacity: 10, PerSuccess: 1})
	failures := 2
	op := func(context.Context) (string, error) {
		if failures > 0 {
			failures--
			return "", errBudgetOp
		}
		return "ok", nil
	}
	v, err := Do(ctx, op, WithBudget(b), WithBackoff(Constant(0)))
	require.NoError(t, err)
	assert.Equal(t, "ok", v)
	assert.Equal(t, 9.0, b.Tokens(), "two retries withdrawn, one success deposited")

	p, err := NewPolicy(WithBudget(b))
	require.NoError(t, err)
	_, err = Do(ctx, op, p)
	require.NoError(t, err)
	assert.Equal(t, 10.0, b.Tokens(), "a first-attempt success through a policy deposits too")
}

// Only a retry the loop would otherwise make draws on the budget: terminal
// errors, the last attempt, a hint too long and a deadline too close do not.
func TestDoBudgetWithdrawsOnlyDecidedRetries(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		err  error
		opts []Option
	}{
		{"permanent", Permanent(errBudgetOp), nil},
		{"terminal classifier", errBudgetOp, []Option{WithClassifier(StopOn(errBudgetOp))}},
		{"single attempt", errBudgetOp, []Option{WithMaxAttempts(1)}},
		{"hint too long", After(time.Hour, errBudgetOp), []Option{WithMaxDelay(time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustBudget(t, BudgetConfig{Capacity: 1})
			_, err := Do(ctx, func(context.Context) (int, error) { return 0, tt.err },
				append(tt.opts, WithBudget(b))...)
			require.Error(t, err)
			assert.NotErrorIs(t, err, ErrBudgetExhausted)
			assert.Equal(t, 1.0, b.Tokens())
			assert.Equal(t, BudgetStats{}, b.Stats())
		})
	}

	t.Run("deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			b := mustBudget(t, BudgetConfig{Capacity: 1})
			_, err := Do(ctx, func(context.Context) (int, error) { return 0, errBudgetOp },
				WithBudget(b), WithBackoff(Constant(2*time.Second)), WithJitter(NoJitter))
			require.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Equal(t, 1.0, b.Tokens())
		})
	})
}

// A refused retry ends the call before the notify hook and before any wait.
func TestDoBudgetRefusedBeforeWaitAndNotify(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBudget(t, BudgetConfig{Capacity: 1})
		var notified []int
		start := time.Now()
		_, err := Do(context.Background(), func(context.Context) (int, error) { return 0, errBudgetOp },
			WithBudget(b), WithBackoff(Constant(time.Second)), WithJitter(NoJitter),
			WithNotify(func(_ context.Context, a RetryInfo) { notified = append(notified, a.Attempt) }))
		require.ErrorIs(t, err, ErrBudgetExhausted)
		assert.Equal(t, []int{1}, notified, "the granted retry is notified, the refused one is not")
		assert.Equal(t, time.Second, time.Since(start), "one wait, for the granted retry")
	})
}

func TestDoBudgetTimeoutCost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBudget(t, BudgetConfig{Capacity: 5, TimeoutCost: 3})
		calls := 0
		op := func(ctx context.Context) (int, error) {
			calls++
			if calls == 1 {
				<-ctx.Done() // the first attempt times out
				return 0, ctx.Err()
			}
			return 0, errBudgetOp
		}
		_, err := Do(context.Background(), op, WithBudget(b), WithAttemptTimeout(time.Second),
			WithBackoff(Constant(0)), WithMaxAttempts(3))
		require.ErrorIs(t, err, ErrExhausted)
		assert.Equal(t, 1.0, b.Tokens(), "3 for the timed-out attempt, 1 for the ordinary failure")
	})
}

// The storm: 200 goroutines retry an operation that always fails. With a
// budget of 10 tokens (0.1 back per success, and there are none), the
// fleet makes its 200 first attempts plus 10 retries; without it, every
// goroutine makes all 4 of its attempts, about 4× the calls.
func TestRetryStorm(t *testing.T) {
	const goroutines = 200
	storm := func(opts ...Option) (calls int64) {
		var n atomic.Int64
		op := func(context.Context) error { n.Add(1); return errBudgetOp }
		var wg sync.WaitGroup
		for range goroutines {
			wg.Go(func() {
				err := Run(context.Background(), op, append(opts, WithBackoff(Constant(0)))...)
				if !errors.Is(err, ErrExhausted) && !errors.Is(err, ErrBudgetExhausted) {
					t.Errorf("unexpected reason: %v", err)
				}
			})
		}
		wg.Wait()
		return n.Load()
	}

	b := mustBudget(t, BudgetConfig{Capacity: 10, PerSuccess: 0.1})
	withBudget := storm(WithBudget(b))
	bound := int64(goroutines + 10) // first attempts + Capacity/RetryCost retries
	assert.Equal(t, bound, withBudget)
	// Every goroutine ends on a refusal, except those (at most 10/3) whose
	// three retries were all granted.
	st := b.Stats()
	assert.Equal(t, uint64(10), st.Allowed)
	assert.GreaterOrEqual(t, st.Denied, uint64(goroutines-3))
	assert.LessOrEqual(t, st.Denied, uint64(goroutines))

	without := storm()
	assert.Equal(t, int64(goroutines*DefaultMaxAttempts), without)
	ratio := float64(without) / float64(withBudget)
	assert.InDelta(t, 4, ratio, 0.25, "without a budget the storm makes about 4x the calls (%d vs %d)", without, withBudget)
}
