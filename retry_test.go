package retry_test

import (
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

var (
	errA = errors.New("a")
	errB = errors.New("b")
	errC = errors.New("c")
)

// script is an operation that returns its errors in order, one per call,
// then succeeds with the call number; it records every call.
type script struct {
	mu    sync.Mutex
	errs  []error
	calls int
}

func (s *script) op(context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.calls <= len(s.errs) {
		return s.calls, s.errs[s.calls-1]
	}
	return s.calls, nil
}

// failing is an operation that always fails with err; the value is the call
// number.
func failing(err error) *script {
	return &script{errs: repeat(err, math.MaxInt16)}
}

func repeat(err error, n int) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
}

// notes records the notify hook's calls.
type notes struct {
	mu  sync.Mutex
	all []retry.Attempt
}

func (n *notes) hook(_ context.Context, a retry.Attempt) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.all = append(n.all, a)
}

func (n *notes) delays() []time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	var ds []time.Duration
	for _, a := range n.all {
		ds = append(ds, a.Delay)
	}
	return ds
}

// timed runs Do (in a synctest bubble) and returns its results and the
// virtual time it took.
func timed(ctx context.Context, op func(context.Context) (int, error), opts ...retry.Option) (v int, took time.Duration, err error) {
	start := time.Now()
	v, err = retry.Do(ctx, op, opts...)
	return v, time.Since(start), err
}

// retryError returns err as a *retry.Error, failing t if it is not one.
func retryError(t *testing.T, err error) *retry.Error {
	t.Helper()
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	return re
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestDefaults(t *testing.T) {
	assert.Equal(t, 4, retry.DefaultMaxAttempts)
	assert.Equal(t, 100*time.Millisecond, retry.DefaultInitial)
	assert.Equal(t, 2.0, retry.DefaultMultiplier)
	assert.Equal(t, 30*time.Second, retry.DefaultMaxDelay)
	assert.Equal(t, retry.FullJitter, retry.DefaultJitter)

	t.Run("4 attempts, 100ms 200ms 400ms without jitter", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := failing(io.EOF)
			var n notes
			_, took, err := timed(t.Context(), s.op, retry.WithJitter(retry.NoJitter), retry.WithNotify(n.hook))
			require.ErrorIs(t, err, retry.ErrExhausted)
			assert.Equal(t, 4, s.calls)
			assert.Equal(t, []time.Duration{ms(100), ms(200), ms(400)}, n.delays())
			assert.Equal(t, ms(700), took)
		})
	})
	t.Run("full jitter: each wait in [0, base], and they differ", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var total time.Duration
			for range 20 {
				var n notes
				_, took, err := timed(t.Context(), failing(io.EOF).op, retry.WithNotify(n.hook))
				require.ErrorIs(t, err, retry.ErrExhausted)
				ds := n.delays()
				require.Len(t, ds, 3)
				var sum time.Duration
				for i, d := range ds {
					assert.GreaterOrEqual(t, d, time.Duration(0))
					assert.LessOrEqual(t, d, ms(100)<<i)
					sum += d
				}
				assert.Equal(t, sum, took, "the loop waits exactly what it announced")
				total += sum
			}
			assert.NotEqual(t, time.Duration(0), total)
			assert.Less(t, total, 20*ms(700), "20 runs of full jitter never all draw the maximum")
		})
	})
	t.Run("capped at 30s", func(t *testing.T) {
		p, err := retry.NewPolicy(retry.WithJitter(retry.NoJitter))
		require.NoError(t, err)
		waits := p.Schedule(12)
		assert.Equal(t, ms(100)<<8, waits[8])     // 25.6s
		assert.Equal(t, 30*time.Second, waits[9]) // 51.2s, capped
		assert.Equal(t, 30*time.Second, waits[11])
	})
	t.Run("every error is retried except Permanent", func(t *testing.T) {
		s := &script{errs: []error{io.EOF, context.DeadlineExceeded, errA}}
		v, err := retry.Do(context.Background(), s.op, retry.WithBackoff(retry.Constant(0)))
		require.NoError(t, err)
		assert.Equal(t, 4, v)
	})
}

