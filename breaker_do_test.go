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

func TestWithBreakerValidation(t *testing.T) {
	ctx := context.Background()
	op := func(context.Context) (int, error) { return 1, nil }
	_, err := Do(ctx, op, WithBreaker(&Breaker{}))
	require.ErrorIs(t, err, ErrInvalidConfig)
	assert.Contains(t, err.Error(), "not made by NewBreaker")

	b := mustBreaker(t, BreakerConfig{})
	p, err := NewPolicy(WithBreaker(b), WithBreaker(nil))
	require.NoError(t, err)
	assert.Nil(t, p.cfg.breaker, "a nil breaker removes an earlier one")

	var none *Breaker
	assert.Equal(t, BreakerClosed, none.State(), "a nil breaker is no breaker: closed")
	assert.Zero(t, none.Stats())
}

func TestDoBreakerRejectsFirstAttempt(t *testing.T) {
	b := mustBreaker(t, BreakerConfig{FailureThreshold: 1})
	failN(t, b, 1)
	v, err := Do(context.Background(), func(context.Context) (int, error) {
		t.Error("op called")
		return 1, nil
	}, WithBreaker(b))
	assert.Zero(t, v)
	var re *Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, &Error{Reason: ErrCircuitOpen}, re)
	assert.Equal(t, "retry: circuit breaker is open", err.Error())
}

func TestDoBreakerOpensDuringRetries(t *testing.T) {
	b := mustBreaker(t, BreakerConfig{FailureThreshold: 2})
	calls := 0
	v, err := Do(context.Background(), func(context.Context) (int, error) {
		calls++
		return calls, After(0, errBreakerOp)
	}, WithBreaker(b), WithBackoff(Constant(0)), WithMaxAttempts(10))
	var re *Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, &Error{Attempts: 2, Last: errBreakerOp, Reason: ErrCircuitOpen}, re)
	assert.Equal(t, 2, v, "the last value comes back")
	assert.Equal(t, BreakerStats{Failures: 2, Opened: 1}, b.Stats(), "the retry is refused at the decision: no attempt asked")
}

// The outcome the loop reports for each kind of ending of an attempt.
func TestDoBreakerOutcomes(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		opts     []Option
		failures int64 // the breaker's run of failures after one call
	}{
		{"success", nil, nil, 0},
		{"retryable", errBreakerOp, nil, 1},
		{"permanent", Permanent(errBreakerOp), nil, 0},
		{"terminal by classifier", errBreakerOp, []Option{WithClassifier(StopOn(errBreakerOp))}, 0},
		{"retryable by classifier", errBreakerOp, []Option{WithClassifier(RetryOn(errBreakerOp))}, 1},
		{"hint", After(0, errBreakerOp), nil, 1},
		{"says not retryable", selfRetryable(false), nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustBreaker(t, BreakerConfig{FailureThreshold: 10})
			failN(t, b, 3) // a success must reset this run
			_, _ = Do(context.Background(), func(context.Context) (int, error) { return 0, tt.err },
				append(tt.opts, WithBreaker(b), WithMaxAttempts(1))...)
			want := tt.failures
			if want > 0 {
				want += 3
			}
			assert.Equal(t, want, b.fails.Load())
		})
	}
}

func TestDoBreakerAttemptTimeoutIsFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBreaker(t, BreakerConfig{FailureThreshold: 2})
		_, err := Do(context.Background(), func(ctx context.Context) (int, error) {
			<-ctx.Done()
			return 0, ctx.Err()
		}, WithBreaker(b), WithAttemptTimeout(time.Second), WithBackoff(Constant(0)))
		require.ErrorIs(t, err, ErrCircuitOpen)
		assert.Equal(t, BreakerOpen, b.State())
		assert.Equal(t, BreakerStats{Failures: 2, Opened: 1}, b.Stats(), "the retry is refused at the decision")
	})
}

func TestDoBreakerCallerCancellationFreesProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBreaker(t, BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second})
		failN(t, b, 1)
		time.Sleep(time.Second)

		ctx, cancel := context.WithCancel(context.Background())
		_, err := Do(ctx, func(context.Context) (int, error) { cancel(); return 0, errBreakerOp }, WithBreaker(b))
		require.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, BreakerHalfOpen, b.State())
		assert.Zero(t, inflightOf(b.st.Load()), "the probe slot was freed")
		assert.Equal(t, BreakerStats{Failures: 1, Opened: 1}, b.Stats())
	})
}

// A probe that succeeds inside Do closes the circuit, and the retry after a
// failed probe is refused: the circuit reopened.
func TestDoBreakerHalfOpenThroughDo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBreaker(t, BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second})
		failN(t, b, 1)
		time.Sleep(time.Second)
		_, err := Do(context.Background(), func(context.Context) (int, error) { return 0, errBreakerOp },
			WithBreaker(b), WithBackoff(Constant(0)))
		var re *Error
		require.ErrorAs(t, err, &re)
		assert.Equal(t, &Error{Attempts: 1, Last: errBreakerOp, Reason: ErrCircuitOpen}, re)

		time.Sleep(time.Second)
		v, err := Do(context.Background(), func(context.Context) (int, error) { return 7, nil }, WithBreaker(b))
		require.NoError(t, err)
		assert.Equal(t, 7, v)
		assert.Equal(t, BreakerClosed, b.State())
	})
}

