package retry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errBreakerOp = errors.New("breaker test: transient")

func mustBreaker(t testing.TB, c BreakerConfig) *Breaker {
	t.Helper()
	b, err := NewBreaker(c)
	require.NoError(t, err)
	b.tl.since(time.Now()) // the tests count bucket periods from the breaker's making
	return b
}

// transitions records the breaker's state changes, for OnStateChange.
type transitions struct {
	mu  sync.Mutex
	got []string
}

func (tr *transitions) hook(from, to BreakerState) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.got = append(tr.got, from.String()+"->"+to.String())
}

func (tr *transitions) list() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.got...)
}

// admit asks b for an admission that must be granted.
func admit(t *testing.T, b *Breaker) ticket {
	t.Helper()
	tk, ok := b.allowNow()
	require.True(t, ok, "admission refused in state %v", b.State())
	return tk
}

func failN(t *testing.T, b *Breaker, n int) {
	t.Helper()
	for range n {
		b.failNow(admit(t, b))
	}
}

func TestStateString(t *testing.T) {
	assert.Equal(t, "closed", BreakerClosed.String())
	assert.Equal(t, "open", BreakerOpen.String())
	assert.Equal(t, "half-open", BreakerHalfOpen.String())
	assert.Equal(t, "BreakerState(7)", BreakerState(7).String())
}

func TestNewBreakerInvalid(t *testing.T) {
	tests := []struct {
		name string
		cfg  BreakerConfig
		msg  string
	}{
		{"negative threshold", BreakerConfig{FailureThreshold: -1}, "FailureThreshold must not be negative"},
		{"negative recovery", BreakerConfig{RecoveryTimeout: -time.Second}, "RecoveryTimeout must not be negative"},
		{"negative probes", BreakerConfig{HalfOpenProbes: -1}, "HalfOpenProbes must be in [0, 65535]"},
		{"too many probes", BreakerConfig{HalfOpenProbes: 1 << 16}, "HalfOpenProbes must be in [0, 65535]"},
		{"NaN rate", BreakerConfig{FailureRate: math.NaN()}, "FailureRate must be in [0, 1]"},
		{"negative rate", BreakerConfig{FailureRate: -0.5}, "FailureRate must be in [0, 1]"},
		{"rate above 1", BreakerConfig{FailureRate: 1.5}, "FailureRate must be in [0, 1]"},
		{"negative window", BreakerConfig{FailureRate: 0.5, Window: -1}, "Window must not be negative"},
		{"tiny window", BreakerConfig{FailureRate: 0.5, Window: 9}, "Window must be at least 10ns"},
		{"negative minimum", BreakerConfig{FailureRate: 0.5, MinimumCalls: -1}, "MinimumCalls must not be negative"},
		{"window without rate", BreakerConfig{Window: time.Minute}, "apply only with FailureRate"},
		{"minimum without rate", BreakerConfig{MinimumCalls: 3}, "apply only with FailureRate"},
		{"negative max recovery", BreakerConfig{MaxRecoveryTimeout: -1}, "MaxRecoveryTimeout must not be negative"},
		{"max recovery below default", BreakerConfig{MaxRecoveryTimeout: time.Second}, "must not be below RecoveryTimeout (30s)"},
		{"max recovery below recovery", BreakerConfig{RecoveryTimeout: time.Minute, MaxRecoveryTimeout: time.Second}, "must not be below RecoveryTimeout (1m0s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewBreaker(tt.cfg)
			assert.Nil(t, b)
			require.ErrorIs(t, err, ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

func TestNewBreakerDefaults(t *testing.T) {
	b := mustBreaker(t, BreakerConfig{})
	assert.Equal(t, int64(5), b.threshold)
	assert.Equal(t, int64(30*time.Second), b.recovery)
	assert.Equal(t, uint64(1), b.probes)
	assert.Zero(t, b.width, "failure-rate rule off")
	assert.Equal(t, BreakerClosed, b.State())

	r := mustBreaker(t, BreakerConfig{FailureRate: 0.5})
	assert.Zero(t, r.threshold, "the consecutive rule is off when only FailureRate is set")
	assert.Equal(t, int64(6*time.Second), r.width)
	assert.Equal(t, uint64(10), r.minCalls)

	both := mustBreaker(t, BreakerConfig{FailureRate: 0.5, FailureThreshold: 3, Window: time.Second, MinimumCalls: 4})
	assert.Equal(t, int64(3), both.threshold)
	assert.Equal(t, int64(100*time.Millisecond), both.width)
	assert.Equal(t, uint64(4), both.minCalls)
}

func TestBreakerConsecutiveFailuresOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr transitions
		b := mustBreaker(t, BreakerConfig{OnStateChange: tr.hook})
		failN(t, b, 4)
		b.succeedNow(admit(t, b)) // a success resets the run of failures
		failN(t, b, 4)
		assert.Equal(t, BreakerClosed, b.State())
		assert.Empty(t, tr.list())

		failN(t, b, 1)
		assert.Equal(t, BreakerOpen, b.State())
		assert.Equal(t, []string{"closed->open"}, tr.list())
		assert.Equal(t, BreakerStats{Failures: 9, Opened: 1}, b.Stats())

		_, ok := b.allowNow()
		assert.False(t, ok)
		assert.Equal(t, BreakerStats{Failures: 9, Rejected: 1, Opened: 1}, b.Stats())
	})
}

func TestBreakerHalfOpenAfterRecoveryTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr transitions
		b := mustBreaker(t, BreakerConfig{FailureThreshold: 1, RecoveryTimeout: 10 * time.Second, OnStateChange: tr.hook})
		failN(t, b, 1)

		time.Sleep(10*time.Second - time.Nanosecond)
		assert.Equal(t, BreakerOpen, b.State())
		_, ok := b.allowNow()
		assert.False(t, ok)

		time.Sleep(time.Nanosecond)
		assert.Equal(t, BreakerHalfOpen, b.State(), "reported before any attempt")
		assert.Equal(t, []string{"closed->open"}, tr.list(), "the change is recorded by the next attempt")

		probe := admit(t, b)
		assert.Equal(t, BreakerHalfOpen, b.State())
		assert.Equal(t, []string{"closed->open", "open->half-open"}, tr.list())
		_, ok = b.allowNow()
		assert.False(t, ok, "one probe at a time")

		b.succeedNow(probe)
		assert.Equal(t, BreakerClosed, b.State())
		assert.Equal(t, []string{"closed->open", "open->half-open", "half-open->closed"}, tr.list())
		assert.Equal(t, BreakerStats{Failures: 1, Rejected: 2, Opened: 1}, b.Stats())
	})
}