func TestDelayOrder(t *testing.T) {
	// Strategy, then the cap, then jitter: a capped delay stays jittered.
	tests := []struct {
		name   string
		jitter retry.Jitter
		lo, hi time.Duration // bounds of every capped wait
	}{
		{"none", retry.NoJitter, 5 * time.Second, 5 * time.Second},
		{"full", retry.FullJitter, 0, 5 * time.Second},
		{"equal", retry.EqualJitter, 2500 * time.Millisecond, 5 * time.Second},
		{"proportional 0.5, clamped to the cap", retry.ProportionalJitter(0.5), 2500 * time.Millisecond, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := retry.NewPolicy(retry.WithBackoff(retry.Exponential(10*time.Second, 2)),
				retry.WithMaxDelay(5*time.Second), retry.WithJitter(tt.jitter),
				retry.WithRand(rand.New(rand.NewPCG(1, 2))))
			require.NoError(t, err)
			waits := p.Schedule(200)
			distinct := map[time.Duration]bool{}
			for _, w := range waits {
				require.GreaterOrEqual(t, w, tt.lo)
				require.LessOrEqual(t, w, tt.hi)
				distinct[w] = true
			}
			if tt.lo != tt.hi {
				assert.Greater(t, len(distinct), 50, "a capped delay is still jittered")
			}
		})
	}
}

func TestNeverSleepsAfterTheLastAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := failing(errA)
		_, took, err := timed(t.Context(), s.op, retry.WithMaxAttempts(3),
			retry.WithBackoff(retry.Constant(time.Second)), retry.WithJitter(retry.NoJitter))
		require.ErrorIs(t, err, retry.ErrExhausted)
		assert.Equal(t, 3, s.calls)
		assert.Equal(t, 2*time.Second, took, "two waits between three attempts, none after")
	})
}

func TestDeadlinesAndElapsedLimit(t *testing.T) {
	// Constant 100ms waits, attempts take no time: attempts at 0, 100, 200...
	tests := []struct {
		name    string
		timeout time.Duration // context timeout, 0 for none
		elapsed time.Duration // WithMaxElapsed, 0 for none
		reason  error
		calls   int
		took    time.Duration
	}{
		{"the wait that would end past the deadline is not started", ms(250), 0, context.DeadlineExceeded, 3, ms(200)},
		{"a wait ending exactly at the deadline is not started", ms(200), 0, context.DeadlineExceeded, 2, ms(100)},
		{"the wait that would end past the elapsed limit is not started", 0, ms(250), retry.ErrMaxElapsed, 3, ms(200)},
		{"a wait ending exactly at the elapsed limit is not started", 0, ms(200), retry.ErrMaxElapsed, 2, ms(100)},
		{"the nearer bound wins: elapsed", ms(500), ms(250), retry.ErrMaxElapsed, 3, ms(200)},
		{"the nearer bound wins: deadline", ms(250), ms(500), context.DeadlineExceeded, 3, ms(200)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := t.Context()
				if tt.timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tt.timeout)
					defer cancel()
				}
				s := failing(errA)
				last, took, err := timed(ctx, s.op, retry.WithMaxAttempts(0), retry.WithMaxElapsed(tt.elapsed),
					retry.WithBackoff(retry.Constant(ms(100))), retry.WithJitter(retry.NoJitter))
				re := retryError(t, err)
				assert.ErrorIs(t, re.Reason, tt.reason)
				assert.ErrorIs(t, err, errA)
				assert.Equal(t, tt.calls, s.calls)
				assert.Equal(t, tt.calls, re.Attempts)
				assert.Equal(t, tt.calls, last, "the last value comes back")
				assert.Equal(t, tt.took, took, "returns at once, without waiting for the deadline")
			})
		})
	}
}

