package retry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression tests for the review of the engine and Do (branch
// review-engine, review_*_test.go): each asserts the fixed behaviour.

var errReview = errors.New("boom")

// The attempt that trips the breaker gets no retry: the call stops at the
// decision with ErrCircuitOpen, the budget pays nothing and Do does not
// sleep (review i).
func TestRetryAfterTripStopsAtDecision(t *testing.T) {
	setup := func() (*Breaker, *Budget, *Policy) {
		br, err := NewBreaker(BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Hour})
		require.NoError(t, err)
		bu, err := NewBudget(BudgetConfig{Capacity: 2})
		require.NoError(t, err)
		p, err := NewPolicy(WithBreaker(br), WithBudget(bu), WithBackoff(Constant(5*time.Second)), WithJitter(NoJitter))
		require.NoError(t, err)
		return br, bu, p
	}
	t.Run("Do", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			br, bu, p := setup()
			start := time.Now()
			n := 0
			_, err := Do(context.Background(), func(context.Context) (int, error) { n++; return 0, errReview }, p)
			assert.Equal(t, 1, n)
			assert.Equal(t, "circuit_open", ReasonOf(err))
			assert.ErrorIs(t, err, ErrCircuitOpen)
			assert.ErrorIs(t, err, errReview)
			assert.Zero(t, time.Since(start), "no sleep before a refused retry")
			assert.Zero(t, bu.Stats().Allowed)
			assert.Equal(t, 2.0, bu.Tokens())
			assert.Zero(t, br.Stats().Rejected, "no attempt was asked for")
		})
	})
	t.Run("engine", func(t *testing.T) {
		_, bu, p := setup()
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		ctx, pr, err := p.Begin(context.Background(), Progress{}, now)
		require.NoError(t, err)
		v := p.Failed(ctx, pr, errReview, now)
		assert.ErrorIs(t, v.Err, ErrCircuitOpen)
		assert.Zero(t, v.Wait)
		assert.Equal(t, 2.0, bu.Tokens())
	})
	t.Run("recovers before the wait ends", func(t *testing.T) {
		br, err := NewBreaker(BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second})
		require.NoError(t, err)
		p, err := NewPolicy(WithBreaker(br), WithBackoff(Constant(5*time.Second)), WithJitter(NoJitter))
		require.NoError(t, err)
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		ctx, pr, err := p.Begin(context.Background(), Progress{}, now)
		require.NoError(t, err)
		v := p.Failed(ctx, pr, errReview, now)
		require.NoError(t, v.Err, "the circuit is half-open by the next attempt")
		assert.Equal(t, 5*time.Second, v.Wait)
	})
}

// A TimedOut mark anywhere in the chain charges TimeoutCost, and a hint
// under it is still honoured (review a, F).
func TestTimedOutMarkChargesTimeoutCost(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		hint time.Duration
	}{
		{"bare", TimedOut(errReview), 0},
		{"over a hint", TimedOut(After(time.Millisecond, errReview)), time.Millisecond},
		{"under a hint", After(time.Millisecond, TimedOut(errReview)), time.Millisecond},
		{"wrapped", fmt.Errorf("op: %w", TimedOut(errReview)), 0},
		{"joined", errors.Join(errReview, TimedOut(errReview)), 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewBudget(BudgetConfig{Capacity: 10, TimeoutCost: 5})
			require.NoError(t, err)
			p, err := NewPolicy(WithBudget(b), WithJitter(NoJitter))
			require.NoError(t, err)
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			ctx, pr, err := p.Begin(context.Background(), Progress{}, now)
			require.NoError(t, err)
			v := p.Failed(ctx, pr, tt.err, now)
			require.NoError(t, v.Err)
			assert.Equal(t, 5.0, b.TokensAt(now), "TimeoutCost")
			assert.Equal(t, tt.hint, v.Hint)
			if tt.hint > 0 {
				assert.Equal(t, tt.hint, v.Wait, "the hint decides the wait")
			}
		})
	}
	t.Run("Do refunds the timeout cost when a hook panics", func(t *testing.T) {
		b, err := NewBudget(BudgetConfig{Capacity: 10, TimeoutCost: 5})
		require.NoError(t, err)
		obs := &Observer{RetryScheduled: func(context.Context, RetryInfo) { panic("hook") }}
		p, err := NewPolicy(WithBudget(b), WithObserver(obs), WithBackoff(Constant(0)))
		require.NoError(t, err)
		assert.Panics(t, func() {
			_, _ = Do(context.Background(), func(context.Context) (int, error) {
				return 0, TimedOut(After(0, errReview))
			}, p)
		})
		assert.Equal(t, 10.0, b.Tokens(), "the whole TimeoutCost is refunded")
	})
}

