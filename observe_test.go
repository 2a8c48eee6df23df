package retry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// recorder is an Observer that writes each event as a line.
type recorder struct {
	events []string
	waited time.Duration // from Done
	durs   []time.Duration
}

type obsKey struct{}

func (r *recorder) observer() *retry.Observer {
	return &retry.Observer{
		AttemptStart: func(ctx context.Context, e retry.AttemptStartInfo) context.Context {
			r.events = append(r.events, fmt.Sprintf("start %d/%d", e.Attempt, e.MaxAttempts))
			return context.WithValue(ctx, obsKey{}, e.Attempt)
		},
		AttemptEnd: func(ctx context.Context, e retry.AttemptEndInfo) {
			r.durs = append(r.durs, e.Duration)
			r.events = append(r.events, fmt.Sprintf("end %d ctx=%v err=%v stop=%s", e.Attempt, ctx.Value(obsKey{}), e.Err, stopWord(e.Stop)))
		},
		RetryScheduled: func(_ context.Context, e retry.RetryInfo) {
			r.events = append(r.events, fmt.Sprintf("retry %d wait=%v hint=%v/%v", e.Attempt, e.Wait, e.Hint > 0, e.Hint))
		},
		BudgetRefused: func(_ context.Context, e retry.BudgetRefusedInfo) {
			r.events = append(r.events, fmt.Sprintf("budget refused %d err=%v", e.Attempt, e.Err))
		},
		BreakerChange: func(_ context.Context, e retry.BreakerChangeInfo) {
			r.events = append(r.events, fmt.Sprintf("breaker %v->%v", e.From, e.To))
		},
		Done: func(_ context.Context, e retry.DoneInfo) {
			r.waited = e.Waited
			r.events = append(r.events, fmt.Sprintf("done %d %s waited=%v elapsed=%v", e.Attempts, retry.ReasonOf(e.Err), e.Waited, e.Elapsed))
		},
	}
}

func stopWord(err error) string {
	if err == nil {
		return "-"
	}
	return retry.ReasonOf(err)
}

// failNTimes fails n times with err, then succeeds; each attempt takes
// attemptTime of virtual time and checks that it runs with the context
// of its AttemptStart.
func failNTimes(t *testing.T, n int, err error, attemptTime time.Duration) func(context.Context) (int, error) {
	calls := 0
	return func(ctx context.Context) (int, error) {
		calls++
		assert.Equal(t, calls, ctx.Value(obsKey{}), "op runs under the context AttemptStart returned")
		time.Sleep(attemptTime)
		if calls <= n {
			return calls, err
		}
		return calls, nil
	}
}

// TestObserverThreeFailuresThenSuccess: 4 starts, 4 ends, 3 retries and 1
// done, in order, with Do and with a loop of Begin/Failed/Succeeded; the
// total wait is the virtual time slept between attempts.
func TestObserverThreeFailuresThenSuccess(t *testing.T) {
	errA := errors.New("a")
	want := []string{
		"start 1/5", "end 1 ctx=1 err=a stop=-", "retry 1 wait=100ms hint=false/0s",
		"start 2/5", "end 2 ctx=2 err=a stop=-", "retry 2 wait=200ms hint=false/0s",
		"start 3/5", "end 3 ctx=3 err=a stop=-", "retry 3 wait=3s hint=true/3s",
		"start 4/5", "end 4 ctx=4 err=<nil> stop=-",
		"done 4 success waited=3.3s elapsed=3.7s",
	}
	opts := func(r *recorder) []retry.Option {
		return []retry.Option{retry.WithMaxAttempts(5), retry.WithJitter(retry.NoJitter), retry.WithObserver(r.observer())}
	}
	hintOnThird := func(err error, n int) error {
		if n == 3 {
			return retry.After(3*time.Second, err)
		}
		return err
	}
	t.Run("Do", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var r recorder
			op := failNTimes(t, 3, errA, 100*time.Millisecond)
			start := time.Now()
			v, err := retry.Do(context.Background(), func(ctx context.Context) (int, error) {
				v, err := op(ctx)
				if err != nil {
					err = hintOnThird(err, v)
				}
				return v, err
			}, opts(&r)...)
			require.NoError(t, err)
			assert.Equal(t, 4, v)
			assert.Equal(t, want, r.events)
			assert.Equal(t, time.Since(start)-4*100*time.Millisecond, r.waited, "the waits are the time slept between attempts")
			assert.Equal(t, []time.Duration{100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond}, r.durs)
		})
	})
	t.Run("Begin/Failed/Succeeded", func(t *testing.T) {
		var r recorder
		p := newPolicy(t, opts(&r)...)
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		start := now
		var pr retry.Progress
		ctx := context.Background()
		for n := 1; ; n++ {
			actx, next, err := p.Begin(ctx, pr, now)
			require.NoError(t, err)
			assert.Equal(t, n, actx.Value(obsKey{}))
			now = now.Add(100 * time.Millisecond)
			if n == 4 {
				p.Succeeded(actx, next, now)
				break
			}
			v := p.Failed(actx, next, hintOnThird(errA, n), now)
			require.NoError(t, v.Err)
			now = now.Add(v.Wait)
			pr = v.Next
		}
		assert.Equal(t, want, r.events)
		assert.Equal(t, now.Sub(start)-4*100*time.Millisecond, r.waited)
	})
}

