package retry_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// TestObserverNoEndWithoutStart: a report on the zero Progress, or a
// second report of an attempt, is refused and no observer hears of it; a
// stored Progress reported without Begin gets the call's events but no
// AttemptEnd (an observer would end a span it never started); a report
// with bad input ends the attempt (it counts as nothing) and the call: the
// observer gets AttemptEnd and Done with the report's error (review of the
// engine: every started call ends with one Done).
func TestObserverNoEndWithoutStart(t *testing.T) {
	errA := errors.New("a")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var r recorder
	p := newPolicy(t, retry.WithMaxAttempts(2), retry.WithBackoff(retry.Constant(time.Second)),
		retry.WithJitter(retry.NoJitter), retry.WithObserver(r.observer()))

	v := p.Failed(context.Background(), retry.Progress{}, errA, now)
	require.ErrorIs(t, v.Err, retry.ErrInvalidConfig)
	assert.ErrorContains(t, v.Err, "not begun")
	require.ErrorIs(t, p.Succeeded(context.Background(), retry.Progress{}, now), retry.ErrInvalidConfig)
	assert.Empty(t, r.events)

	v = p.Failed(context.Background(), retry.Progress{Attempts: 1, Start: now}, errA, now)
	require.NoError(t, v.Err)
	assert.Equal(t, []string{"retry 1 wait=1s hint=false/0s"}, r.events)
	r.events = nil
	one, err := p.With(retry.WithMaxAttempts(1))
	require.NoError(t, err)
	v = one.Failed(context.Background(), retry.Progress{Attempts: 1, Start: now}, errA, now)
	require.ErrorIs(t, v.Err, retry.ErrExhausted)
	assert.Equal(t, []string{"done 1 exhausted waited=0s elapsed=0s"}, r.events)
	r.events = nil

	ctx, pr, err := p.Begin(context.Background(), retry.Progress{}, now)
	require.NoError(t, err)
	v = p.Failed(ctx, pr, nil, now) // invalid: a nil error
	require.ErrorIs(t, v.Err, retry.ErrInvalidConfig)
	assert.Equal(t, []string{"start 1/2",
		"end 1 ctx=1 err=retry: invalid configuration: Failed with a nil error (a success is reported with Succeeded) after 1 attempt stop=invalid",
		"done 1 invalid waited=0s elapsed=0s"}, r.events, "a started call ends with one Done")
	r.events = nil
	err = p.Succeeded(ctx, pr, now)
	require.ErrorIs(t, err, retry.ErrDuplicateReport, "the bad report ended the attempt")
	assert.Empty(t, r.events)

	r.events = nil
	ctx, pr, err = p.Begin(context.Background(), retry.Progress{}, now)
	require.NoError(t, err)
	require.NoError(t, p.Succeeded(ctx, pr, now))
	require.ErrorIs(t, p.Succeeded(ctx, pr, now), retry.ErrDuplicateReport)
	require.ErrorIs(t, p.Failed(ctx, pr, errA, now).Err, retry.ErrDuplicateReport)
	assert.Equal(t, []string{"start 1/2", "end 1 ctx=1 err=<nil> stop=-", "done 1 success waited=0s elapsed=0s"}, r.events,
		"the second and third reports are not heard")
}

// TestObserverWaitedSurvivesStorage: a caller-driven call whose Progress
// goes through JSON between its attempts, as a queue stores it, reports
// in Done the sum of all its waits.
func TestObserverWaitedSurvivesStorage(t *testing.T) {
	var r recorder
	p := newPolicy(t, retry.WithMaxAttempts(4), retry.WithBackoff(retry.Exponential(time.Second, 2)),
		retry.WithJitter(retry.NoJitter), retry.WithObserver(r.observer()))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var stored []byte
	for n := 1; n <= 4; n++ {
		var pr retry.Progress
		if stored != nil {
			require.NoError(t, json.Unmarshal(stored, &pr))
		}
		ctx, pr, err := p.Begin(context.Background(), pr, now)
		require.NoError(t, err)
		if n == 4 {
			require.NoError(t, p.Succeeded(ctx, pr, now))
			break
		}
		v := p.Failed(ctx, pr, errors.New("a"), now)
		require.NoError(t, v.Err)
		now = now.Add(v.Wait)
		stored, err = json.Marshal(v.Next)
		require.NoError(t, err)
	}
	assert.Equal(t, 7*time.Second, r.waited, "1s + 2s + 4s")
}