func TestBreakerProbeFailureReopens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var tr transitions
		b := mustBreaker(t, BreakerConfig{FailureThreshold: 2, RecoveryTimeout: time.Second, OnStateChange: tr.hook})
		failN(t, b, 2)
		time.Sleep(time.Second)
		b.failNow(admit(t, b))
		assert.Equal(t, BreakerOpen, b.State())
		assert.Equal(t, []string{"closed->open", "open->half-open", "half-open->open"}, tr.list())
		assert.Equal(t, BreakerStats{Failures: 3, Opened: 2}, b.Stats())

		time.Sleep(time.Second - time.Nanosecond)
		assert.Equal(t, BreakerOpen, b.State(), "reopened for RecoveryTimeout from the probe's failure")
		time.Sleep(time.Nanosecond)
		assert.Equal(t, BreakerHalfOpen, b.State())
	})
}

func TestBreakerSeveralProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBreaker(t, BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second, HalfOpenProbes: 3})
		failN(t, b, 1)
		time.Sleep(time.Second)

		p1, p2, p3 := admit(t, b), admit(t, b), admit(t, b)
		_, ok := b.allowNow()
		assert.False(t, ok, "three probes in flight")

		b.cancelNow(p1) // an attempt without outcome frees its slot
		p4 := admit(t, b)
		b.succeedNow(p2)
		b.succeedNow(p3)
		assert.Equal(t, BreakerHalfOpen, b.State(), "two successes of three")
		p5 := admit(t, b)
		b.succeedNow(p4)
		assert.Equal(t, BreakerClosed, b.State(), "three successes in a row close it")

		b.failNow(p5) // a probe of a half-open period that is over
		assert.Equal(t, BreakerClosed, b.State())
		assert.Zero(t, b.fails.Load(), "a stale outcome is not counted")
	})
}

func TestBreakerStaleClosedOutcomes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBreaker(t, BreakerConfig{FailureThreshold: 2, RecoveryTimeout: time.Second})
		early := admit(t, b)
		early2 := admit(t, b)
		failN(t, b, 2)
		require.Equal(t, BreakerOpen, b.State())
		time.Sleep(time.Second)
		b.succeedNow(admit(t, b))
		require.Equal(t, BreakerClosed, b.State())

		b.failNow(early) // admitted before the circuit opened
		b.failNow(early2)
		assert.Equal(t, BreakerClosed, b.State(), "failures from an earlier closed period do not count")
		assert.Zero(t, b.fails.Load())
		failN(t, b, 1)
		b.succeedNow(early)
		assert.Equal(t, int64(1), b.fails.Load(), "nor do successes")
	})
}