// TestObserverFirstTrySuccess: a first-try success is seen too.
func TestObserverFirstTrySuccess(t *testing.T) {
	var r recorder
	p := newPolicy(t, retry.WithObserver(r.observer()))
	_, err := retry.Do(context.Background(), func(context.Context) (int, error) { return 1, nil }, p)
	require.NoError(t, err)
	require.Len(t, r.events, 3)
	assert.Equal(t, "start 1/4", r.events[0])
	assert.Equal(t, "end 1 ctx=1 err=<nil> stop=-", r.events[1])
	assert.True(t, strings.HasPrefix(r.events[2], "done 1 success waited=0s"), r.events[2])
}

// TestObserverEndings: the events of calls that end in each way.
func TestObserverEndings(t *testing.T) {
	errA := errors.New("a")
	always := func(context.Context) (int, error) { return 0, errA }
	t.Run("exhausted", func(t *testing.T) {
		var r recorder
		_, err := retry.Do(context.Background(), always, retry.WithMaxAttempts(2), retry.WithBackoff(retry.Constant(0)), retry.WithObserver(r.observer()))
		require.Error(t, err)
		assert.Equal(t, []string{
			"start 1/2", "end 1 ctx=1 err=a stop=-", "retry 1 wait=0s hint=false/0s",
			"start 2/2", "end 2 ctx=2 err=a stop=exhausted", "done 2 exhausted waited=0s elapsed=" + lastElapsed(r.events),
		}, r.events)
	})
	t.Run("budget refused", func(t *testing.T) {
		var r recorder
		b, err := retry.NewBudget(retry.BudgetConfig{Capacity: 1})
		require.NoError(t, err)
		_, err = retry.Do(context.Background(), always, retry.WithBudget(b), retry.WithBackoff(retry.Constant(0)), retry.WithObserver(r.observer()))
		require.ErrorIs(t, err, retry.ErrBudgetExhausted)
		assert.Equal(t, []string{
			"start 1/4", "end 1 ctx=1 err=a stop=-", "retry 1 wait=0s hint=false/0s",
			"start 2/4", "end 2 ctx=2 err=a stop=budget", "budget refused 2 err=a",
			"done 2 budget waited=0s elapsed=" + lastElapsed(r.events),
		}, r.events)
	})
	t.Run("context already done", func(t *testing.T) {
		var r recorder
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := retry.Do(ctx, always, retry.WithObserver(r.observer()))
		require.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, []string{"done 0 canceled waited=0s elapsed=0s"}, r.events)
	})
	t.Run("canceled during the wait", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var r recorder
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(time.Second, cancel)
			_, err := retry.Do(ctx, always, retry.WithBackoff(retry.Constant(time.Hour)), retry.WithMaxDelay(0), retry.WithJitter(retry.NoJitter), retry.WithObserver(r.observer()))
			require.ErrorIs(t, err, context.Canceled)
			assert.Equal(t, []string{
				"start 1/4", "end 1 ctx=1 err=a stop=-", "retry 1 wait=1h0m0s hint=false/0s",
				"done 1 canceled waited=1s elapsed=1s",
			}, r.events)
		})
	})
}