// The waits between retries happen before admission: a breaker that opens
// during the wait refuses the next attempt.
func TestDoBreakerAdmissionAfterWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBreaker(t, BreakerConfig{FailureThreshold: 2})
		started := make(chan struct{})
		go func() {
			<-started
			failN(t, b, 1) // another caller's failure trips the breaker during our wait
		}()
		calls := 0
		_, err := Do(context.Background(), func(context.Context) (int, error) {
			calls++
			return 0, errBreakerOp
		}, WithBreaker(b), WithBackoff(Constant(time.Second)), WithJitter(NoJitter),
			WithNotify(func(context.Context, RetryInfo) { close(started); synctest.Wait() }))
		require.ErrorIs(t, err, ErrCircuitOpen)
		assert.Equal(t, 1, calls)
	})
}

// An operation that panics inside Do must not keep a half-open probe slot
// taken: with one probe, a leaked slot would refuse every later attempt
// for good. The panic counts as no outcome, as in Breaker.Run.
func TestDoBreakerPanicFreesTheProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBreaker(t, BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second})
		failN(t, b, 1)
		time.Sleep(time.Second)
		require.Equal(t, BreakerHalfOpen, b.State())

		assert.PanicsWithValue(t, "boom", func() {
			_, _ = Do(context.Background(), func(context.Context) (int, error) { panic("boom") }, WithBreaker(b))
		})
		assert.Equal(t, BreakerHalfOpen, b.State())
		assert.Zero(t, inflightOf(b.st.Load()), "the probe slot was freed")

		// A panic in a retry's probe, after a closed-period failure.
		b2 := mustBreaker(t, BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second})
		calls := 0
		assert.Panics(t, func() {
			_, _ = Do(context.Background(), func(context.Context) (int, error) {
				if calls++; calls == 1 {
					return 0, errBreakerOp
				}
				panic("boom")
			}, WithBreaker(b2), WithBackoff(Constant(2*time.Second)), WithJitter(NoJitter))
		})
		assert.Equal(t, 2, calls, "the retry ran as a half-open probe")
		assert.Equal(t, BreakerHalfOpen, b2.State())
		assert.Zero(t, inflightOf(b2.st.Load()), "the retry's probe slot was freed")

		v, err := Do(context.Background(), func(context.Context) (int, error) { return 7, nil }, WithBreaker(b))
		require.NoError(t, err)
		assert.Equal(t, 7, v)
		assert.Equal(t, BreakerClosed, b.State())
		assert.Equal(t, BreakerStats{Failures: 1, Opened: 1}, b.Stats(), "the panics were counted as nothing")
	})
}

// Errors the policy does not retry mean the dependency answered: however
// many of them arrive, they never open the circuit.
func TestDoBreakerPermanentNeverOpens(t *testing.T) {
	b := mustBreaker(t, BreakerConfig{FailureThreshold: 2})
	errNotFound := errors.New("404")
	for i := range 100 {
		err := errBreakerOp
		if i%2 == 0 {
			err = Permanent(errNotFound)
		}
		_, _ = Do(context.Background(), func(context.Context) (int, error) { return 0, err },
			WithBreaker(b), WithClassifier(StopOn(errBreakerOp)))
	}
	assert.Equal(t, BreakerClosed, b.State())
	assert.Equal(t, BreakerStats{}, b.Stats())
}

// One breaker shared by two policies and many goroutines: the failures of
// both count toward the same circuit, and once it opens both fail fast.
func TestBreakerSharedAcrossPolicies(t *testing.T) {
	b := mustBreaker(t, BreakerConfig{FailureThreshold: 50})
	p1, err := NewPolicy(WithBreaker(b), WithMaxAttempts(1))
	require.NoError(t, err)
	p2, err := NewPolicy(WithBreaker(b), WithMaxAttempts(1), WithClassifier(RetryOn(errBreakerOp)))
	require.NoError(t, err)
	var calls atomic.Int64
	op := func(context.Context) (int, error) { calls.Add(1); return 0, errBreakerOp }
	var wg sync.WaitGroup
	for g := range 8 {
		p := p1
		if g%2 == 1 {
			p = p2
		}
		wg.Go(func() {
			for range 25 {
				_, _ = Do(context.Background(), op, p)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, BreakerOpen, b.State())
	st := b.Stats()
	assert.Equal(t, uint64(1), st.Opened)
	assert.Equal(t, uint64(calls.Load()), st.Failures)
	assert.Equal(t, uint64(200), st.Failures+st.Rejected, "every call either ran and failed, or was refused")
	assert.GreaterOrEqual(t, calls.Load(), int64(50))
	for _, p := range []*Policy{p1, p2} {
		_, err := Do(context.Background(), op, p)
		assert.ErrorIs(t, err, ErrCircuitOpen)
	}
}
