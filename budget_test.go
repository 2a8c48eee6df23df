package retry

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errBudgetOp = errors.New("budget test: transient")

func mustBudget(t testing.TB, c BudgetConfig) *Budget {
	t.Helper()
	b, err := NewBudget(c)
	require.NoError(t, err)
	return b
}

func TestNewBudgetInvalid(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name string
		cfg  BudgetConfig
		msg  string
	}{
		{"zero capacity", BudgetConfig{}, "Capacity must be > 0"},
		{"zero capacity, positive cost", BudgetConfig{RetryCost: 2, TimeoutCost: 3}, "Capacity must be > 0"},
		{"tiny capacity", BudgetConfig{Capacity: 1e-7}, "Capacity (1e-07) is below the resolution"},
		{"negative capacity", BudgetConfig{Capacity: -1}, "Capacity must not be negative"},
		{"NaN capacity", BudgetConfig{Capacity: nan}, "Capacity must be finite"},
		{"infinite capacity", BudgetConfig{Capacity: inf}, "Capacity must be finite"},
		{"huge capacity", BudgetConfig{Capacity: 1e13}, "Capacity must be at most"},
		{"negative per success", BudgetConfig{Capacity: 10, PerSuccess: -0.1}, "PerSuccess must not be negative"},
		{"NaN per success", BudgetConfig{Capacity: 10, PerSuccess: nan}, "PerSuccess must be finite"},
		{"negative per second", BudgetConfig{Capacity: 10, PerSecond: -1}, "PerSecond must not be negative"},
		{"infinite per second", BudgetConfig{Capacity: 10, PerSecond: math.Inf(-1)}, "PerSecond must be finite"},
		{"negative retry cost", BudgetConfig{Capacity: 10, RetryCost: -1}, "RetryCost must not be negative"},
		{"NaN timeout cost", BudgetConfig{Capacity: 10, TimeoutCost: nan}, "TimeoutCost must be finite"},
		{"negative threshold", BudgetConfig{Capacity: 10, Threshold: -1}, "Threshold must not be negative"},
		{"threshold at capacity", BudgetConfig{Capacity: 10, Threshold: 10}, "Threshold (10) must be below Capacity (10)"},
		{"cost above capacity", BudgetConfig{Capacity: 0.5}, "no retry could ever be granted"},
		{"cost above headroom", BudgetConfig{Capacity: 10, Threshold: 5, RetryCost: 6}, "no retry could ever be granted"},
		{"timeout cost above headroom", BudgetConfig{Capacity: 10, TimeoutCost: 11}, "no retry could ever be granted"},
		{"below resolution", BudgetConfig{Capacity: 10, PerSuccess: 1e-9}, "below the resolution"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewBudget(tt.cfg)
			assert.Nil(t, b)
			require.ErrorIs(t, err, ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

func TestBudgetStartsFullWithDefaults(t *testing.T) {
	b := mustBudget(t, BudgetConfig{Capacity: 10, PerSuccess: 1}) // 10 tokens, one back per success
	assert.Equal(t, 10.0, b.Tokens())
	assert.Equal(t, int64(1e6), b.retryCost, "RetryCost defaults to 1")
	assert.Equal(t, b.retryCost, b.timeoutCost, "TimeoutCost defaults to RetryCost")
	assert.Nil(t, b.tl.origin.Load(), "no time refill: the clock is never read")

	c := mustBudget(t, BudgetConfig{Capacity: 10, RetryCost: 2})
	assert.Equal(t, int64(2e6), c.timeoutCost, "TimeoutCost defaults to RetryCost")
}

func TestBudgetWithdrawDepositAndStats(t *testing.T) {
	b := mustBudget(t, BudgetConfig{Capacity: 3, PerSuccess: 0.5})
	for range 3 {
		assert.True(t, b.withdrawNow(false))
	}
	assert.False(t, b.withdrawNow(false))
	assert.False(t, b.withdrawNow(true))
	assert.Equal(t, 0.0, b.Tokens())
	assert.Equal(t, BudgetStats{Allowed: 3, Denied: 2}, b.Stats())

	b.deposit()
	assert.Equal(t, 0.5, b.Tokens())
	assert.False(t, b.withdrawNow(false), "half a token does not pay for a retry")
	b.deposit()
	assert.True(t, b.withdrawNow(false))
	assert.Equal(t, BudgetStats{Allowed: 4, Denied: 3}, b.Stats())

	for range 20 {
		b.deposit()
	}
	assert.Equal(t, 3.0, b.Tokens(), "deposits never exceed the capacity")
}

func TestBudgetNoPerSuccessDepositsNothing(t *testing.T) {
	b := mustBudget(t, BudgetConfig{Capacity: 2})
	require.True(t, b.withdrawNow(false))
	b.deposit()
	assert.Equal(t, 1.0, b.Tokens())
}

func TestBudgetThreshold(t *testing.T) {
	// gRPC-style throttling: retries stop while the bucket is at or below half full.
	b := mustBudget(t, BudgetConfig{Capacity: 10, PerSuccess: 0.1, Threshold: 5})
	for range 5 {
		assert.True(t, b.withdrawNow(false))
	}
	assert.Equal(t, 5.0, b.Tokens())
	assert.False(t, b.withdrawNow(false))
	b.deposit()
	assert.InDelta(t, 5.1, b.Tokens(), 1e-9)
	assert.False(t, b.withdrawNow(false), "5.1 - 1 would cross the threshold")
	for range 9 {
		b.deposit()
	}
	assert.True(t, b.withdrawNow(false))
	assert.Equal(t, 5.0, b.Tokens())
}

func TestBudgetTimeoutCost(t *testing.T) {
	b := mustBudget(t, BudgetConfig{Capacity: 5, TimeoutCost: 3})
	assert.True(t, b.withdrawNow(true))
	assert.Equal(t, 2.0, b.Tokens())
	assert.False(t, b.withdrawNow(true))
	assert.True(t, b.withdrawNow(false))
	assert.Equal(t, 1.0, b.Tokens())
	assert.Equal(t, BudgetStats{Allowed: 2, Denied: 1}, b.Stats())
}

func TestBudgetTimeRefill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBudget(t, BudgetConfig{Capacity: 4, PerSecond: 2})
		for range 4 {
			require.True(t, b.withdrawNow(false))
		}
		require.False(t, b.withdrawNow(false))

		time.Sleep(499 * time.Millisecond)
		assert.Equal(t, 0.998, b.Tokens())
		assert.False(t, b.withdrawNow(false))
		time.Sleep(time.Millisecond)
		assert.Equal(t, 1.0, b.Tokens())
		assert.True(t, b.withdrawNow(false))

		time.Sleep(time.Hour)
		assert.Equal(t, 4.0, b.Tokens(), "time refill never exceeds the capacity")
		for range 4 {
			require.True(t, b.withdrawNow(false))
		}
		time.Sleep(250 * time.Millisecond)
		assert.Equal(t, 0.5, b.Tokens(), "a full bucket does not bank time")
	})
}