// lastElapsed returns the elapsed= value of the last event, for calls
// whose elapsed time is real and not asserted.
func lastElapsed(events []string) string {
	if len(events) == 0 {
		return ""
	}
	_, after, _ := strings.Cut(events[len(events)-1], "elapsed=")
	return after
}

// TestObserverBreakerTransitions: the attempt that trips the breaker, the
// admission after the recovery timeout and the probe that closes it each
// report their change, to the call that caused it.
func TestObserverBreakerTransitions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errA := errors.New("a")
		b, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 2, RecoveryTimeout: time.Minute})
		require.NoError(t, err)
		var r recorder
		p := newPolicy(t, retry.WithBreaker(b), retry.WithBackoff(retry.Constant(0)), retry.WithObserver(r.observer()))
		_, err = retry.Do(context.Background(), func(context.Context) (int, error) { return 0, errA }, p)
		require.ErrorIs(t, err, retry.ErrCircuitOpen)
		assert.Equal(t, []string{
			"start 1/4", "end 1 ctx=1 err=a stop=-", "retry 1 wait=0s hint=false/0s",
			"start 2/4", "end 2 ctx=2 err=a stop=circuit_open", "breaker closed->open",
			"done 2 circuit_open waited=0s elapsed=0s",
		}, r.events)

		time.Sleep(time.Minute)
		r = recorder{}
		_, err = retry.Do(context.Background(), func(context.Context) (int, error) { return 1, nil }, p)
		require.NoError(t, err)
		assert.Equal(t, []string{
			"breaker open->half-open", "start 1/4", "end 1 ctx=1 err=<nil> stop=-", "breaker half-open->closed",
			"done 1 success waited=0s elapsed=0s",
		}, r.events)
		assert.Equal(t, retry.BreakerClosed, b.State())
	})
}

// TestPanickingObserver: a hook that panics reaches the caller and leaves
// the budget and the breaker as they were meant to be.
func TestPanickingObserver(t *testing.T) {
	errA := errors.New("a")
	boom := func() { panic("observer") }
	always := func(context.Context) (int, error) { return 0, errA }

	t.Run("retry hooks refund the budget", func(t *testing.T) {
		for _, o := range []*retry.Observer{
			{AttemptEnd: func(context.Context, retry.AttemptEndInfo) { boom() }},
			{RetryScheduled: func(context.Context, retry.RetryInfo) { boom() }},
		} {
			b, err := retry.NewBudget(retry.BudgetConfig{Capacity: 10})
			require.NoError(t, err)
			assert.PanicsWithValue(t, "observer", func() {
				_, _ = retry.Do(context.Background(), always, retry.WithBudget(b), retry.WithBackoff(retry.Constant(0)), retry.WithObserver(o))
			})
			assert.Equal(t, 10.0, b.Tokens(), "the retry that did not happen is refunded")
		}
	})
	t.Run("a timed-out attempt's retry is refunded at the timeout cost", func(t *testing.T) {
		b, err := retry.NewBudget(retry.BudgetConfig{Capacity: 10, TimeoutCost: 3})
		require.NoError(t, err)
		o := &retry.Observer{RetryScheduled: func(context.Context, retry.RetryInfo) { boom() }}
		assert.PanicsWithValue(t, "observer", func() {
			_, _ = retry.Do(context.Background(), func(context.Context) (int, error) { return 0, retry.TimedOut(errA) },
				retry.WithBudget(b), retry.WithBackoff(retry.Constant(0)), retry.WithObserver(o))
		})
		assert.Equal(t, 10.0, b.Tokens())
	})
	t.Run("done after a success keeps the deposit", func(t *testing.T) {
		b, err := retry.NewBudget(retry.BudgetConfig{Capacity: 10, PerSuccess: 1})
		require.NoError(t, err)
		_, _ = retry.Do(context.Background(), always, retry.WithBudget(b), retry.WithMaxAttempts(2), retry.WithBackoff(retry.Constant(0)))
		require.Equal(t, 9.0, b.Tokens())
		assert.PanicsWithValue(t, "observer", func() {
			_, _ = retry.Do(context.Background(), func(context.Context) (int, error) { return 1, nil }, retry.WithBudget(b),
				retry.WithObserver(&retry.Observer{Done: func(context.Context, retry.DoneInfo) { boom() }}))
		})
		assert.Equal(t, 10.0, b.Tokens())
	})
	for name, o := range map[string]*retry.Observer{
		"attempt start on a probe":    {AttemptStart: func(context.Context, retry.AttemptStartInfo) context.Context { boom(); return nil }},
		"breaker change at admission": {BreakerChange: func(context.Context, retry.BreakerChangeInfo) { boom() }},
	} {
		t.Run(name+" frees the probe slot", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Minute})
				require.NoError(t, err)
				require.ErrorIs(t, b.Run(context.Background(), func(context.Context) error { return errA }), errA)
				require.Equal(t, retry.BreakerOpen, b.State())
				time.Sleep(time.Minute)
				assert.PanicsWithValue(t, "observer", func() {
					_, _ = retry.Do(context.Background(), always, retry.WithBreaker(b), retry.WithObserver(o))
				})
				// The probe slot is free: the next attempt is admitted as a probe.
				require.NoError(t, b.Run(context.Background(), func(context.Context) error { return nil }))
				assert.Equal(t, retry.BreakerClosed, b.State())
			})
		})
	}
	t.Run("caller-driven: attempt start on a probe", func(t *testing.T) {
		b, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Minute})
		require.NoError(t, err)
		p := newPolicy(t, retry.WithBreaker(b), retry.WithObserver(&retry.Observer{
			AttemptStart: func(ctx context.Context, e retry.AttemptStartInfo) context.Context {
				if e.Attempt == 2 {
					boom()
				}
				return ctx
			},
		}))
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		ctx, pr, err := p.Begin(context.Background(), retry.Progress{}, now)
		require.NoError(t, err)
		v := p.Failed(ctx, pr, errA, now)
		require.ErrorIs(t, v.Err, retry.ErrCircuitOpen) // tripped, open past the wait
		now = now.Add(time.Minute)
		assert.PanicsWithValue(t, "observer", func() { _, _, _ = p.Begin(context.Background(), v.Next, now) })
		_, pr, err = p.Begin(context.Background(), retry.Progress{}, now)
		require.NoError(t, err, "the probe slot is free")
		p.Succeeded(context.Background(), pr, now)
	})
}

