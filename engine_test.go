package retry

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEngineBadInput(t *testing.T) {
	ctx, now := context.Background(), time.Unix(0, 0)
	p, err := NewPolicy()
	require.NoError(t, err)
	for name, p := range map[string]*Policy{"nil": nil, "zero": {}} {
		t.Run(name, func(t *testing.T) {
			_, _, err := p.Begin(ctx, Progress{}, now)
			assert.ErrorIs(t, err, ErrInvalidConfig)
			assert.ErrorIs(t, p.Failed(ctx, Progress{Attempts: 1}, errProp, now).Err, ErrInvalidConfig)
			assert.NotPanics(t, func() { p.Succeeded(ctx, Progress{}, now) })
		})
	}
	//lint:ignore SA1012 a nil context is the bad input under test
	_, _, err = p.Begin(nil, Progress{}, now) //nolint:staticcheck
	assert.ErrorIs(t, err, ErrInvalidConfig)
	actx, pr, err := p.Begin(ctx, Progress{}, now)
	require.NoError(t, err)
	v := p.Failed(actx, pr, nil, now)
	assert.ErrorIs(t, v.Err, ErrInvalidConfig, "a nil error is not a failure")

	cancelable, cancel := context.WithCancelCause(ctx)
	cause := errors.New("gave up")
	actx, pr, err = p.Begin(cancelable, Progress{Attempts: 1, Start: now}, now)
	require.NoError(t, err)
	cancel(cause)
	v = p.Failed(actx, pr, errProp, now)
	assert.Equal(t, &Error{Attempts: 2, Last: errProp, Reason: cause}, v.Err)
	_, _, err = p.Begin(cancelable, v.Next, now)
	assert.Equal(t, &Error{Attempts: 2, Reason: cause}, err)
}

// The engine reads no clock: the breaker's open period and the budget's
// refill follow the instants passed in, whatever the wall clock says.
func TestEngineRunsOnVirtualTime(t *testing.T) {
	br, err := NewBreaker(BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Minute})
	require.NoError(t, err)
	bu, err := NewBudget(BudgetConfig{Capacity: 1, PerSecond: 1})
	require.NoError(t, err)
	p, err := NewPolicy(WithBreaker(br), WithBudget(bu), WithBackoff(Constant(0)), WithMaxAttempts(0))
	require.NoError(t, err)
	ctx, t0 := context.Background(), time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)

	_, pr, err := p.Begin(ctx, Progress{}, t0)
	require.NoError(t, err)
	v := p.Failed(ctx, pr, errProp, t0)
	require.ErrorIs(t, v.Err, ErrCircuitOpen, "tripped, and open past the wait: no retry")
	assert.Equal(t, 1.0, bu.TokensAt(t0), "a retry refused at the decision costs nothing")
	_, _, err = p.Begin(ctx, v.Next, t0.Add(59*time.Second))
	require.ErrorIs(t, err, ErrCircuitOpen, "open for a minute of virtual time")
	_, pr, err = p.Begin(ctx, v.Next, t0.Add(time.Minute))
	require.NoError(t, err, "half-open after a minute")
	require.NoError(t, p.Succeeded(ctx, pr, t0.Add(time.Minute)))
	assert.Equal(t, BreakerClosed, br.StateAt(t0.Add(time.Minute)))

	p2, err := NewPolicy(WithBudget(bu), WithBackoff(Constant(0)), WithMaxAttempts(0))
	require.NoError(t, err)
	at := t0.Add(time.Minute)
	_, pr, err = p2.Begin(ctx, Progress{}, at)
	require.NoError(t, err)
	v = p2.Failed(ctx, pr, errProp, at)
	require.NoError(t, v.Err, "the budget's one token pays for this retry")
	_, pr, err = p2.Begin(ctx, v.Next, at)
	require.NoError(t, err)
	v = p2.Failed(ctx, pr, errProp, at)
	require.ErrorIs(t, v.Err, ErrBudgetExhausted, "no refill within one instant")
	_, pr, err = p2.Begin(ctx, v.Next, at.Add(time.Second))
	require.NoError(t, err)
	require.NoError(t, p2.Failed(ctx, pr, errProp, at.Add(time.Second)).Err, "a second of refill bought a token")
}

// A decision with a prebuilt policy and no budget or breaker allocates
// nothing: Begin (its record of the admission is pooled), a Failed that
// retries, and Succeeded.
func TestEngineDecisionAllocatesNothing(t *testing.T) {
	p, err := NewPolicy(WithMaxAttempts(0), WithJitter(DecorrelatedJitter))
	require.NoError(t, err)
	ctx, now := context.Background(), time.Unix(1, 0)
	var pr Progress
	allocs := testing.AllocsPerRun(1000, func() {
		_, next, err := p.Begin(ctx, pr, now)
		if err != nil {
			panic(err)
		}
		v := p.Failed(ctx, next, errProp, now)
		if v.Err != nil {
			panic(v.Err)
		}
		pr = v.Next
	})
	assert.Zero(t, allocs, "Begin and a Failed that retries")
	allocs = testing.AllocsPerRun(1000, func() {
		_, next, err := p.Begin(ctx, pr, now)
		if err != nil {
			panic(err)
		}
		if err := p.Succeeded(ctx, next, now); err != nil {
			panic(err)
		}
	})
	assert.Zero(t, allocs, "Begin and Succeeded")
}