func TestServerHints(t *testing.T) {
	hinted := func(d time.Duration) *script {
		return &script{errs: []error{retry.After(d, errA), retry.After(d, errA)}}
	}
	t.Run("the hint plus a full-jitter spread of the base", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			for range 20 {
				var n notes
				v, took, err := timed(t.Context(), hinted(2*time.Second).op, retry.WithNotify(n.hook))
				require.NoError(t, err)
				assert.Equal(t, 3, v)
				ds := n.delays()
				require.Len(t, ds, 2)
				assert.GreaterOrEqual(t, ds[0], 2*time.Second)
				assert.LessOrEqual(t, ds[0], 2*time.Second+ms(100))
				assert.GreaterOrEqual(t, ds[1], 2*time.Second)
				assert.LessOrEqual(t, ds[1], 2*time.Second+ms(200))
				assert.Equal(t, ds[0]+ds[1], took)
			}
		})
	})
	for name, opt := range map[string]retry.Option{
		"exactly the hint with WithExactHints": retry.WithExactHints(),
		"exactly the hint with NoJitter":       retry.WithJitter(retry.NoJitter),
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var n notes
				_, took, err := timed(t.Context(), hinted(2*time.Second).op, opt, retry.WithNotify(n.hook))
				require.NoError(t, err)
				assert.Equal(t, []time.Duration{2 * time.Second, 2 * time.Second}, n.delays())
				assert.Equal(t, 4*time.Second, took)
			})
		})
	}
	t.Run("a hint beyond the maximum delay stops the loop", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := hinted(time.Minute)
			v, took, err := timed(t.Context(), s.op, retry.WithMaxDelay(10*time.Second))
			re := retryError(t, err)
			assert.ErrorIs(t, err, retry.ErrHintTooLong)
			assert.ErrorIs(t, err, errA)
			assert.Equal(t, time.Minute, re.RetryAfter)
			assert.Equal(t, errA, re.Last, "the After wrapper is removed")
			assert.Equal(t, 1, v)
			assert.Equal(t, 1, s.calls)
			assert.Zero(t, took)
			assert.Contains(t, err.Error(), "server asked to wait 1m0s")
		})
	})
	t.Run("a hint equal to the maximum delay is obeyed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			_, took, err := timed(t.Context(), hinted(10*time.Second).op, retry.WithMaxDelay(10*time.Second))
			require.NoError(t, err)
			assert.Equal(t, 20*time.Second, took, "the spread never takes the wait past the cap... or below the hint")
		})
	})
	t.Run("a hint past the deadline stops at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			_, took, err := timed(ctx, hinted(10*time.Second).op)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Equal(t, 10*time.Second, retryError(t, err).RetryAfter)
			assert.Zero(t, took)
		})
	})
	t.Run("a hint on the last attempt is reported, not waited for", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			_, took, err := timed(t.Context(), hinted(time.Second).op, retry.WithMaxAttempts(1))
			require.ErrorIs(t, err, retry.ErrExhausted)
			assert.Equal(t, time.Second, retryError(t, err).RetryAfter)
			assert.Zero(t, took)
		})
	})
	t.Run("a negative hint is no wait", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			_, took, err := timed(t.Context(), hinted(-time.Hour).op, retry.WithExactHints())
			require.NoError(t, err)
			assert.Zero(t, took)
		})
	})
}

func TestStrategiesSaturate(t *testing.T) {
	tests := []struct {
		name string
		s    retry.Strategy
		n    int
		want time.Duration
	}{
		{"exponential 1h ×10 at retry 1000", retry.Exponential(time.Hour, 10), 1000, math.MaxInt64},
		{"exponential at retry MaxInt", retry.Exponential(time.Millisecond, 1.5), math.MaxInt, math.MaxInt64},
		{"exponential ×1 stays flat", retry.Exponential(time.Second, 1), 1 << 40, time.Second},
		{"linear at retry MaxInt", retry.Linear(time.Hour, time.Hour), math.MaxInt, math.MaxInt64},
		{"linear step 0", retry.Linear(time.Second, 0), math.MaxInt, time.Second},
		{"fibonacci at retry 10000", retry.Fibonacci(time.Hour), 10000, math.MaxInt64},
		{"fibonacci 1, 1, 2, 3, 5: retry 5", retry.Fibonacci(time.Second), 5, 5 * time.Second},
		{"linear: initial + (n-1) step", retry.Linear(time.Second, 2*time.Second), 3, 5 * time.Second},
		{"exponential: initial × m^(n-1)", retry.Exponential(time.Second, 3), 3, 9 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.s.Delay(tt.n))
		})
	}
	t.Run("through the loop, uncapped, nothing is negative", func(t *testing.T) {
		p, err := retry.NewPolicy(retry.WithBackoff(retry.Exponential(time.Hour, 10)), retry.WithMaxDelay(0),
			retry.WithJitter(retry.EqualJitter))
		require.NoError(t, err)
		for i, w := range p.Schedule(1000) {
			require.GreaterOrEqual(t, w, time.Duration(0), "retry %d", i+1)
		}
	})
	t.Run("a user strategy's negative delay is no wait", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			neg := retry.StrategyFunc(func(int) time.Duration { return -time.Hour })
			for _, j := range []retry.Jitter{retry.NoJitter, retry.FullJitter, retry.DecorrelatedJitter, retry.ProportionalJitter(1)} {
				s := failing(errA)
				_, took, err := timed(t.Context(), s.op, retry.WithBackoff(neg), retry.WithJitter(j))
				require.ErrorIs(t, err, retry.ErrExhausted)
				assert.Equal(t, 4, s.calls)
				assert.Zero(t, took, "jitter %v", j)
			}
		})
	})
}

func TestInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		opt  retry.Option
	}{
		{"negative attempts", retry.WithMaxAttempts(-1)},
		{"negative max elapsed", retry.WithMaxElapsed(-time.Second)},
		{"negative attempt timeout", retry.WithAttemptTimeout(-1)},
		{"negative max delay", retry.WithMaxDelay(-time.Nanosecond)},
		{"nil strategy", retry.WithBackoff(nil)},
		{"negative constant", retry.WithBackoff(retry.Constant(-1))},
		{"negative linear initial", retry.WithBackoff(retry.Linear(-1, time.Second))},
		{"negative linear step", retry.WithBackoff(retry.Linear(time.Second, -1))},
		{"negative exponential initial", retry.WithBackoff(retry.Exponential(-time.Second, 2))},
		{"multiplier below 1", retry.WithBackoff(retry.Exponential(time.Second, 0.5))},
		{"multiplier 0", retry.WithBackoff(retry.Exponential(time.Second, 0))},
		{"multiplier NaN", retry.WithBackoff(retry.Exponential(time.Second, math.NaN()))},
		{"multiplier +Inf", retry.WithBackoff(retry.Exponential(time.Second, math.Inf(1)))},
		{"multiplier -Inf", retry.WithBackoff(retry.Exponential(time.Second, math.Inf(-1)))},
		{"negative fibonacci unit", retry.WithBackoff(retry.Fibonacci(-1))},
		{"proportional fraction below 0", retry.WithJitter(retry.ProportionalJitter(-0.01))},
		{"proportional fraction above 1", retry.WithJitter(retry.ProportionalJitter(1.01))},
		{"proportional fraction NaN", retry.WithJitter(retry.ProportionalJitter(math.NaN()))},
		{"proportional fraction +Inf", retry.WithJitter(retry.ProportionalJitter(math.Inf(1)))},
		{"unknown jitter", retry.WithJitter(retry.Jitter(99))},
		{"nil rand", retry.WithRand(nil)},
		{"nil classifier", retry.WithClassifier(retry.StopOn(errA), nil)},
		{"RetryIf with a nil predicate", retry.WithClassifier(retry.RetryIf(nil))},
		{"a Budget not made by NewBudget", retry.WithBudget(new(retry.Budget))},
		{"a Breaker not made by NewBreaker", retry.WithBreaker(new(retry.Breaker))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &script{}
			ctx := context.Background()
			for _, opts := range [][]retry.Option{
				{tt.opt},
				{tt.opt, retry.WithMaxAttempts(3)}, // a later valid option does not hide it
				{retry.WithMaxAttempts(3), tt.opt},
			} {
				_, err := retry.Do(ctx, s.op, opts...)
				require.ErrorIs(t, err, retry.ErrInvalidConfig)
				assert.Zero(t, retryError(t, err).Attempts)
				require.ErrorIs(t, retry.Run(ctx, func(context.Context) error { s.calls++; return nil }, opts...), retry.ErrInvalidConfig)
				_, err = retry.NewPolicy(opts...)
				require.ErrorIs(t, err, retry.ErrInvalidConfig)
			}
			p, err := retry.NewPolicy()
			require.NoError(t, err)
			_, err = p.With(tt.opt)
			require.ErrorIs(t, err, retry.ErrInvalidConfig)
			// An invalid option before a policy is not silently dropped.
			_, err = retry.Do(ctx, s.op, tt.opt, p)
			require.ErrorIs(t, err, retry.ErrInvalidConfig)
			assert.Zero(t, s.calls, "op is never called")
		})
	}
	t.Run("the message names the option", func(t *testing.T) {
		_, err := retry.NewPolicy(retry.WithMaxAttempts(-3))
		assert.ErrorContains(t, err, "WithMaxAttempts")
		assert.ErrorContains(t, err, "-3")
	})
	t.Run("nil op and nil context", func(t *testing.T) {
		var nilCtx context.Context
		_, err := retry.Do[int](context.Background(), nil)
		require.ErrorIs(t, err, retry.ErrInvalidConfig)
		require.ErrorIs(t, retry.Run(context.Background(), nil), retry.ErrInvalidConfig)
		s := &script{}
		_, err = retry.Do(nilCtx, s.op)
		require.ErrorIs(t, err, retry.ErrInvalidConfig)
		p, perr := retry.NewPolicy()
		require.NoError(t, perr)
		_, err = retry.Do(nilCtx, s.op, p)
		require.ErrorIs(t, err, retry.ErrInvalidConfig)
		_, err = retry.Do[int](context.Background(), nil, p)
		require.ErrorIs(t, err, retry.ErrInvalidConfig)
		assert.Zero(t, s.calls)
	})
	t.Run("zero limits mean no limit and are valid", func(t *testing.T) {
		_, err := retry.NewPolicy(retry.WithMaxAttempts(0), retry.WithMaxElapsed(0), retry.WithAttemptTimeout(0),
			retry.WithMaxDelay(0), retry.WithBackoff(retry.Constant(0)), retry.WithJitter(retry.ProportionalJitter(0)),
			retry.WithJitter(retry.ProportionalJitter(1)), retry.WithNotify(nil), retry.WithClassifier())
		require.NoError(t, err)
	})
}