func TestBreakerCancelInClosedIsNothing(t *testing.T) {
	b := mustBreaker(t, BreakerConfig{FailureThreshold: 2})
	failN(t, b, 1)
	b.cancelNow(admit(t, b))
	assert.Equal(t, int64(1), b.fails.Load())
	assert.Equal(t, BreakerStats{Failures: 1}, b.Stats())
}

func TestBreakerLongerOpenOnRepeatedTrips(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const r = 10 * time.Second
		b := mustBreaker(t, BreakerConfig{FailureThreshold: 1, RecoveryTimeout: r, MaxRecoveryTimeout: 35 * time.Second})
		openTime := func() time.Duration { return time.Duration(b.openUntil.Load() - b.tl.since(time.Now())) }

		failN(t, b, 1)
		assert.Equal(t, r, openTime(), "the first trip is not lengthened")
		const capped = 35 * time.Second // 4r and 8r capped
		for _, bounds := range [][2]time.Duration{{r, 2 * r}, {capped / 2, capped}, {capped / 2, capped}} {
			time.Sleep(openTime())
			require.Equal(t, BreakerHalfOpen, b.State())
			b.failNow(admit(t, b))
			d := openTime()
			assert.GreaterOrEqual(t, d, bounds[0])
			assert.LessOrEqual(t, d, bounds[1])
		}
		time.Sleep(openTime())
		b.succeedNow(admit(t, b))
		require.Equal(t, BreakerClosed, b.State())
		failN(t, b, 1)
		assert.Equal(t, r, openTime(), "closing resets the lengthening")
	})
}

func TestBreakerOpenForIsJitteredAndBounded(t *testing.T) {
	b := mustBreaker(t, BreakerConfig{RecoveryTimeout: time.Second, MaxRecoveryTimeout: math.MaxInt64})
	seen := map[int64]bool{}
	for n := 1; n <= 100; n++ {
		d := b.openFor(n, nil)
		want := int64(math.MaxInt64)
		if f := math.Ldexp(float64(time.Second), n-1); f < math.MaxInt64 {
			want = int64(f)
		}
		assert.LessOrEqual(t, d, want, "trip %d", n)
		assert.GreaterOrEqual(t, d, max(want/2, int64(time.Second)), "trip %d", n)
		seen[d] = true
	}
	assert.Greater(t, len(seen), 90, "jittered")
	assert.Equal(t, int64(time.Second), mustBreaker(t, BreakerConfig{RecoveryTimeout: time.Second}).openFor(5, nil),
		"no lengthening by default")
}

func TestBreakerFailureRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBreaker(t, BreakerConfig{FailureRate: 0.5, Window: 10 * time.Second, MinimumCalls: 4})
		failN(t, b, 3)
		assert.Equal(t, BreakerClosed, b.State(), "3 calls are below the minimum")
		b.succeedNow(admit(t, b))
		assert.Equal(t, BreakerClosed, b.State(), "the rule is checked on failures")
		failN(t, b, 1)
		assert.Equal(t, BreakerOpen, b.State(), "4 failures of 5 calls")
	})
}

func TestBreakerFailureRateWindowExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBreaker(t, BreakerConfig{FailureRate: 0.5, Window: 10 * time.Second, MinimumCalls: 4, RecoveryTimeout: time.Second})
		failN(t, b, 3) // in bucket 0, [0s, 1s)
		time.Sleep(10 * time.Second)
		b.succeedNow(admit(t, b))
		failN(t, b, 1)
		assert.Equal(t, BreakerClosed, b.State(), "the first three failures left the window")

		time.Sleep(9*time.Second + 999*time.Millisecond) // still within the last 10 buckets
		failN(t, b, 1)
		assert.Equal(t, BreakerClosed, b.State(), "2 failures of 3 calls: below the minimum")
		failN(t, b, 1)
		assert.Equal(t, BreakerOpen, b.State(), "3 failures of 4 calls")
	})
}

func TestBreakerFailureRateClosingForgetsWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBreaker(t, BreakerConfig{FailureRate: 0.5, MinimumCalls: 2, RecoveryTimeout: time.Second})
		failN(t, b, 2)
		require.Equal(t, BreakerOpen, b.State())
		time.Sleep(time.Second)
		b.succeedNow(admit(t, b))
		require.Equal(t, BreakerClosed, b.State())
		failN(t, b, 1)
		assert.Equal(t, BreakerClosed, b.State(), "one failure in a fresh window is below the minimum")
		failN(t, b, 1)
		assert.Equal(t, BreakerOpen, b.State())
	})
}