type reviewKey struct{}

// The WithNotify hook gets the caller's context, in Do and in the engine,
// even when the report passes the context Begin returned (review a, B);
// the observer's hooks get the attempt's.
func TestNotifyGetsTheCallersContext(t *testing.T) {
	var notified, ended []any
	obs := &Observer{
		AttemptStart: func(ctx context.Context, _ AttemptStartInfo) context.Context {
			return context.WithValue(ctx, reviewKey{}, "span")
		},
		AttemptEnd: func(ctx context.Context, _ AttemptEndInfo) { ended = append(ended, ctx.Value(reviewKey{})) },
	}
	notify := func(ctx context.Context, _ RetryInfo) { notified = append(notified, ctx.Value(reviewKey{})) }
	p, err := NewPolicy(WithBackoff(Constant(time.Microsecond)), WithMaxAttempts(2), WithObserver(obs), WithNotify(notify))
	require.NoError(t, err)
	n := 0
	_, err = Do(context.Background(), func(context.Context) (int, error) {
		n++
		if n == 1 {
			return 0, errReview
		}
		return 1, nil
	}, p)
	require.NoError(t, err)
	assert.Equal(t, []any{nil}, notified, "Do")
	assert.Equal(t, []any{"span", "span"}, ended, "Do")

	notified, ended = nil, nil
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	actx, pr, err := p.Begin(context.Background(), Progress{}, now)
	require.NoError(t, err)
	require.NoError(t, p.Failed(actx, pr, errReview, now).Err)
	assert.Equal(t, []any{nil}, notified, "engine, reported with the context Begin returned")
	assert.Equal(t, []any{"span"}, ended, "engine")

	notified, ended = nil, nil
	_, pr, err = p.Begin(context.Background(), Progress{}, now)
	require.NoError(t, err)
	require.NoError(t, p.Failed(context.Background(), pr, errReview, now).Err)
	assert.Equal(t, []any{"span"}, ended, "the hooks get the context Begin returned, whatever the report passes")
}

// An observer that ends the attempt's context does not end the call: Do
// and the engine both decide on the caller's context (review h).
func TestObserverContextDoesNotDecide(t *testing.T) {
	obs := &Observer{AttemptStart: func(ctx context.Context, _ AttemptStartInfo) context.Context {
		c, cancel := context.WithCancel(ctx)
		cancel()
		return c
	}}
	p, err := NewPolicy(WithObserver(obs), WithBackoff(Constant(time.Microsecond)), WithMaxAttempts(2))
	require.NoError(t, err)
	n := 0
	_, err = Do(context.Background(), func(context.Context) (int, error) { n++; return 0, errReview }, p)
	assert.Equal(t, 2, n)
	assert.Equal(t, "exhausted", ReasonOf(err))

	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	actx, pr, err := p.Begin(context.Background(), Progress{}, now)
	require.NoError(t, err)
	v := p.Failed(actx, pr, errReview, now)
	require.NoError(t, v.Err, "retried, as Do retries")
	actx, pr, err = p.Begin(context.Background(), v.Next, now)
	require.NoError(t, err)
	assert.Equal(t, "exhausted", ReasonOf(p.Failed(actx, pr, errReview, now).Err))

	t.Run("the caller's own done context still counts the attempt as nothing", func(t *testing.T) {
		plain, err := NewPolicy(WithMaxAttempts(2))
		require.NoError(t, err)
		actx, pr, err := plain.Begin(context.Background(), Progress{}, now)
		require.NoError(t, err)
		cause := errors.New("stopping")
		done, cancel := context.WithCancelCause(actx)
		cancel(cause)
		v := plain.Failed(done, pr, errReview, now)
		assert.ErrorIs(t, v.Err, cause)
	})
	t.Run("the deadline of the caller's context bounds the wait", func(t *testing.T) {
		wall := time.Now()
		ctx, cancel := context.WithDeadline(context.Background(), wall.Add(time.Second))
		defer cancel()
		long, err := NewPolicy(WithBackoff(Constant(time.Hour)), WithJitter(NoJitter))
		require.NoError(t, err)
		_, pr, err := long.Begin(ctx, Progress{}, wall)
		require.NoError(t, err)
		v := long.Failed(context.Background(), pr, errReview, wall)
		assert.ErrorIs(t, v.Err, context.DeadlineExceeded)
	})
}