func TestAttemptTimeout(t *testing.T) {
	// blocking waits for its context the first n calls, then succeeds.
	blocking := func(n int, calls *int) func(context.Context) (int, error) {
		return func(ctx context.Context) (int, error) {
			*calls++
			if *calls <= n {
				<-ctx.Done()
				return 0, ctx.Err()
			}
			return *calls, nil
		}
	}
	noJitter := []retry.Option{retry.WithBackoff(retry.Constant(ms(100))), retry.WithJitter(retry.NoJitter)}

	t.Run("an attempt that times out is retried", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			calls := 0
			v, took, err := timed(t.Context(), blocking(2, &calls), append(noJitter, retry.WithAttemptTimeout(time.Second))...)
			require.NoError(t, err)
			assert.Equal(t, 3, v)
			assert.Equal(t, time.Second+ms(100)+time.Second+ms(100), took)
		})
	})
	t.Run("even when a classifier would stop on DeadlineExceeded", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			calls := 0
			_, _, err := timed(t.Context(), blocking(1, &calls), append(noJitter, retry.WithAttemptTimeout(time.Second),
				retry.WithClassifier(retry.StopOn(context.DeadlineExceeded)))...)
			require.NoError(t, err)
			assert.Equal(t, 2, calls)
		})
	})
	t.Run("every attempt timing out exhausts the attempts", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			calls := 0
			_, took, err := timed(t.Context(), blocking(10, &calls), append(noJitter, retry.WithAttemptTimeout(time.Second))...)
			require.ErrorIs(t, err, retry.ErrExhausted)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Equal(t, 4, calls)
			assert.Equal(t, 4*time.Second+3*ms(100), took)
		})
	})
	t.Run("the caller's deadline during an attempt ends the loop", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), ms(500))
			defer cancel()
			calls := 0
			_, took, err := timed(ctx, blocking(10, &calls), append(noJitter, retry.WithAttemptTimeout(time.Second))...)
			re := retryError(t, err)
			assert.ErrorIs(t, re.Reason, context.DeadlineExceeded)
			assert.Equal(t, 1, calls)
			assert.Equal(t, ms(500), took)
		})
	})
	t.Run("the caller's cancellation during an attempt ends the loop at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cause := errors.New("caller gave up")
			ctx, cancel := context.WithCancelCause(t.Context())
			time.AfterFunc(ms(300), func() { cancel(cause) })
			calls := 0
			_, took, err := timed(ctx, blocking(10, &calls), noJitter...)
			re := retryError(t, err)
			assert.Equal(t, cause, re.Reason)
			assert.ErrorIs(t, err, context.Canceled, "the op's own error is the last error")
			assert.Equal(t, 1, calls)
			assert.Equal(t, ms(300), took)
		})
	})
	t.Run("the caller's cancellation during a wait cuts it short", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cause := errors.New("shutting down")
			ctx, cancel := context.WithCancelCause(t.Context())
			time.AfterFunc(3*time.Second, func() { cancel(cause) })
			s := failing(errA)
			v, took, err := timed(ctx, s.op, retry.WithBackoff(retry.Constant(10*time.Second)), retry.WithJitter(retry.NoJitter))
			re := retryError(t, err)
			assert.Equal(t, cause, re.Reason)
			assert.ErrorIs(t, err, errA)
			assert.Equal(t, 1, re.Attempts)
			assert.Equal(t, 1, v)
			assert.Equal(t, 3*time.Second, took)
		})
	})
	t.Run("a context already done: op is never called", func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(context.Background())
		cause := errors.New("too late")
		cancel(cause)
		s := &script{}
		_, err := retry.Do(ctx, s.op)
		assert.Equal(t, cause, retryError(t, err).Reason)
		p, perr := retry.NewPolicy()
		require.NoError(t, perr)
		_, err = retry.Do(ctx, s.op, p)
		assert.Equal(t, cause, retryError(t, err).Reason)
		assert.Zero(t, s.calls)
	})
	t.Run("op sees the caller's context without an attempt timeout", func(t *testing.T) {
		type key struct{}
		ctx := context.WithValue(context.Background(), key{}, "v")
		_, err := retry.Do(ctx, func(got context.Context) (int, error) {
			assert.Equal(t, ctx, got)
			return 0, nil
		})
		require.NoError(t, err)
	})
}