func TestBudgetRefillKeepsFractions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 3 tokens per second is 3 micro-tokens per microsecond: frequent
		// reads each a fraction of a micro-token apart must not lose time.
		b := mustBudget(t, BudgetConfig{Capacity: 1, PerSecond: 3})
		require.True(t, b.withdrawNow(false))
		for range 1_000_000 / 100 {
			time.Sleep(100 * time.Nanosecond) // 0.3 micro-tokens each
			b.Tokens()
		}
		assert.Equal(t, 0.003, b.Tokens(), "1ms at 3 tokens/s")
	})
}

func TestBudgetRefillArithmetic(t *testing.T) {
	b := mustBudget(t, BudgetConfig{Capacity: 1e12, PerSecond: 1e12})
	assert.True(t, b.fills(math.MaxInt64))
	assert.True(t, b.fills(uint64(time.Second)))
	assert.False(t, b.fills(uint64(time.Second-1)))
	// ⌊t·rate/1e9⌋ exceeds 2⁶⁴ here; the difference of marks stays exact.
	late := int64(math.MaxInt64 - int64(time.Hour))
	assert.Equal(t, uint64(1e15), b.mark(late+int64(time.Millisecond))-b.mark(late))

	small := mustBudget(t, BudgetConfig{Capacity: 10, PerSecond: 1e-6})
	assert.Equal(t, uint64(1), small.mark(int64(1500*time.Millisecond)), "one micro-token per second")
	assert.Equal(t, uint64(3), small.mark(int64(3*time.Second)))
}

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