// TestObserverAndNotify: WithNotify and WithObserver both hear of a retry.
func TestObserverAndNotify(t *testing.T) {
	var log []string
	p := newPolicy(t, retry.WithBackoff(retry.Constant(0)), retry.WithMaxAttempts(2),
		retry.WithNotify(func(_ context.Context, a retry.RetryInfo) { log = append(log, fmt.Sprint("notify ", a.Attempt)) }),
		retry.WithObserver(&retry.Observer{RetryScheduled: func(_ context.Context, e retry.RetryInfo) { log = append(log, fmt.Sprint("observer ", e.Attempt)) }}))
	_, _ = retry.Do(context.Background(), func(context.Context) (int, error) { return 0, errors.New("a") }, p)
	assert.Equal(t, []string{"notify 1", "observer 1"}, log)
}

// TestObserverAllocations: with an observer whose hooks allocate nothing,
// a success allocates nothing, and neither do zero-wait retries.
func TestObserverAllocations(t *testing.T) {
	var n int
	o := &retry.Observer{
		AttemptStart:   func(ctx context.Context, _ retry.AttemptStartInfo) context.Context { n++; return ctx },
		AttemptEnd:     func(context.Context, retry.AttemptEndInfo) { n++ },
		RetryScheduled: func(context.Context, retry.RetryInfo) { n++ },
		Done:           func(context.Context, retry.DoneInfo) { n++ },
	}
	p := newPolicy(t, retry.WithObserver(o), retry.WithBackoff(retry.Constant(0)))
	ctx := context.Background()
	succeed := func(context.Context) (int, error) { return 1, nil }
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = retry.Do(ctx, succeed, p) }), "success")
	calls := 0
	twoFailures := func(context.Context) (int, error) {
		calls++
		if calls%3 != 0 {
			return 0, errors.ErrUnsupported
		}
		return 1, nil
	}
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = retry.Do(ctx, twoFailures, p) }), "two zero-wait retries")
	assert.Positive(t, n)
}