func TestNotify(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{errs: []error{errA, retry.After(time.Second, errB), errC}}
		var n notes
		v, took, err := timed(t.Context(), s.op, retry.WithJitter(retry.NoJitter), retry.WithNotify(n.hook))
		require.NoError(t, err)
		assert.Equal(t, 4, v)
		assert.Equal(t, []retry.Attempt{
			{Number: 1, Err: errA, Delay: ms(100), Elapsed: 0},
			{Number: 2, Err: errB, Delay: time.Second, Elapsed: ms(100)},
			{Number: 3, Err: errC, Delay: ms(400), Elapsed: ms(1100)},
		}, n.all)
		assert.Equal(t, ms(1500), took)
	})
	t.Run("never when the loop stops", func(t *testing.T) {
		for name, s := range map[string]*script{
			"exhausted": failing(errA),
			"permanent": {errs: []error{errA, retry.Permanent(errB)}},
		} {
			var n notes
			_, err := retry.Do(context.Background(), s.op, retry.WithMaxAttempts(2),
				retry.WithBackoff(retry.Constant(0)), retry.WithNotify(n.hook))
			require.Error(t, err, name)
			assert.Len(t, n.all, 1, name)
		}
	})
	t.Run("the hook sees the caller's context", func(t *testing.T) {
		type key struct{}
		ctx := context.WithValue(context.Background(), key{}, 7)
		seen := 0
		_, err := retry.Do(ctx, (&script{errs: []error{errA}}).op, retry.WithBackoff(retry.Constant(0)),
			retry.WithNotify(func(ctx context.Context, _ retry.Attempt) { seen = ctx.Value(key{}).(int) }))
		require.NoError(t, err)
		assert.Equal(t, 7, seen)
	})
}

func TestErrorShape(t *testing.T) {
	s := &script{errs: []error{errA, errB, retry.Permanent(io.ErrUnexpectedEOF)}}
	v, err := retry.Do(context.Background(), s.op, retry.WithBackoff(retry.Constant(0)))
	assert.Equal(t, 3, v, "the last value op returned")
	re := retryError(t, err)
	assert.Equal(t, 3, re.Attempts)
	assert.Equal(t, io.ErrUnexpectedEOF, re.Last, "the Permanent wrapper is removed")
	assert.Equal(t, retry.ErrPermanent, re.Reason)
	assert.Zero(t, re.RetryAfter)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	assert.ErrorIs(t, err, retry.ErrPermanent)
	assert.NotErrorIs(t, err, retry.ErrExhausted)
	assert.NotErrorIs(t, err, errA, "only the last error is kept")
	assert.Equal(t, "retry: permanent error after 3 attempts: unexpected EOF", err.Error())

	t.Run("every reason is a distinct sentinel", func(t *testing.T) {
		sentinels := []error{retry.ErrExhausted, retry.ErrMaxElapsed, retry.ErrPermanent, retry.ErrBudgetExhausted,
			retry.ErrCircuitOpen, retry.ErrHintTooLong, retry.ErrInvalidConfig}
		for i, a := range sentinels {
			for j, b := range sentinels {
				assert.Equal(t, i == j, errors.Is(a, b), "%v vs %v", a, b)
			}
		}
		assert.Contains(t, retry.ErrBudgetExhausted.Error(), "client")
	})
	t.Run("errors.As reaches the operation's own error type", func(t *testing.T) {
		want := &customErr{code: 7}
		_, err := retry.Do(context.Background(), failing(want).op, retry.WithMaxAttempts(1))
		var got *customErr
		require.ErrorAs(t, err, &got)
		assert.Equal(t, 7, got.code)
	})
}

type customErr struct{ code int }

func (e *customErr) Error() string { return "custom" }

// selfErr decides for itself whether it is retryable.
type selfErr struct{ retryable bool }

func (e selfErr) Error() string   { return "self" }
func (e selfErr) Retryable() bool { return e.retryable }