// Begin refuses a Progress past the attempt limit with the error Do gives
// (review c, E); the elapsed limit is checked at the decision, so a retry
// decided within it begins even when it begins late.
func TestBeginRefusesPastTheLimits(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p, err := NewPolicy(WithMaxAttempts(2), WithJitter(NoJitter))
	require.NoError(t, err)
	pr, ran := Progress{}, 0
	for range 4 {
		ctx, cur, err := p.Begin(context.Background(), pr, now)
		if err != nil {
			assert.ErrorIs(t, err, ErrExhausted)
			assert.Equal(t, 2, asErr(t, err).Attempts)
			break
		}
		ran++
		pr = p.Failed(ctx, cur, errReview, now).Next // stored whatever the verdict
	}
	assert.Equal(t, 2, ran)

	var done int
	obs := &Observer{Done: func(context.Context, DoneInfo) { done++ }}
	q, err := NewPolicy(WithMaxElapsed(10*time.Second), WithMaxAttempts(0), WithObserver(obs))
	require.NoError(t, err)
	late := now.Add(11 * time.Second)
	ctx, cur, err := q.Begin(context.Background(), Progress{Attempts: 1, Start: now}, late)
	require.NoError(t, err, "a retry decided within the limit, delivered late, begins")
	assert.ErrorIs(t, q.Failed(ctx, cur, errReview, late).Err, ErrMaxElapsed, "and the decision stops it")
	assert.Equal(t, 1, done)
	r, err := NewPolicy(WithMaxAttempts(1), WithObserver(obs))
	require.NoError(t, err)
	_, _, err = r.Begin(context.Background(), Progress{Attempts: 1, Start: now}, now)
	assert.ErrorIs(t, err, ErrExhausted)
	assert.Equal(t, 1, done, "no event: the call's Done was reported when it stopped")
}

// A report with bad input after Begin ends the attempt and the call for
// the observer: one AttemptEnd and one Done (review a, C).
func TestBadReportEndsTheObservedCall(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name   string
		report func(p *Policy, ctx context.Context, pr Progress) error
	}{
		{"nil error", func(p *Policy, ctx context.Context, pr Progress) error { return p.Failed(ctx, pr, nil, now).Err }},
		{"zero now", func(p *Policy, ctx context.Context, pr Progress) error {
			return p.Failed(ctx, pr, errReview, time.Time{}).Err
		}},
		{"nil ctx", func(p *Policy, _ context.Context, pr Progress) error {
			//lint:ignore SA1012 a nil context is the bad input under test
			return p.Failed(nil, pr, errReview, now).Err
		}},
		{"Succeeded at zero now", func(p *Policy, ctx context.Context, pr Progress) error { return p.Succeeded(ctx, pr, time.Time{}) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ev []string
			obs := &Observer{
				AttemptStart: func(ctx context.Context, _ AttemptStartInfo) context.Context {
					ev = append(ev, "start")
					return context.WithValue(ctx, reviewKey{}, "span")
				},
				AttemptEnd: func(ctx context.Context, e AttemptEndInfo) {
					require.NotNil(t, ctx)
					assert.Equal(t, "span", ctx.Value(reviewKey{}))
					assert.GreaterOrEqual(t, e.Duration, time.Duration(0))
					ev = append(ev, "end:"+ReasonOf(e.Stop))
				},
				Done: func(ctx context.Context, e DoneInfo) { ev = append(ev, "done:"+ReasonOf(e.Err)) },
			}
			p, err := NewPolicy(WithObserver(obs))
			require.NoError(t, err)
			ctx, pr, err := p.Begin(context.Background(), Progress{}, now)
			require.NoError(t, err)
			err = tt.report(p, ctx, pr)
			assert.ErrorIs(t, err, ErrInvalidConfig)
			assert.Equal(t, []string{"start", "end:invalid", "done:invalid"}, ev)
			assert.ErrorIs(t, p.Failed(ctx, pr, errReview, now).Err, ErrDuplicateReport, "the attempt was ended")
			assert.Len(t, ev, 3)
		})
	}
}