// Options written inline in the call cost at most the two allocations of
// their own values (the Exponential strategy and the StopOn closure):
// WithBackoff and a one-classifier WithClassifier box nothing, and the
// configuration stays on the stack.
func TestInlineOptionsAllocateLittle(t *testing.T) {
	ctx := context.Background()
	op := func(context.Context) (int, error) { return 1, nil }
	allocs := testing.AllocsPerRun(1000, func() {
		_, _ = Do(ctx, op, WithMaxAttempts(5), WithBackoff(Exponential(10*time.Millisecond, 2)), WithClassifier(StopOn(errProp)))
	})
	assert.LessOrEqual(t, allocs, 2.0)
}

// TokensAt and StateAt observe a budget and a breaker on the caller's clock.
func TestObservingOnVirtualTime(t *testing.T) {
	br, err := NewBreaker(BreakerConfig{FailureThreshold: 1, RecoveryTimeout: 10 * time.Second})
	require.NoError(t, err)
	bu, err := NewBudget(BudgetConfig{Capacity: 2, PerSecond: 0.5})
	require.NoError(t, err)
	p, err := NewPolicy(WithBreaker(br), WithBudget(bu), WithBackoff(Constant(0)))
	require.NoError(t, err)
	ctx, t0 := context.Background(), time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
	_, pr, err := p.Begin(ctx, Progress{}, t0)
	require.NoError(t, err)
	require.ErrorIs(t, p.Failed(ctx, pr, errProp, t0).Err, ErrCircuitOpen)
	p2, err := NewPolicy(WithBudget(bu), WithBackoff(Constant(0)))
	require.NoError(t, err)
	_, pr, err = p2.Begin(ctx, Progress{}, t0)
	require.NoError(t, err)
	require.NoError(t, p2.Failed(ctx, pr, errProp, t0).Err)

	assert.Equal(t, 1.0, bu.TokensAt(t0))
	assert.Equal(t, 1.5, bu.TokensAt(t0.Add(time.Second)))
	assert.Equal(t, 2.0, bu.TokensAt(t0.Add(time.Hour)), "never above capacity")
	assert.Equal(t, BreakerOpen, br.StateAt(t0.Add(9*time.Second)))
	assert.Equal(t, BreakerHalfOpen, br.StateAt(t0.Add(10*time.Second)))
	var nilBudget *Budget
	var nilBreaker *Breaker
	assert.Zero(t, nilBudget.TokensAt(t0))
	assert.Equal(t, BreakerClosed, nilBreaker.StateAt(t0))
}

// A caller's own attempt timeout, marked with TimedOut, is retried whatever
// the classifiers say and costs TimeoutCost, as Do's own timeouts; through
// Do as through the engine.
func TestEngineCallersAttemptTimeout(t *testing.T) {
	bu, err := NewBudget(BudgetConfig{Capacity: 10, RetryCost: 1, TimeoutCost: 4})
	require.NoError(t, err)
	p, err := NewPolicy(WithBudget(bu), WithClassifier(RetryOn()), WithBackoff(Constant(0)))
	require.NoError(t, err)
	ctx, now := context.Background(), time.Unix(5, 0)

	actx, pr, err := p.Begin(ctx, Progress{}, now)
	require.NoError(t, err)
	v := p.Failed(actx, pr, TimedOut(errProp), now)
	require.NoError(t, v.Err, "retried although RetryOn() stops on everything else")
	assert.Equal(t, 6.0, bu.TokensAt(now), "TimeoutCost")

	actx, pr, err = p.Begin(ctx, v.Next, now)
	require.NoError(t, err)
	v = p.Failed(actx, pr, errProp, now)
	assert.ErrorIs(t, v.Err, ErrPermanent, "an unmarked error is classified")
	assert.Equal(t, 6.0, bu.TokensAt(now))

	calls := 0
	err = Run(ctx, func(context.Context) error {
		if calls++; calls == 1 {
			return TimedOut(errProp)
		}
		return errProp
	}, p)
	assert.ErrorIs(t, err, ErrPermanent)
	assert.Equal(t, 2, calls, "Do retried the marked error")
	assert.Equal(t, 2.0, bu.Tokens(), "at TimeoutCost")
	assert.Nil(t, TimedOut(nil))
	assert.Equal(t, errProp.Error(), TimedOut(errProp).Error())
	assert.ErrorIs(t, TimedOut(After(time.Second, errProp)), errProp)
}