// Many goroutines withdrawing and depositing at once never get more
// retries than the tokens allowed, and the bucket stays within bounds.
func TestBudgetConcurrent(t *testing.T) {
	const goroutines, rounds = 64, 500
	b := mustBudget(t, BudgetConfig{Capacity: 10, PerSuccess: 0.25})
	var granted, deposits atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range rounds {
				if (g+i)%3 == 0 {
					b.deposit()
					deposits.Add(1)
				} else if b.withdrawNow(false) {
					granted.Add(1)
				}
				if tok := b.tokens.Load(); tok < 0 || tok > b.capacity {
					t.Errorf("tokens out of bounds: %d", tok)
				}
			}
		})
	}
	wg.Wait()
	// Every granted retry was paid for by the initial tokens or a deposit.
	paid := b.capacity + deposits.Load()*b.perSuccess - b.tokens.Load()
	assert.LessOrEqual(t, granted.Load()*b.retryCost, paid)
	assert.Equal(t, uint64(granted.Load()), b.Stats().Allowed)
	assert.Equal(t, uint64(goroutines*rounds-deposits.Load()-granted.Load()), b.Stats().Denied)
}

// Goroutines that wake at the same virtual instants withdraw from a budget
// that refills with time: the refill is credited exactly once, so the
// retries granted are exactly those the initial tokens, the time refill
// and the deposits paid for.
func TestBudgetConcurrentRefill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const goroutines, rounds = 64, 200
		b := mustBudget(t, BudgetConfig{Capacity: 5, PerSecond: 1000, PerSuccess: 0.001}) // starved: time refill dominates
		start := time.Now()
		var granted, deposits atomic.Int64
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				for i := range rounds {
					time.Sleep(time.Duration(1+(g*7+i)%3) * time.Millisecond)
					if (g+i)%4 == 0 {
						b.deposit()
						deposits.Add(1)
					} else if b.withdrawNow(false) {
						granted.Add(1)
					}
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		b.Tokens()                                                 // credit the refill up to now
		refill := int64(elapsed/time.Millisecond) * microsPerToken // 1 token per ms
		available := b.capacity + refill + deposits.Load()*b.perSuccess
		spent := granted.Load() * b.retryCost
		assert.LessOrEqual(t, spent, available-b.tokens.Load(), "never more than the tokens allowed")
		assert.Positive(t, granted.Load())
		assert.Equal(t, uint64(granted.Load()), b.Stats().Allowed)
		assert.GreaterOrEqual(t, b.tokens.Load(), int64(0))
		assert.LessOrEqual(t, b.tokens.Load(), b.capacity)
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

// The Budget's hot fields share one cache line only if the Budget is
// exactly 192 bytes (a size class whose objects are 64-byte aligned) with
// them in its first 64; see the comment on its fields.
func TestBudgetLayout(t *testing.T) {
	var b Budget
	assert.Equal(t, uintptr(192), unsafe.Sizeof(b))
	assert.GreaterOrEqual(t, unsafe.Offsetof(b.tl), uintptr(64))
	assert.Less(t, unsafe.Offsetof(b.tl), uintptr(128))
	assert.GreaterOrEqual(t, unsafe.Offsetof(b.denied), uintptr(128), "refusals write their own line")
	for name, off := range map[string]uintptr{
		"tokens": unsafe.Offsetof(b.tokens), "allowed": unsafe.Offsetof(b.allowed), "last": unsafe.Offsetof(b.last),
		"threshold": unsafe.Offsetof(b.threshold), "retryCost": unsafe.Offsetof(b.retryCost),
		"timeoutCost": unsafe.Offsetof(b.timeoutCost), "capacity": unsafe.Offsetof(b.capacity), "rate": unsafe.Offsetof(b.rate),
	} {
		assert.Less(t, off, uintptr(64), name)
	}
	for range 100 {
		bu := mustBudget(t, BudgetConfig{Capacity: 1})
		assert.Zero(t, uintptr(unsafe.Pointer(bu))%64, "a 192-byte object starts on a 64-byte boundary")
	}
}

// gRFC A6 stops retrying once the tokens left would be at or below half:
// from 10 tokens, 4 retries (the 5th failure is not retried). Threshold
// Capacity/2 + 1e-6 reproduces it; Capacity/2 allows one more.
func TestBudgetGRPCThreshold(t *testing.T) {
	for threshold, retries := range map[float64]int{5 + 1e-6: 4, 5: 5} {
		b := mustBudget(t, BudgetConfig{Capacity: 10, Threshold: threshold})
		calls := 0
		err := Run(context.Background(), func(context.Context) error { calls++; return errProp },
			WithBudget(b), WithMaxAttempts(0), WithBackoff(Constant(0)))
		require.ErrorIs(t, err, ErrBudgetExhausted)
		assert.Equal(t, retries+1, calls, "threshold %v", threshold)
	}
}