// A second report is ErrDuplicateReport, with its own ReasonOf word; a
// report to a policy with another breaker is refused and changes nothing
// (review of the engine, docs).
func TestDuplicateAndForeignReports(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	br, err := NewBreaker(BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Hour})
	require.NoError(t, err)
	p, err := NewPolicy(WithBreaker(br))
	require.NoError(t, err)
	ctx, pr, err := p.Begin(context.Background(), Progress{}, now)
	require.NoError(t, err)

	other, err := NewPolicy()
	require.NoError(t, err)
	v := other.Failed(ctx, pr, errReview, now)
	assert.ErrorIs(t, v.Err, ErrInvalidConfig)
	assert.ErrorContains(t, v.Err, "another policy")
	assert.ErrorIs(t, other.Succeeded(ctx, pr, now), ErrInvalidConfig)
	assert.Equal(t, BreakerClosed, br.StateAt(now), "nothing recorded")

	derived, err := p.With(WithMaxAttempts(5))
	require.NoError(t, err)
	v = derived.Failed(ctx, pr, errReview, now)
	assert.ErrorIs(t, v.Err, ErrCircuitOpen, "a policy made by With keeps the breaker: the report is taken")
	assert.Equal(t, BreakerOpen, br.StateAt(now))

	v = p.Failed(ctx, pr, errReview, now)
	assert.ErrorIs(t, v.Err, ErrDuplicateReport)
	assert.NotErrorIs(t, v.Err, ErrInvalidConfig)
	assert.Equal(t, "duplicate_report", ReasonOf(v.Err))
	assert.Equal(t, 1, asErr(t, v.Err).Attempts)
}

// Failed on a decoded Progress with attempts and no Start takes now as
// its start, as Begin does (review a, A).
func TestFailedTakesAZeroStartAsNow(t *testing.T) {
	var pr Progress
	require.NoError(t, json.Unmarshal([]byte(`{"attempts":1}`), &pr))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p, err := NewPolicy(WithMaxElapsed(10*time.Second), WithJitter(NoJitter), WithBackoff(Constant(time.Second)))
	require.NoError(t, err)
	v := p.Failed(context.Background(), pr, errReview, now)
	require.NoError(t, v.Err, "within the elapsed limit, counted from now")
	assert.Equal(t, now, v.Next.Start)

	var got RetryInfo
	q, err := NewPolicy(WithJitter(NoJitter), WithNotify(func(_ context.Context, r RetryInfo) { got = r }))
	require.NoError(t, err)
	require.NoError(t, q.Failed(context.Background(), pr, errReview, now).Err)
	assert.Zero(t, got.Elapsed)
}

// Assigning to an exported jitter variable changes no policy (review c, J).
func TestJitterVariablesDoNotDecide(t *testing.T) {
	p, err := NewPolicy(WithBackoff(Constant(time.Second)), WithRand(rand.New(rand.NewPCG(1, 2))))
	require.NoError(t, err)
	d, err := NewPolicy(WithBackoff(Constant(time.Second)), WithJitter(DecorrelatedJitter), WithMaxDelay(time.Hour))
	require.NoError(t, err)
	oldFull, oldDec := FullJitter, DecorrelatedJitter
	FullJitter, DecorrelatedJitter = Jitter{}, Jitter{} //nolint:reassign // the misuse under test
	defer func() { FullJitter, DecorrelatedJitter = oldFull, oldDec }()
	full, err := NewPolicy(WithBackoff(Constant(time.Second)))
	require.NoError(t, err)
	for _, q := range []*Policy{p, full} {
		assert.Equal(t, "full", q.cfg.jitter.String())
		waits := q.Schedule(50)
		assert.NotEqual(t, slices.Repeat([]time.Duration{time.Second}, 50), waits, "still jittered")
	}
	assert.Equal(t, "decorrelated", d.cfg.jitter.String())
	assert.Greater(t, slices.Max(d.Schedule(50)), time.Second, "decorrelated waits grow past the base")
}

