package retry

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// panicky is an error whose Retryable method panics.
type panicky struct{}

func (panicky) Error() string   { return "panicky" }
func (panicky) Retryable() bool { panic("Retryable panicked") }

// openThenWait fails one attempt through b (threshold 1) and waits out its
// recovery timeout, so that the next attempt is a half-open probe. It is
// called only inside a synctest bubble: the wait is virtual.
func openThenWait(t *testing.T, b *Breaker, recovery time.Duration) {
	t.Helper()
	require.Error(t, Run(context.Background(), func(context.Context) error { return errProp }, WithBreaker(b), WithMaxAttempts(1)))
	require.Equal(t, BreakerOpen, b.State())
	time.Sleep(recovery)
	require.Equal(t, BreakerHalfOpen, b.State())
}

// A classifier or a Retryable method that panics while judging a half-open
// probe's error frees the probe's slot: the breaker does not refuse every
// later call for good.
func TestProbeSlotFreedWhenJudgingPanics(t *testing.T) {
	cases := map[string]func(b *Breaker){
		"classifier through Do": func(b *Breaker) {
			_ = Run(context.Background(), func(context.Context) error { return errProp }, WithBreaker(b),
				WithClassifier(func(error) Class { panic("classifier panicked") }))
		},
		"Retryable through Do": func(b *Breaker) {
			_ = Run(context.Background(), func(context.Context) error { return panicky{} }, WithBreaker(b))
		},
		"Retryable through Breaker.Run": func(b *Breaker) {
			_ = b.Run(context.Background(), func(context.Context) error { return panicky{} })
		},
	}
	for name, call := range cases {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := mustBreaker(t, BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second})
				openThenWait(t, b, time.Second)
				assert.Panics(t, func() { call(b) })
				assert.Equal(t, BreakerHalfOpen, b.State(), "the panic counted as nothing")
				require.NoError(t, b.Run(context.Background(), func(context.Context) error { return nil }),
					"the probe slot is free again")
				assert.Equal(t, BreakerClosed, b.State())
			})
		})
	}
}

// A recovery timeout near the largest duration saturates: the breaker stays
// open instead of wrapping its deadline into the past. The trip comes an
// hour after the breaker's first instant, so that instant + the timeout
// would overflow.
func TestHugeRecoveryTimeoutStaysOpen(t *testing.T) {
	br := mustBreaker(t, BreakerConfig{FailureRate: 1, MinimumCalls: 1, Window: 10 * time.Second, RecoveryTimeout: math.MaxInt64})
	p, err := NewPolicy(WithBreaker(br), WithMaxAttempts(1))
	require.NoError(t, err)
	ctx, t0 := context.Background(), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	_, pr, err := p.Begin(ctx, Progress{}, t0)
	require.NoError(t, err)
	require.NoError(t, p.Succeeded(ctx, pr, t0))
	_, pr, err = p.Begin(ctx, Progress{}, t0.Add(time.Hour))
	require.NoError(t, err)
	require.ErrorIs(t, p.Failed(ctx, pr, errProp, t0.Add(time.Hour)).Err, ErrExhausted)
	for _, later := range []time.Duration{time.Second, 24 * time.Hour, 100 * 365 * 24 * time.Hour} {
		_, _, err = p.Begin(ctx, Progress{}, t0.Add(time.Hour+later))
		require.ErrorIs(t, err, ErrCircuitOpen, "%v after the trip", later)
	}
}

// Breaker.Run opens a failed probe's circuit from the instant the probe
// failed, not from the instant it was admitted: a slow probe gets the
// whole recovery timeout.
func TestBreakerRunSlowProbeReopensFromItsEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		b := mustBreaker(t, BreakerConfig{FailureThreshold: 1, RecoveryTimeout: 10 * time.Second})
		_ = b.Run(ctx, func(context.Context) error { return errProp })
		time.Sleep(10 * time.Second)
		_ = b.Run(ctx, func(context.Context) error { time.Sleep(8 * time.Second); return errProp })
		time.Sleep(3 * time.Second)
		assert.Equal(t, BreakerOpen, b.State(), "3s after the probe failed")
		time.Sleep(7 * time.Second)
		assert.Equal(t, BreakerHalfOpen, b.State())
	})
}

// The breaker's lengthened open time draws from the policy's WithRand
// source: through Do, the same seed gives the same open periods.
func TestBreakerOpenTimeFollowsWithRand(t *testing.T) {
	openPeriods := func(seed uint64) []time.Duration {
		var got []time.Duration
		synctest.Test(t, func(t *testing.T) {
			b := mustBreaker(t, BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second, MaxRecoveryTimeout: time.Hour})
			p, err := NewPolicy(WithBreaker(b), WithMaxAttempts(1), WithRand(rand.New(rand.NewPCG(seed, 3))))
			require.NoError(t, err)
			for range 6 {
				_ = Run(context.Background(), func(context.Context) error { return errProp }, p)
				opened := time.Now()
				for b.State() == BreakerOpen {
					time.Sleep(time.Millisecond)
				}
				got = append(got, time.Since(opened))
			}
		})
		return got
	}
	a := openPeriods(1)
	assert.Equal(t, a, openPeriods(1))
	assert.NotEqual(t, a, openPeriods(2))
}