func TestBreakerBothRules(t *testing.T) {
	b := mustBreaker(t, BreakerConfig{FailureThreshold: 2, FailureRate: 0.9, MinimumCalls: 100})
	failN(t, b, 2)
	assert.Equal(t, BreakerOpen, b.State(), "the consecutive rule applies beside the rate rule")
}

func TestBreakerRun(t *testing.T) {
	ctx := context.Background()
	b := mustBreaker(t, BreakerConfig{FailureThreshold: 2})
	calls := 0
	fail := func(context.Context) error { calls++; return errBreakerOp }

	assert.NoError(t, b.Run(ctx, func(context.Context) error { return nil }))
	assert.Same(t, errBreakerOp, b.Run(ctx, fail), "op's error comes back unchanged")
	perm := Permanent(errBreakerOp)
	assert.Same(t, perm, b.Run(ctx, func(context.Context) error { return perm }))
	assert.Equal(t, BreakerClosed, b.State(), "a Permanent error counts as a success")
	assert.Zero(t, b.fails.Load())

	notRetryable := selfRetryable(false)
	_ = b.Run(ctx, func(context.Context) error { return notRetryable })
	assert.Zero(t, b.fails.Load(), "an error that says it is not retryable is an answer")

	_ = b.Run(ctx, func(context.Context) error { return After(time.Second, errBreakerOp) })
	_ = b.Run(ctx, fail)
	assert.Equal(t, BreakerOpen, b.State(), "After and plain errors are failures")

	err := b.Run(ctx, fail)
	var re *Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, &Error{Reason: ErrCircuitOpen}, re)
	assert.Equal(t, 2, calls, "op not called while open")
}

type selfRetryable bool

func (e selfRetryable) Error() string   { return fmt.Sprintf("retryable=%v", bool(e)) }
func (e selfRetryable) Retryable() bool { return bool(e) }

func TestBreakerRunInvalid(t *testing.T) {
	ctx := context.Background()
	op := func(context.Context) error { return nil }
	var nilB *Breaker
	require.ErrorIs(t, nilB.Run(ctx, op), ErrInvalidConfig)
	require.ErrorIs(t, new(Breaker).Run(ctx, op), ErrInvalidConfig)
	b := mustBreaker(t, BreakerConfig{})
	require.ErrorIs(t, b.Run(ctx, nil), ErrInvalidConfig)
	//lint:ignore SA1012 a nil context must be reported, not panic
	require.ErrorIs(t, b.Run(nil, op), ErrInvalidConfig) //nolint:staticcheck

	cctx, cancel := context.WithCancelCause(ctx)
	cause := errors.New("caller gave up")
	cancel(cause)
	err := b.Run(cctx, func(ctx context.Context) error { return context.Cause(ctx) })
	assert.Same(t, cause, err, "op sees the ended context and answers for it")
	assert.Equal(t, BreakerStats{}, b.Stats(), "the caller's own cancellation is no failure")
}

func TestBreakerRunCancellationAndPanicFreeTheProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBreaker(t, BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second})
		failN(t, b, 1)
		time.Sleep(time.Second)

		ctx, cancel := context.WithCancel(context.Background())
		err := b.Run(ctx, func(context.Context) error { cancel(); return errBreakerOp })
		assert.Same(t, errBreakerOp, err)
		assert.Equal(t, BreakerHalfOpen, b.State(), "cancellation is no outcome")

		assert.Panics(t, func() {
			_ = b.Run(context.Background(), func(context.Context) error { panic("boom") })
		})
		assert.Equal(t, BreakerHalfOpen, b.State())
		assert.NoError(t, b.Run(context.Background(), func(context.Context) error { return nil }),
			"the slot was freed")
		assert.Equal(t, BreakerClosed, b.State())
	})
}

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
	assert.Equal(t, BreakerStats{Failures: 2, Rejected: 1, Opened: 1}, b.Stats())
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
		assert.Equal(t, BreakerStats{Failures: 2, Rejected: 1, Opened: 1}, b.Stats())
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