func TestClassification(t *testing.T) {
	wrapped := func(err error) error { return errors.Join(errors.New("context"), err) }
	tests := []struct {
		name    string
		opts    []retry.Option
		err     error
		retried bool
	}{
		{"default: retried", nil, errA, true},
		{"RetryOn: a match is retried", []retry.Option{retry.WithClassifier(retry.RetryOn(errA, errB))}, errB, true},
		{"RetryOn: a wrapped match is retried", []retry.Option{retry.WithClassifier(retry.RetryOn(errA))}, wrapped(errA), true},
		{"RetryOn: anything else stops", []retry.Option{retry.WithClassifier(retry.RetryOn(errA))}, errC, false},
		{"RetryOn with nothing stops everything", []retry.Option{retry.WithClassifier(retry.RetryOn())}, errA, false},
		{"StopOn: a match stops", []retry.Option{retry.WithClassifier(retry.StopOn(errA))}, errA, false},
		{"StopOn: anything else is retried", []retry.Option{retry.WithClassifier(retry.StopOn(errA))}, errB, true},
		{"RetryIf true", []retry.Option{retry.WithClassifier(retry.RetryIf(func(err error) bool { return err == errA }))}, errA, true},
		{"RetryIf false", []retry.Option{retry.WithClassifier(retry.RetryIf(func(err error) bool { return err == errA }))}, errB, false},
		{"chain: the first decision wins", []retry.Option{retry.WithClassifier(retry.StopOn(errA), retry.RetryOn(errA))}, errA, false},
		{"chain: undecided passes on", []retry.Option{retry.WithClassifier(retry.StopOn(errB), retry.RetryOn(errC))}, errA, false},
		{"chain: undecided passes on, then retried", []retry.Option{retry.WithClassifier(retry.StopOn(errB), retry.RetryOn(errA))}, errA, true},
		{"WithClassifier replaces the chain", []retry.Option{retry.WithClassifier(retry.StopOn(errA)), retry.WithClassifier()}, errA, true},
		{"Permanent beats RetryOn", []retry.Option{retry.WithClassifier(retry.RetryOn(errA))}, retry.Permanent(errA), false},
		{"Permanent deep in the chain", nil, wrapped(retry.Permanent(errA)), false},
		{"After beats StopOn", []retry.Option{retry.WithClassifier(retry.StopOn(errA))}, retry.After(0, errA), true},
		{"self-classifying: not retryable", nil, selfErr{false}, false},
		{"self-classifying: retryable", nil, selfErr{true}, true},
		{"self-classifying, wrapped", nil, wrapped(selfErr{false}), false},
		{"a classifier decides before the error itself", []retry.Option{retry.WithClassifier(retry.RetryOn(selfErr{false}))}, selfErr{false}, true},
		{"an undecided chain leaves it to the error", []retry.Option{retry.WithClassifier(retry.StopOn(errB))}, selfErr{false}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &script{errs: []error{tt.err}}
			opts := append([]retry.Option{retry.WithBackoff(retry.Constant(0))}, tt.opts...)
			_, err := retry.Do(context.Background(), s.op, opts...)
			if tt.retried {
				require.NoError(t, err)
				assert.Equal(t, 2, s.calls)
				return
			}
			require.ErrorIs(t, err, retry.ErrPermanent)
			assert.Equal(t, 1, s.calls)
		})
	}
	t.Run("nil in, nil out", func(t *testing.T) {
		assert.NoError(t, retry.Permanent(nil))
		assert.NoError(t, retry.After(time.Second, nil))
	})
	t.Run("the wrappers keep the message and the chain", func(t *testing.T) {
		p, a := retry.Permanent(io.EOF), retry.After(time.Second, io.EOF)
		assert.Equal(t, "EOF", p.Error())
		assert.Equal(t, "EOF", a.Error())
		assert.ErrorIs(t, p, io.EOF)
		assert.ErrorIs(t, a, io.EOF)
	})
	t.Run("Decision strings", func(t *testing.T) {
		assert.Equal(t, "undecided", retry.Undecided.String())
		assert.Equal(t, "retryable", retry.Retryable.String())
		assert.Equal(t, "terminal", retry.Terminal.String())
		assert.Equal(t, "Decision(9)", retry.Decision(9).String())
	})
}