func TestScheduleIsBounded(t *testing.T) {
	p, err := NewPolicy(WithJitter(NoJitter))
	require.NoError(t, err)
	var waits []time.Duration
	require.NotPanics(t, func() { waits = p.Schedule(1 << 62) })
	assert.Len(t, waits, maxSchedule)
	assert.Equal(t, DefaultMaxDelay, waits[len(waits)-1])
	assert.Empty(t, p.Schedule(0))
	assert.Empty(t, p.Schedule(-3))
}

func TestErrorZeroAndNil(t *testing.T) {
	var nilErr *Error
	assert.Equal(t, "retry: <nil *Error>", nilErr.Error())
	assert.Nil(t, nilErr.Unwrap())
	assert.Equal(t, "retry: failed", (&Error{}).Error())
	assert.Nil(t, (&Error{}).Unwrap())
	assert.Equal(t, "retry: failed after 2 attempts: property: transient", (&Error{Attempts: 2, Last: errProp}).Error())
	assert.ErrorIs(t, &Error{Attempts: 2, Last: errProp}, errProp)
}

// A notify hook that panics after the budget granted a retry gives the
// token back: the retry never happens.
func TestPanickingNotifyRefundsTheBudget(t *testing.T) {
	b := mustBudget(t, BudgetConfig{Capacity: 2})
	assert.PanicsWithValue(t, "notify panicked", func() {
		_ = Run(context.Background(), func(context.Context) error { return errProp }, WithBudget(b),
			WithBackoff(Constant(0)), WithNotify(func(context.Context, RetryInfo) { panic("notify panicked") }))
	})
	assert.Equal(t, 2.0, b.Tokens(), "the token of the retry that did not happen came back")
}

// An operation that panics under an attempt timeout has its attempt context
// cancelled at once, not when the timeout would have fired.
func TestPanickingOpReleasesItsAttemptContext(t *testing.T) {
	var actx context.Context
	assert.Panics(t, func() {
		_ = Run(context.Background(), func(ctx context.Context) error {
			actx = ctx
			panic("op panicked")
		}, WithAttemptTimeout(time.Hour))
	})
	require.NotNil(t, actx)
	assert.True(t, errors.Is(actx.Err(), context.Canceled), "attempt context released: %v", actx.Err())
}

// NotIdempotent stops like Permanent, with its own reason, but counts as a
// failure for the breaker: the dependency failed, the request was only
// unsafe to send again. Unretryable, its former name, is the same mark.
func TestNotIdempotentIsABreakerFailure(t *testing.T) {
	ctx := context.Background()
	for name, mark := range map[string]func(error) error{"NotIdempotent": NotIdempotent, "Unretryable": Unretryable} {
		t.Run(name, func(t *testing.T) {
			b := mustBreaker(t, BreakerConfig{FailureThreshold: 2, RecoveryTimeout: time.Hour})
			calls := 0
			op := func(context.Context) error { calls++; return mark(errProp) }
			err := Run(ctx, op, WithBreaker(b))
			require.ErrorIs(t, err, ErrNotIdempotent)
			assert.NotErrorIs(t, err, ErrPermanent)
			assert.Equal(t, "not_idempotent", ReasonOf(err))
			assert.ErrorIs(t, err, errProp)
			assert.Equal(t, "retry: not idempotent, not resent after 1 attempt: "+errProp.Error(), err.Error())
			assert.Equal(t, 1, calls, "not retried")
			assert.Equal(t, errProp, asErr(t, err).Last, "the wrapper is stripped")
			require.ErrorIs(t, b.Run(ctx, op), errProp)
			assert.Equal(t, BreakerOpen, b.State(), "two failures: one through Do, one through Breaker.Run")
			assert.Nil(t, mark(nil))
			assert.ErrorIs(t, Run(ctx, func(context.Context) error { return After(time.Second, mark(errProp)) }), ErrNotIdempotent,
				"a stop anywhere in the chain decides")
		})
	}
	p := mustBreaker(t, BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Hour})
	require.ErrorIs(t, Run(ctx, func(context.Context) error { return Permanent(errProp) }, WithBreaker(p)), ErrPermanent)
	assert.Equal(t, BreakerClosed, p.State(), "Permanent: the dependency answered")
}

func asErr(t *testing.T, err error) *Error {
	t.Helper()
	var re *Error
	require.True(t, errors.As(err, &re))
	return re
}