// TestObserverSeesAPanickingAttemptEnd: when op panics, the attempt's
// AttemptEnd and the call's Done are delivered while the panic unwinds,
// with the word "panic", and the panic still reaches the caller; with or
// without an attempt timeout, and when a classifier panics.
func TestObserverSeesAPanickingAttemptEnd(t *testing.T) {
	errA := errors.New("a")
	for _, tc := range []struct {
		name string
		opts []retry.Option
		op   func(n int) error
	}{
		{name: "op", op: func(n int) error {
			if n == 2 {
				panic("op")
			}
			return errA
		}},
		{name: "op with an attempt timeout", opts: []retry.Option{retry.WithAttemptTimeout(time.Hour)}, op: func(n int) error {
			if n == 2 {
				panic("op")
			}
			return errA
		}},
		{name: "classifier", opts: []retry.Option{retry.WithClassifier(func(err error) retry.Class {
			if errors.Is(err, errB) {
				panic("op")
			}
			return retry.Unclassified
		})}, op: func(n int) error {
			if n == 2 {
				return errB
			}
			return errA
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var r recorder
				opts := append([]retry.Option{retry.WithMaxAttempts(3), retry.WithBackoff(retry.Constant(time.Second)),
					retry.WithJitter(retry.NoJitter), retry.WithObserver(r.observer())}, tc.opts...)
				n := 0
				assert.PanicsWithValue(t, "op", func() {
					_ = retry.Run(context.Background(), func(ctx context.Context) error {
						n++
						time.Sleep(time.Second)
						return tc.op(n)
					}, opts...)
				})
				assert.Equal(t, []string{
					"start 1/3", "end 1 ctx=1 err=a stop=-", "retry 1 wait=1s hint=false/0s",
					"start 2/3", "end 2 ctx=2 err=retry: the attempt panicked stop=panic",
					"done 2 panic waited=1s elapsed=3s",
				}, r.events)
				assert.Equal(t, []time.Duration{time.Second, time.Second}, r.durs)
			})
		})
	}
}

// TestObserverCutShortWaitCountsTheSleptPart: a wait that the context
// ends early counts in Done.Waited for the part slept, also for an
// observer that reads no other time than Done's.
func TestObserverCutShortWaitCountsTheSleptPart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var waited []time.Duration
		obs := &retry.Observer{Done: func(_ context.Context, e retry.DoneInfo) { waited = append(waited, e.Waited) }}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(2500*time.Millisecond, cancel)
		err := retry.Run(ctx, func(context.Context) error { return errA }, retry.WithBackoff(retry.Constant(time.Second*2)),
			retry.WithMaxAttempts(5), retry.WithJitter(retry.NoJitter), retry.WithObserver(obs))
		require.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, []time.Duration{2500 * time.Millisecond}, waited, "2s, then 0.5s of a 2s wait")
	})
}

// TestDeadlineWithCauseReadsAsDeadline: a call whose context's deadline,
// set with a cause, passes during an attempt ends with a reason that is
// the cause and a deadline both, which ReasonOf calls "deadline".
func TestDeadlineWithCauseReadsAsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cause := errors.New("the request's budget of 1s ran out")
		ctx, cancel := context.WithTimeoutCause(context.Background(), time.Second, cause)
		defer cancel()
		err := retry.Run(ctx, func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		})
		var e *retry.Error
		require.ErrorAs(t, err, &e)
		assert.ErrorIs(t, e.Reason, cause)
		assert.ErrorIs(t, e.Reason, context.DeadlineExceeded)
		assert.Equal(t, cause.Error(), e.Reason.Error())
		assert.Equal(t, "deadline", retry.ReasonOf(err))
	})
}