func TestOptionsAndPolicies(t *testing.T) {
	ctx := context.Background()
	calls := func(opts ...retry.Option) int {
		t.Helper()
		s := failing(errA)
		_, err := retry.Do(ctx, s.op, append([]retry.Option{retry.WithBackoff(retry.Constant(0))}, opts...)...)
		require.Error(t, err)
		return s.calls
	}
	p5, err := retry.NewPolicy(retry.WithMaxAttempts(5), retry.WithBackoff(retry.Constant(0)))
	require.NoError(t, err)

	assert.Equal(t, 3, calls(retry.WithMaxAttempts(2), retry.WithMaxAttempts(3)), "later options override earlier ones")
	assert.Equal(t, 5, calls(retry.WithMaxAttempts(2), p5), "a policy replaces what came before it")
	assert.Equal(t, 2, calls(p5, retry.WithMaxAttempts(2)), "options after a policy override it")

	p2, err := p5.With(retry.WithMaxAttempts(2))
	require.NoError(t, err)
	assert.Equal(t, 2, calls(p2))
	assert.Equal(t, 5, calls(p5), "With leaves its parent unchanged")

	t.Run("Schedule", func(t *testing.T) {
		p, err := retry.NewPolicy(retry.WithBackoff(retry.Linear(time.Second, time.Second)),
			retry.WithMaxDelay(3*time.Second), retry.WithJitter(retry.NoJitter))
		require.NoError(t, err)
		assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}, p.Schedule(4))
		assert.Empty(t, p.Schedule(0))
		assert.Empty(t, p.Schedule(-1))
	})
	t.Run("a shared policy under concurrency", func(t *testing.T) {
		p, err := retry.NewPolicy(retry.WithBackoff(retry.Constant(0)), retry.WithRand(rand.New(rand.NewPCG(3, 4))),
			retry.WithJitter(retry.FullJitter))
		require.NoError(t, err)
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				s := &script{errs: []error{errA, errB}}
				v, err := retry.Do(ctx, s.op, p)
				assert.NoError(t, err)
				assert.Equal(t, 3, v)
			})
		}
		wg.Wait()
	})
	t.Run("Run", func(t *testing.T) {
		n := 0
		err := retry.Run(ctx, func(context.Context) error {
			n++
			if n < 3 {
				return errA
			}
			return nil
		}, retry.WithBackoff(retry.Constant(0)))
		require.NoError(t, err)
		assert.Equal(t, 3, n)
		err = retry.Run(ctx, func(context.Context) error { return errA }, retry.WithBackoff(retry.Constant(0)))
		require.ErrorIs(t, err, retry.ErrExhausted)
		assert.Equal(t, 4, retryError(t, err).Attempts)
	})
}

func TestSeededRandIsReproducible(t *testing.T) {
	for _, j := range []retry.Jitter{retry.FullJitter, retry.EqualJitter, retry.DecorrelatedJitter, retry.ProportionalJitter(0.3)} {
		t.Run(j.String(), func(t *testing.T) {
			waits := func() []time.Duration {
				var ds []time.Duration
				synctest.Test(t, func(t *testing.T) {
					var n notes
					_, err := retry.Do(t.Context(), failing(errA).op, retry.WithMaxAttempts(8), retry.WithJitter(j),
						retry.WithRand(rand.New(rand.NewPCG(42, 7))), retry.WithNotify(n.hook))
					require.ErrorIs(t, err, retry.ErrExhausted)
					ds = n.delays()
				})
				return ds
			}
			first, second := waits(), waits()
			require.Len(t, first, 7)
			assert.Equal(t, first, second)
			p, err := retry.NewPolicy(retry.WithJitter(j), retry.WithRand(rand.New(rand.NewPCG(42, 7))))
			require.NoError(t, err)
			assert.Equal(t, first, p.Schedule(7), "Schedule draws what Do draws")
		})
	}
}

func TestTimers(t *testing.T) {
	t.Run("zero waits take no time and allocate nothing", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, err := retry.NewPolicy(retry.WithBackoff(retry.Constant(0)))
			require.NoError(t, err)
			ctx := t.Context()
			s := &script{}
			op := func(ctx context.Context) (int, error) {
				if s.calls++; s.calls%4 != 0 {
					return 0, errA
				}
				return 1, nil
			}
			start := time.Now()
			allocs := testing.AllocsPerRun(100, func() {
				if _, err := retry.Do(ctx, op, p); err != nil {
					t.Fatal(err)
				}
			})
			assert.Zero(t, allocs, "no timer, no error, nothing on the heap")
			assert.Zero(t, time.Since(start))
		})
	})
	t.Run("one timer per call, however many waits", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx := t.Context()
			allocsFor := func(retries int) float64 {
				p, err := retry.NewPolicy(retry.WithMaxAttempts(retries+1), retry.WithBackoff(retry.Constant(time.Millisecond)),
					retry.WithJitter(retry.NoJitter))
				require.NoError(t, err)
				return testing.AllocsPerRun(50, func() {
					s := &script{errs: repeat(errA, retries)}
					if _, err := retry.Do(ctx, s.op, p); err != nil {
						t.Fatal(err)
					}
				})
			}
			one, eight := allocsFor(1), allocsFor(8)
			assert.Positive(t, one, "a real wait needs a timer")
			assert.Equal(t, one, eight, "eight waits reuse the first wait's timer")
		})
	})
}

func TestJitterString(t *testing.T) {
	for j, want := range map[retry.Jitter]string{
		retry.NoJitter:                 "none",
		retry.FullJitter:               "full",
		retry.EqualJitter:              "equal",
		retry.DecorrelatedJitter:       "decorrelated",
		retry.ProportionalJitter(0.25): "proportional:0.25",
		retry.ProportionalJitter(0):    "proportional:0",
		retry.ProportionalJitter(1):    "proportional:1",
	} {
		assert.Equal(t, want, j.String())
	}
	assert.Contains(t, retry.Jitter(99).String(), "invalid")
}