func TestEngineRejectsMisuse(t *testing.T) {
	ctx, t0 := context.Background(), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	newProbe := func(t *testing.T) (*Policy, *Breaker, Progress) {
		br, err := NewBreaker(BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second})
		require.NoError(t, err)
		p, err := NewPolicy(WithBreaker(br))
		require.NoError(t, err)
		_, pr, err := p.Begin(ctx, Progress{}, t0)
		require.NoError(t, err)
		require.Error(t, p.Failed(ctx, pr, Permanent(errProp), t0).Err) // a success for the breaker: still closed
		_, pr, err = p.Begin(ctx, Progress{}, t0)
		require.NoError(t, err)
		v := p.Failed(ctx, pr, errProp, t0) // trips it
		require.ErrorIs(t, v.Err, ErrCircuitOpen)
		_, pr, err = p.Begin(ctx, v.Next, t0.Add(time.Second)) // the one probe
		require.NoError(t, err)
		return p, br, pr
	}
	probeFree := func(t *testing.T, p *Policy) {
		t.Helper()
		_, pr, err := p.Begin(ctx, Progress{}, t0.Add(2*time.Second))
		require.NoError(t, err, "the probe slot is free")
		require.NoError(t, p.Succeeded(ctx, pr, t0.Add(2*time.Second)))
	}

	t.Run("zero now", func(t *testing.T) {
		p, err := NewPolicy()
		require.NoError(t, err)
		_, _, err = p.Begin(ctx, Progress{}, time.Time{})
		assert.ErrorIs(t, err, ErrInvalidConfig)
		assert.ErrorIs(t, p.Failed(ctx, Progress{Attempts: 1}, errProp, time.Time{}).Err, ErrInvalidConfig)
		assert.ErrorIs(t, p.Succeeded(ctx, Progress{Attempts: 1}, time.Time{}), ErrInvalidConfig)
	})
	t.Run("invalid progress", func(t *testing.T) {
		p, err := NewPolicy(WithMaxAttempts(3))
		require.NoError(t, err)
		for _, pr := range []Progress{{Attempts: -100}, {Attempts: math.MaxInt}, {Attempts: 1, Prev: -time.Second}} {
			_, _, err = p.Begin(ctx, pr, t0)
			assert.ErrorIs(t, err, ErrInvalidConfig, "%+v", pr)
			assert.ErrorIs(t, p.Failed(ctx, pr, errProp, t0).Err, ErrInvalidConfig, "%+v", pr)
			assert.ErrorIs(t, p.Succeeded(ctx, pr, t0), ErrInvalidConfig, "%+v", pr)
		}
	})
	t.Run("Begin on a held admission", func(t *testing.T) {
		p, _, pr := newProbe(t)
		_, again, err := p.Begin(ctx, pr, t0.Add(time.Second))
		assert.ErrorIs(t, err, ErrInvalidConfig)
		require.NoError(t, p.Succeeded(ctx, again, t0.Add(time.Second)), "the admission survived the refusal")
		probeFree(t, p)
	})
	t.Run("invalid Failed releases the admission", func(t *testing.T) {
		p, _, pr := newProbe(t)
		//lint:ignore SA1012 a nil context is the bad input under test
		assert.ErrorIs(t, p.Failed(nil, pr, errProp, t0.Add(time.Second)).Err, ErrInvalidConfig) //nolint:staticcheck
		probeFree(t, p)
	})
	t.Run("an abandoned attempt is released with a done context", func(t *testing.T) {
		p, br, pr := newProbe(t)
		done, cancel := context.WithCancel(ctx)
		cancel()
		assert.ErrorIs(t, p.Failed(done, pr, errProp, t0.Add(time.Second)).Err, context.Canceled)
		assert.Equal(t, BreakerHalfOpen, br.StateAt(t0.Add(time.Second)), "counted as nothing")
		probeFree(t, p)
	})
}

// The engine driven from several goroutines at once, sharing a budget and
// a breaker with each other and with calls of Do (run it under -race).
func TestEngineConcurrentWithDo(t *testing.T) {
	br, err := NewBreaker(BreakerConfig{FailureRate: 0.5, Window: time.Second, MinimumCalls: 20, RecoveryTimeout: time.Millisecond, MaxRecoveryTimeout: 4 * time.Millisecond})
	require.NoError(t, err)
	bu, err := NewBudget(BudgetConfig{Capacity: 20, PerSuccess: 0.5, PerSecond: 100})
	require.NoError(t, err)
	p, err := NewPolicy(WithBreaker(br), WithBudget(bu), WithBackoff(Constant(0)), WithMaxAttempts(5))
	require.NoError(t, err)
	ctx := context.Background()
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			r := rand.New(rand.NewPCG(uint64(g), 9))
			for i := range 500 {
				fail := func() bool { return r.IntN(3) == 0 }
				if g%2 == 0 {
					_ = Run(ctx, func(context.Context) error {
						if fail() {
							return errProp
						}
						return nil
					}, p)
					continue
				}
				var pr Progress
				for {
					now := time.Now()
					_, next, err := p.Begin(ctx, pr, now)
					if err != nil {
						break
					}
					if !fail() {
						if err := p.Succeeded(ctx, next, now); err != nil {
							panic(err)
						}
						break
					}
					v := p.Failed(ctx, next, errProp, now)
					if v.Err != nil {
						break
					}
					pr = v.Next
				}
				_ = i
			}
		}()
	}
	for range 4 {
		<-done
	}
	st := bu.Stats()
	assert.Positive(t, st.Allowed)
	assert.LessOrEqual(t, bu.Tokens(), 20.0)
}