// 64 goroutines hammer one breaker through open, half-open and closed
// periods: in each half-open period, never more than HalfOpenProbes probes
// are in flight at once.
func TestBreakerConcurrentProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const probes = 3
		b := mustBreaker(t, BreakerConfig{FailureThreshold: 4, RecoveryTimeout: 5 * time.Millisecond, HalfOpenProbes: probes})
		var mu sync.Mutex
		running := map[uint64]int{} // probes in flight per half-open generation
		peak := 0
		var admittedProbes atomic.Int64
		var wg sync.WaitGroup
		for g := range 64 {
			wg.Go(func() {
				for i := range 300 {
					tk, ok := b.allowNow()
					if !ok {
						time.Sleep(time.Millisecond)
						continue
					}
					probe := kindOf(uint64(tk)) == BreakerHalfOpen
					if probe {
						admittedProbes.Add(1)
						mu.Lock()
						running[genOf(uint64(tk))]++
						peak = max(peak, running[genOf(uint64(tk))])
						mu.Unlock()
					}
					runtime.Gosched()
					if probe {
						mu.Lock()
						running[genOf(uint64(tk))]--
						mu.Unlock()
					}
					switch (g + i) % 5 {
					case 0, 1:
						b.failNow(tk)
					case 2:
						b.cancelNow(tk)
					default:
						b.succeedNow(tk)
					}
				}
			})
		}
		wg.Wait()
		assert.LessOrEqual(t, peak, probes)
		assert.Positive(t, admittedProbes.Load(), "the breaker went through half-open periods")
		assert.Positive(t, b.Stats().Opened)
	})
}

// The same through Run and through Do, deterministically: while the probes
// block, every other caller is refused, and when they succeed the circuit
// closes.
func TestBreakerConcurrentRunInHalfOpen(t *testing.T) {
	calls := map[string]func(b *Breaker, op func(context.Context) error) error{
		"Run": func(b *Breaker, op func(context.Context) error) error { return b.Run(context.Background(), op) },
		"Do": func(b *Breaker, op func(context.Context) error) error {
			return Run(context.Background(), op, WithBreaker(b), WithMaxAttempts(1))
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const probes = 2
				b := mustBreaker(t, BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second, HalfOpenProbes: probes})
				failN(t, b, 1)
				time.Sleep(time.Second)

				release := make(chan struct{})
				var running, rejected atomic.Int64
				var wg sync.WaitGroup
				for range 64 {
					wg.Go(func() {
						err := call(b, func(context.Context) error {
							running.Add(1)
							<-release
							return nil
						})
						if errors.Is(err, ErrCircuitOpen) {
							rejected.Add(1)
						}
					})
				}
				synctest.Wait()
				assert.Equal(t, int64(probes), running.Load())
				assert.Equal(t, int64(64-probes), rejected.Load())
				close(release)
				wg.Wait()
				assert.Equal(t, BreakerClosed, b.State())
				assert.Equal(t, uint64(64-probes), b.Stats().Rejected)
			})
		})
	}
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

// An attempt whose goroutine read the clock a whole window before it
// records its outcome must not reset a bucket that now counts a later
// period: that would erase the later period's failures.
func TestBreakerFailureRateStaleRecordKeepsNewerBucket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBreaker(t, BreakerConfig{FailureRate: 0.5, Window: 10 * time.Second, MinimumCalls: 4})
		time.Sleep(15 * time.Second) // bucket period 15, in bucket 5
		failN(t, b, 3)

		assert.False(t, b.recordAt(5, false), "an attempt that read the clock in period 5")
		w := b.buckets[5].Load()
		assert.Equal(t, uint64(15), w>>tagShift, "the bucket still counts period 15")
		assert.Equal(t, uint64(3), w>>bucketCount&bucketMax, "failures")
		assert.Equal(t, uint64(3), w&bucketMax, "attempts")

		b.recordAt(14, true) // a late attempt still in the window counts
		assert.Equal(t, uint64(14), b.buckets[4].Load()>>tagShift)
		require.Equal(t, BreakerClosed, b.State())
		failN(t, b, 1)
		assert.Equal(t, BreakerOpen, b.State(), "5 failures of 5 attempts, none lost")
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

// A state-change hook that panics must not leave the breaker's lock held:
// the panic reaches the caller whose attempt caused the change, and the
// breaker goes on working.
func TestBreakerHookPanicKeepsBreakerUsable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBreaker(t, BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second,
			OnStateChange: func(from, to BreakerState) { panic(from.String() + "->" + to.String()) }})
		unlocked := func() bool {
			if !b.mu.TryLock() {
				return false
			}
			b.mu.Unlock()
			return true
		}
		assert.PanicsWithValue(t, "closed->open", func() { failN(t, b, 1) })
		assert.True(t, unlocked(), "after closed->open")
		assert.Equal(t, BreakerOpen, b.State())

		time.Sleep(time.Second)
		assert.PanicsWithValue(t, "open->half-open", func() { b.allowNow() })
		assert.True(t, unlocked(), "after open->half-open")

		tk := admit(t, b)
		assert.PanicsWithValue(t, "half-open->closed", func() { b.succeedNow(tk) })
		assert.True(t, unlocked(), "after half-open->closed")
		assert.Equal(t, BreakerClosed, b.State())
	})
}