// The zero BreakerControl is a no-op, never a panic (review c, K).
func TestZeroBreakerControlIsANoOp(t *testing.T) {
	var c BreakerControl
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	assert.NotPanics(t, func() {
		c.Open(now, now.Add(time.Minute))
		c.Close(now)
		consecutive, failures, attempts := c.Counts(now)
		assert.Zero(t, consecutive+failures+attempts)
	})
}

// AttemptEndInfo.Duration is never negative when the engine's instants
// step back (review a, Q).
func TestAttemptDurationNeverNegative(t *testing.T) {
	var d []time.Duration
	obs := &Observer{AttemptEnd: func(_ context.Context, e AttemptEndInfo) { d = append(d, e.Duration) }}
	p, err := NewPolicy(WithObserver(obs), WithJitter(NoJitter))
	require.NoError(t, err)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ctx, pr, err := p.Begin(context.Background(), Progress{}, t0)
	require.NoError(t, err)
	v := p.Failed(ctx, pr, errReview, t0.Add(time.Second))
	require.NoError(t, v.Err)
	ctx, pr, err = p.Begin(context.Background(), v.Next, t0.Add(10*time.Second))
	require.NoError(t, err)
	p.Failed(ctx, pr, errReview, t0.Add(5*time.Second))
	assert.Equal(t, []time.Duration{time.Second, 0}, d)
}

// The sum of the waits saturates instead of wrapping, and the Progress
// still round-trips through JSON and binary (review f, W).
func TestWaitedSaturates(t *testing.T) {
	var waited time.Duration
	obs := &Observer{Done: func(_ context.Context, e DoneInfo) { waited = e.Waited }}
	p, err := NewPolicy(WithObserver(obs), WithMaxDelay(0), WithJitter(NoJitter), WithMaxAttempts(3),
		WithBackoff(Constant(time.Duration(math.MaxInt64/2+1))))
	require.NoError(t, err)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var pr Progress
	for range 2 {
		ctx, cur, err := p.Begin(context.Background(), pr, now)
		require.NoError(t, err)
		v := p.Failed(ctx, cur, errReview, now)
		require.NoError(t, v.Err)
		pr = v.Next
	}
	b, err := json.Marshal(pr)
	require.NoError(t, err)
	var back Progress
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, time.Duration(math.MaxInt64), back.waited)
	bb, err := pr.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, back.UnmarshalBinary(bb))
	assert.Equal(t, time.Duration(math.MaxInt64), back.waited)
	ctx, cur, err := p.Begin(context.Background(), back, now)
	require.NoError(t, err)
	require.ErrorIs(t, p.Failed(ctx, cur, errReview, now).Err, ErrExhausted)
	assert.Equal(t, time.Duration(math.MaxInt64), waited)
}

// A nil error reported on a stored Progress (no admission) is refused with
// no observer event: nothing was running (the counterpart of
// TestBadReportEndsTheObservedCall).
func TestNilErrorOnAStoredProgressIsSilent(t *testing.T) {
	var ev int
	obs := &Observer{AttemptEnd: func(context.Context, AttemptEndInfo) { ev++ }, Done: func(context.Context, DoneInfo) { ev++ }}
	p, err := NewPolicy(WithObserver(obs))
	require.NoError(t, err)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := p.Failed(context.Background(), Progress{Attempts: 1, Start: now}, nil, now)
	assert.ErrorIs(t, v.Err, ErrInvalidConfig)
	assert.Zero(t, ev)
}