// TestPanickingAdmissionHooksRefundTheRetry: when the AttemptStart hook of
// a retry, or the BreakerChange hook at its admission, panics, the retry
// did not happen: the budget gets back what it granted for it, at the
// timeout cost for a timed-out attempt's retry.
func TestPanickingAdmissionHooksRefundTheRetry(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    *retry.Observer
		err  error
	}{
		{name: "attempt start", err: errA, o: &retry.Observer{AttemptStart: func(ctx context.Context, e retry.AttemptStartInfo) context.Context {
			if e.Attempt == 2 {
				panic("observer")
			}
			return ctx
		}}},
		{name: "attempt start after a timeout", err: retry.TimedOut(errA), o: &retry.Observer{AttemptStart: func(ctx context.Context, e retry.AttemptStartInfo) context.Context {
			if e.Attempt == 2 {
				panic("observer")
			}
			return ctx
		}}},
		{name: "breaker change at admission", err: errA, o: &retry.Observer{BreakerChange: func(_ context.Context, e retry.BreakerChangeInfo) {
			if e.To == retry.BreakerHalfOpen {
				panic("observer")
			}
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				budget, err := retry.NewBudget(retry.BudgetConfig{Capacity: 10, TimeoutCost: 3})
				require.NoError(t, err)
				breaker, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 1, RecoveryTimeout: 10 * time.Second})
				require.NoError(t, err)
				assert.PanicsWithValue(t, "observer", func() {
					_ = retry.Run(context.Background(), func(context.Context) error { return tc.err },
						retry.WithBudget(budget), retry.WithBreaker(breaker), retry.WithBackoff(retry.Constant(10*time.Second)),
						retry.WithJitter(retry.NoJitter), retry.WithObserver(tc.o))
				})
				assert.Equal(t, 10.0, budget.Tokens(), "the retry that did not happen is refunded")
			})
		})
	}
}

// TestObserverEventsCarryTheBareError: AttemptEnd and RetryScheduled get
// the operation's error itself, without the Permanent or After wrapper.
func TestObserverEventsCarryTheBareError(t *testing.T) {
	errX, errY := errors.New("x"), errors.New("y")
	var ends, retries []error
	obs := &retry.Observer{
		AttemptEnd:     func(_ context.Context, e retry.AttemptEndInfo) { ends = append(ends, e.Err) },
		RetryScheduled: func(_ context.Context, e retry.RetryInfo) { retries = append(retries, e.Err) },
	}
	n := 0
	err := retry.Run(context.Background(), func(context.Context) error {
		n++
		if n == 1 {
			return retry.After(time.Nanosecond, errY)
		}
		return retry.Permanent(errX)
	}, retry.WithObserver(obs), retry.WithExactHints())
	require.ErrorIs(t, err, retry.ErrPermanent)
	require.Len(t, ends, 2)
	assert.Same(t, errY, ends[0])
	assert.Same(t, errX, ends[1])
	require.Len(t, retries, 1)
	assert.Same(t, errY, retries[0])
}

// TestObserverNilContextFromAttemptStart: an AttemptStart that returns nil
// leaves the attempt the call's context.
func TestObserverNilContextFromAttemptStart(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "caller's")
	obs := &retry.Observer{AttemptStart: func(context.Context, retry.AttemptStartInfo) context.Context { return nil }}
	var got context.Context
	require.NoError(t, retry.Run(ctx, func(ctx context.Context) error { got = ctx; return nil }, retry.WithObserver(obs)))
	require.NotNil(t, got)
	assert.Equal(t, "caller's", got.Value(key{}))
}

// TestObserverBreakerChangeOfARefusedAdmission: an admission that moves
// the breaker from Open to HalfOpen and is then refused (another caller
// took the probe slot in between) reports the change to the refused call,
// before its Done.
func TestObserverBreakerChangeOfARefusedAdmission(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var other *retry.Policy
		var held retry.Progress
		b, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Minute,
			OnStateChange: func(_, to retry.BreakerState) {
				if to == retry.BreakerHalfOpen && other != nil {
					// Another caller is admitted as the probe meanwhile.
					var err error
					_, held, err = other.Begin(context.Background(), retry.Progress{}, time.Now())
					require.NoError(t, err)
				}
			}})
		require.NoError(t, err)
		require.ErrorIs(t, b.Run(context.Background(), func(context.Context) error { return errA }), errA)
		other = newPolicy(t, retry.WithBreaker(b))
		time.Sleep(time.Minute)

		var r recorder
		err = retry.Run(context.Background(), func(context.Context) error { return nil }, retry.WithBreaker(b), retry.WithObserver(r.observer()))
		require.ErrorIs(t, err, retry.ErrCircuitOpen)
		assert.Equal(t, []string{"breaker open->half-open", "done 0 circuit_open waited=0s elapsed=0s"}, r.events)
		require.NoError(t, other.Succeeded(context.Background(), held, time.Now()))
	})
}
