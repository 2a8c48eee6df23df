package retry_test

import (
	"context"
	"errors"
	"fmt"
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

// maxDuration is the largest time.Duration, where strategies saturate.
const maxDuration = time.Duration(math.MaxInt64)

// TestStrategySaturation: strategy arithmetic saturates at the largest
// duration instead of overflowing, going negative, panicking or looping.
func TestStrategySaturation(t *testing.T) {
	tests := []struct {
		name  string
		s     retry.Strategy
		retry int
		want  time.Duration
	}{
		{"exponential hour x10 at 1000", retry.Exponential(time.Hour, 10), 1000, maxDuration},
		{"exponential at MaxInt", retry.Exponential(time.Millisecond, 1.0001), math.MaxInt, maxDuration},
		{"exponential multiplier 1 at MaxInt", retry.Exponential(time.Second, 1), math.MaxInt, time.Second},
		{"exponential last exact step", retry.Exponential(1, 2), 63, 1 << 62},
		{"exponential first overflow", retry.Exponential(1, 2), 64, maxDuration},
		{"linear at MaxInt", retry.Linear(time.Hour, time.Hour), math.MaxInt, maxDuration},
		{"linear from the largest", retry.Linear(maxDuration, 1), 2, maxDuration},
		{"linear just below saturation", retry.Linear(maxDuration-10, 1), 11, maxDuration},
		{"linear step 0 at MaxInt", retry.Linear(time.Second, 0), math.MaxInt, time.Second},
		{"fibonacci hour at 1000", retry.Fibonacci(time.Hour), 1000, maxDuration},
		{"fibonacci 1ns at 92, the largest int64 Fibonacci number", retry.Fibonacci(1), 92, 7540113804746346429},
		{"fibonacci 1ns at 93 overflows", retry.Fibonacci(1), 93, maxDuration},
		{"fibonacci 1ns at 1e9", retry.Fibonacci(1), 1_000_000_000, maxDuration},
		{"fibonacci 1ns at MaxInt", retry.Fibonacci(1), math.MaxInt, maxDuration},
		{"fibonacci 2ns at MaxInt", retry.Fibonacci(2), math.MaxInt, maxDuration},
		{"fibonacci zero unit at MaxInt", retry.Fibonacci(0), math.MaxInt, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.s.Delay(tt.retry))
		})
	}
}

// TestPermanentAnywhereInChain: Permanent anywhere in the error chain stops
// the loop with ErrPermanent, whatever wraps it (an After hint included)
// and whatever the classifiers say.
func TestPermanentAnywhereInChain(t *testing.T) {
	errA := errors.New("a")
	tests := []struct {
		name string
		err  error
	}{
		{"bare", retry.Permanent(errA)},
		{"wrapped by fmt", fmt.Errorf("op: %w", retry.Permanent(errA))},
		{"inside After", retry.After(0, retry.Permanent(errA))},
		{"After inside Permanent", retry.Permanent(retry.After(0, errA))},
		{"wrapped After around Permanent", fmt.Errorf("op: %w", retry.After(0, retry.Permanent(errA)))},
		{"in a join after an After", errors.Join(retry.After(0, errors.New("b")), retry.Permanent(errA))},
		{"in a join", errors.Join(errors.New("b"), retry.Permanent(errA))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			_, err := retry.Do(context.Background(), func(context.Context) (int, error) {
				calls++
				return calls, tt.err
			}, retry.WithClassifier(retry.RetryOn(errA)), retry.WithBackoff(retry.Constant(0)))
			assert.Equal(t, 1, calls)
			require.ErrorIs(t, err, retry.ErrPermanent)
			assert.ErrorIs(t, err, errA)
		})
	}
}

// TestNestedWrappersAreStripped: Error.Last and Attempt.Err carry the
// operation's error without any of the Permanent and After wrappers
// stacked on top of it.
func TestNestedWrappersAreStripped(t *testing.T) {
	errA := errors.New("a")
	tests := []struct {
		name   string
		err    error
		reason error
	}{
		{"Permanent of Permanent", retry.Permanent(retry.Permanent(errA)), retry.ErrPermanent},
		{"After of Permanent", retry.After(0, retry.Permanent(errA)), retry.ErrPermanent},
		{"Permanent of After", retry.Permanent(retry.After(0, errA)), retry.ErrPermanent},
		{"After of After", retry.After(0, retry.After(0, errA)), retry.ErrExhausted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []error
			_, err := retry.Do(context.Background(), func(context.Context) (int, error) { return 0, tt.err },
				retry.WithMaxAttempts(2), retry.WithBackoff(retry.Constant(0)),
				retry.WithNotify(func(_ context.Context, a retry.RetryInfo) { got = append(got, a.Err) }))
			var re *retry.Error
			require.ErrorAs(t, err, &re)
			assert.Equal(t, tt.reason, re.Reason)
			assert.Same(t, errA, re.Last)
			for _, e := range got {
				assert.Same(t, errA, e)
			}
		})
	}
}

// TestJitterOutsideItsRange: a Jitter is made only by its named values
// and ProportionalJitter (WithJitter(7) does not compile); a fraction
// outside [0, 1] makes the policy invalid instead of producing negative or
// meaningless waits, and the zero Jitter is NoJitter.
func TestJitterOutsideItsRange(t *testing.T) {
	for _, f := range []float64{-0.1, 1.01, 5, math.Inf(1), math.Inf(-1), math.NaN()} {
		p, err := retry.NewPolicy(retry.WithJitter(retry.ProportionalJitter(f)))
		require.ErrorIs(t, err, retry.ErrInvalidConfig, "fraction %v", f)
		assert.ErrorContains(t, err, "ProportionalJitter")
		assert.Nil(t, p)
	}
	for _, f := range []float64{0, 0.25, 1} {
		_, err := retry.NewPolicy(retry.WithJitter(retry.ProportionalJitter(f)))
		assert.NoError(t, err, "fraction %v", f)
	}
	assert.Equal(t, retry.NoJitter, retry.Jitter{})
}

var (
	errA = errors.New("a: transient")
	errB = errors.New("b: transient")
	errC = errors.New("c: transient")
)

// newPolicy builds a policy or fails the test.
func newPolicy(t testing.TB, opts ...retry.Option) *retry.Policy {
	t.Helper()
	p, err := retry.NewPolicy(opts...)
	require.NoError(t, err)
	return p
}

// failing returns an operation that always fails with err and returns the
// number of its call as its value, and a pointer to that count.
func failing(err error) (func(context.Context) (int, error), *int) {
	calls := new(int)
	return func(context.Context) (int, error) {
		*calls++
		return *calls, err
	}, calls
}

// asError returns err as a *retry.Error, failing the test otherwise.
func asError(t testing.TB, err error) *retry.Error {
	t.Helper()
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	return re
}

// notes records the attempts reported through WithNotify.
type notes struct{ list []retry.RetryInfo }

func (n *notes) hook(_ context.Context, a retry.RetryInfo) { n.list = append(n.list, a) }

func (n *notes) delays() []time.Duration {
	ds := make([]time.Duration, len(n.list))
	for i, a := range n.list {
		ds[i] = a.Wait
	}
	return ds
}

func sum(ds []time.Duration) time.Duration {
	var s time.Duration
	for _, d := range ds {
		s += d
	}
	return s
}

// pause blocks for d of virtual time. It is only called inside a synctest
// bubble, where the clock is fake and nothing really sleeps.
func pause(d time.Duration) { <-time.After(d) }

// seeded returns a fresh random source for reproducible jitter.
func seeded(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

func TestDefaultConstants(t *testing.T) {
	assert.Equal(t, 4, retry.DefaultMaxAttempts)
	assert.Equal(t, 100*time.Millisecond, retry.DefaultInitial)
	assert.Equal(t, 2.0, retry.DefaultMultiplier)
	assert.Equal(t, 30*time.Second, retry.DefaultMaxDelay)
}

// TestDefaultsWithoutJitter: 4 attempts, waits of 100ms, 200ms and 400ms,
// no wait after the last attempt: 700ms of virtual time in all.
func TestDefaultsWithoutJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		op, calls := failing(errA)
		var n notes
		start := time.Now()
		v, err := retry.Do(context.Background(), op, retry.WithJitter(retry.NoJitter), retry.WithNotify(n.hook))
		assert.Equal(t, 700*time.Millisecond, time.Since(start))
		assert.Equal(t, 4, *calls)
		assert.Equal(t, 4, v, "the last value comes back")
		require.ErrorIs(t, err, retry.ErrExhausted)
		assert.ErrorIs(t, err, errA)
		assert.Equal(t, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}, n.delays())
	})
}

// TestDefaultCap: without jitter the default schedule doubles from 100ms
// and is capped at 30s.
func TestDefaultCap(t *testing.T) {
	got := newPolicy(t, retry.WithJitter(retry.NoJitter)).Schedule(14)
	want := []time.Duration{100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000, 30000, 30000, 30000, 30000}
	for i := range want {
		want[i] *= time.Millisecond
	}
	assert.Equal(t, want, got)
}

// TestDefaultFullJitter: by default each wait is uniform in [0, base]; the
// virtual time spent is exactly the sum of the waits chosen.
func TestDefaultFullJitter(t *testing.T) {
	for seed := range uint64(20) {
		synctest.Test(t, func(t *testing.T) {
			op, calls := failing(errA)
			var n notes
			start := time.Now()
			_, err := retry.Do(context.Background(), op, retry.WithRand(seeded(seed)), retry.WithNotify(n.hook))
			assert.Equal(t, sum(n.delays()), time.Since(start))
			require.ErrorIs(t, err, retry.ErrExhausted)
			assert.Equal(t, 4, *calls)
			require.Len(t, n.list, 3)
			for i, base := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond} {
				d := n.list[i].Wait
				assert.True(t, d >= 0 && d <= base, "seed %d retry %d: %v outside [0, %v]", seed, i+1, d, base)
				assert.NotEqual(t, base, d, "seed %d retry %d: jitter was not applied", seed, i+1)
			}
		})
	}
}

// TestDefaultRetriesEveryError: with no classifier, any error is retried
// (here a wrapped and a joined one).
func TestDefaultRetriesEveryError(t *testing.T) {
	for _, e := range []error{errA, fmt.Errorf("x: %w", errA), errors.Join(errA, errB), context.Canceled, context.DeadlineExceeded} {
		op, calls := failing(e)
		_, err := retry.Do(context.Background(), op, retry.WithBackoff(retry.Constant(0)))
		assert.ErrorIs(t, err, retry.ErrExhausted, "%v", e)
		assert.Equal(t, 4, *calls, "%v", e)
	}
}

// TestCapComesBeforeJitter: the strategy's delay is capped first and then
// jittered, so a capped delay stays jittered; the wait never exceeds the
// cap.
func TestCapComesBeforeJitter(t *testing.T) {
	const limit = 1500 * time.Millisecond
	strategy := retry.Exponential(time.Second, 2) // 1s, 2s, 4s, …: capped from retry 2
	tests := []struct {
		name   string
		jitter retry.Jitter
		lo, hi time.Duration // bounds of every wait after retry 1
	}{
		{"none", retry.NoJitter, limit, limit},
		{"full", retry.FullJitter, 0, limit},
		{"equal", retry.EqualJitter, limit / 2, limit},
		{"proportional", retry.ProportionalJitter(0.5), limit / 2, limit},
		{"decorrelated", retry.DecorrelatedJitter, time.Second, limit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPolicy(t, retry.WithBackoff(strategy), retry.WithMaxDelay(limit), retry.WithJitter(tt.jitter), retry.WithRand(seeded(7)))
			waits := p.Schedule(200)[1:]
			below := 0
			for _, w := range waits {
				require.True(t, w >= tt.lo && w <= tt.hi, "%v outside [%v, %v]", w, tt.lo, tt.hi)
				if w < limit-limit/10 {
					below++
				}
			}
			switch tt.jitter {
			case retry.NoJitter:
				assert.Zero(t, below)
			case retry.DecorrelatedJitter:
				// min(cap, U[first, 3×previous]): mostly at the cap, by design.
				assert.Positive(t, below)
			default:
				// Jitter after the cap spreads the waits below it; jitter
				// before the cap would leave almost every wait at the cap.
				assert.Greater(t, below, len(waits)/4, "the capped delay was not jittered")
			}
		})
	}
}

// TestNoWaitAfterLastAttempt: the loop returns right after the last
// attempt, without a final wait and without a notification.
func TestNoWaitAfterLastAttempt(t *testing.T) {
	for _, attempts := range []int{1, 2, 3, 7} {
		synctest.Test(t, func(t *testing.T) {
			op, calls := failing(errA)
			var n notes
			start := time.Now()
			_, err := retry.Do(context.Background(), op, retry.WithMaxAttempts(attempts),
				retry.WithBackoff(retry.Constant(time.Second)), retry.WithJitter(retry.NoJitter), retry.WithNotify(n.hook))
			assert.Equal(t, time.Duration(attempts-1)*time.Second, time.Since(start))
			assert.Equal(t, attempts, *calls)
			assert.Len(t, n.list, attempts-1)
			assert.Equal(t, attempts, asError(t, err).Attempts)
			assert.ErrorIs(t, err, retry.ErrExhausted)
		})
	}
}

// TestUnlimitedAttempts: WithMaxAttempts(0) means no limit.
func TestUnlimitedAttempts(t *testing.T) {
	calls := 0
	v, err := retry.Do(context.Background(), func(context.Context) (int, error) {
		calls++
		if calls < 50 {
			return 0, errA
		}
		return calls, nil
	}, retry.WithMaxAttempts(0), retry.WithBackoff(retry.Constant(0)))
	require.NoError(t, err)
	assert.Equal(t, 50, v)
}

// TestWaitThatWouldEndPastTheLimit: the loop never starts a wait that
// would end at or after the context's deadline (reason
// context.DeadlineExceeded) or the elapsed limit (ErrMaxElapsed); it
// returns at once, before the context is done. Waits are 100ms, 200ms,
// 400ms, so attempts start at 0, 100ms, 300ms and 700ms.
func TestWaitThatWouldEndPastTheLimit(t *testing.T) {
	tests := []struct {
		limit    time.Duration
		attempts int
		at       time.Duration
		reason   error // for the elapsed limit; the deadline gives context.DeadlineExceeded
	}{
		{50 * time.Millisecond, 1, 0, retry.ErrMaxElapsed},
		{100 * time.Millisecond, 1, 0, retry.ErrMaxElapsed}, // the wait would end at the limit
		{101 * time.Millisecond, 2, 100 * time.Millisecond, retry.ErrMaxElapsed},
		{500 * time.Millisecond, 3, 300 * time.Millisecond, retry.ErrMaxElapsed},
		{700 * time.Millisecond, 3, 300 * time.Millisecond, retry.ErrMaxElapsed},
		{701 * time.Millisecond, 4, 700 * time.Millisecond, retry.ErrExhausted},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("deadline %v", tt.limit), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), tt.limit)
				defer cancel()
				op, calls := failing(errA)
				start := time.Now()
				v, err := retry.Do(ctx, op, retry.WithJitter(retry.NoJitter))
				assert.Equal(t, tt.at, time.Since(start))
				assert.NoError(t, ctx.Err(), "returned at once, before the deadline")
				assert.Equal(t, tt.attempts, *calls)
				assert.Equal(t, tt.attempts, v)
				re := asError(t, err)
				assert.Equal(t, tt.attempts, re.Attempts)
				assert.Equal(t, errA, re.Last)
				if tt.reason == retry.ErrExhausted {
					assert.Equal(t, retry.ErrExhausted, re.Reason)
				} else {
					assert.Equal(t, context.DeadlineExceeded, re.Reason)
				}
			})
		})
		t.Run(fmt.Sprintf("max elapsed %v", tt.limit), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				op, calls := failing(errA)
				start := time.Now()
				v, err := retry.Do(context.Background(), op, retry.WithJitter(retry.NoJitter), retry.WithMaxElapsed(tt.limit))
				assert.Equal(t, tt.at, time.Since(start))
				assert.Equal(t, tt.attempts, *calls)
				assert.Equal(t, tt.attempts, v)
				re := asError(t, err)
				assert.Equal(t, tt.reason, re.Reason)
				assert.Equal(t, errA, re.Last)
			})
		})
	}
}

// TestHugeWaitAgainstTheLimits: a wait near the largest duration is checked
// against the elapsed limit and the deadline without overflowing: the loop
// stops at once instead of starting a wait of centuries.
func TestHugeWaitAgainstTheLimits(t *testing.T) {
	huge := time.Duration(math.MaxInt64)
	for _, tt := range []struct {
		name string
		wait retry.Option
	}{
		{"strategy", retry.WithBackoff(retry.Constant(huge))},
		{"hint", retry.WithBackoff(retry.Constant(0))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				op := func(context.Context) (int, error) {
					pause(time.Millisecond) // some time has elapsed when the wait is checked
					if tt.name == "hint" {
						return 0, retry.After(huge, errA)
					}
					return 0, errA
				}
				start := time.Now()
				_, err := retry.Do(context.Background(), op, tt.wait, retry.WithMaxDelay(0),
					retry.WithJitter(retry.NoJitter), retry.WithMaxElapsed(time.Hour))
				assert.Equal(t, time.Millisecond, time.Since(start))
				re := asError(t, err)
				assert.Equal(t, retry.ErrMaxElapsed, re.Reason)
				assert.Equal(t, 1, re.Attempts)
			})
		})
	}
}

// TestMaxElapsedDoesNotInterruptAnAttempt: the elapsed limit only stops
// retrying; an attempt that runs past it finishes.
func TestMaxElapsedDoesNotInterruptAnAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		start := time.Now()
		_, err := retry.Do(context.Background(), func(ctx context.Context) (int, error) {
			calls++
			pause(time.Second)
			assert.NoError(t, ctx.Err(), "the attempt's context is not cut by the elapsed limit")
			return 0, errA
		}, retry.WithMaxElapsed(500*time.Millisecond), retry.WithBackoff(retry.Constant(0)))
		assert.Equal(t, time.Second, time.Since(start))
		assert.Equal(t, 1, calls)
		assert.ErrorIs(t, err, retry.ErrMaxElapsed)
	})
}

// TestHints: After(d, err) replaces the computed wait with d plus a
// full-jitter spread of the base delay, or exactly d under WithExactHints
// or NoJitter; it overrides the classifiers.
func TestHints(t *testing.T) {
	const hint = time.Second
	const base = 100 * time.Millisecond
	tests := []struct {
		name   string
		opts   []retry.Option
		lo, hi time.Duration // bounds of each wait
	}{
		{"default jitter adds a spread", nil, hint, hint + base},
		{"equal jitter adds a full spread", []retry.Option{retry.WithJitter(retry.EqualJitter)}, hint, hint + base},
		{"exact hints", []retry.Option{retry.WithExactHints()}, hint, hint},
		{"no jitter", []retry.Option{retry.WithJitter(retry.NoJitter)}, hint, hint},
		{"the spread is clamped to the cap", []retry.Option{retry.WithMaxDelay(hint)}, hint, hint},
		{"no cap", []retry.Option{retry.WithMaxDelay(0)}, hint, hint + base},
		{"overrides a classifier that stops", []retry.Option{retry.WithClassifier(retry.StopOn(errA)), retry.WithExactHints()}, hint, hint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range uint64(10) {
				synctest.Test(t, func(t *testing.T) {
					var n notes
					opts := append([]retry.Option{retry.WithBackoff(retry.Constant(base)), retry.WithRand(seeded(seed)), retry.WithNotify(n.hook)}, tt.opts...)
					calls := 0
					start := time.Now()
					v, err := retry.Do(context.Background(), func(context.Context) (string, error) {
						calls++
						if calls < 3 {
							return "", retry.After(hint, errA)
						}
						return "ok", nil
					}, opts...)
					require.NoError(t, err)
					assert.Equal(t, "ok", v)
					require.Len(t, n.list, 2)
					for _, a := range n.list {
						assert.True(t, a.Wait >= tt.lo && a.Wait <= tt.hi, "%v outside [%v, %v]", a.Wait, tt.lo, tt.hi)
						assert.Equal(t, errA, a.Err, "the After wrapper is stripped")
					}
					assert.Equal(t, sum(n.delays()), time.Since(start))
				})
			}
		})
	}
}

// TestHintSpreadIsJittered: across seeds, the spread added to a hint is not
// constant.
func TestHintSpreadIsJittered(t *testing.T) {
	seen := map[time.Duration]bool{}
	for seed := range uint64(10) {
		synctest.Test(t, func(t *testing.T) {
			var n notes
			op, _ := failing(retry.After(time.Second, errA))
			start := time.Now()
			_, err := retry.Do(context.Background(), op, retry.WithMaxAttempts(2), retry.WithRand(seeded(seed)), retry.WithNotify(n.hook),
				retry.WithBackoff(retry.Constant(time.Millisecond)))
			require.ErrorIs(t, err, retry.ErrExhausted)
			require.Len(t, n.list, 1)
			assert.Equal(t, n.list[0].Wait, time.Since(start))
			seen[n.list[0].Wait] = true
		})
	}
	assert.Greater(t, len(seen), 1)
}

func TestHintEdgeCases(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		opts     []retry.Option
		attempts int
		elapsed  time.Duration
		reason   error
		after    time.Duration // Error.RetryAfter
	}{
		{"too long: stops at once", retry.After(5*time.Second, errA), []retry.Option{retry.WithMaxDelay(2 * time.Second)},
			1, 0, retry.ErrHintTooLong, 5 * time.Second},
		{"too long beats the default cap", retry.After(time.Minute, errA), nil, 1, 0, retry.ErrHintTooLong, time.Minute},
		{"equal to the cap is obeyed", retry.After(2*time.Second, errA), []retry.Option{retry.WithMaxDelay(2 * time.Second), retry.WithMaxAttempts(2)},
			2, 2 * time.Second, retry.ErrExhausted, 2 * time.Second},
		{"no cap: a long hint is obeyed", retry.After(time.Hour, errA), []retry.Option{retry.WithMaxDelay(0), retry.WithMaxAttempts(3), retry.WithExactHints()},
			3, 2 * time.Hour, retry.ErrExhausted, time.Hour},
		{"zero hint", retry.After(0, errA), []retry.Option{retry.WithExactHints()}, 4, 0, retry.ErrExhausted, 0},
		{"negative hint is zero", retry.After(-time.Second, errA), []retry.Option{retry.WithExactHints()}, 4, 0, retry.ErrExhausted, 0},
		{"the last attempt keeps its hint", retry.After(time.Second, errA), []retry.Option{retry.WithMaxAttempts(1)}, 1, 0, retry.ErrExhausted, time.Second},
		{"hint past the elapsed limit", retry.After(time.Second, errA), []retry.Option{retry.WithMaxElapsed(time.Second)}, 1, 0, retry.ErrMaxElapsed, time.Second},
		{"wrapped hint", fmt.Errorf("op: %w", retry.After(time.Second, errA)), []retry.Option{retry.WithExactHints(), retry.WithMaxAttempts(2)},
			2, time.Second, retry.ErrExhausted, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				op, calls := failing(tt.err)
				start := time.Now()
				v, err := retry.Do(context.Background(), op, tt.opts...)
				assert.Equal(t, tt.elapsed, time.Since(start))
				assert.Equal(t, tt.attempts, *calls)
				assert.Equal(t, tt.attempts, v, "the last value comes back")
				re := asError(t, err)
				assert.Equal(t, tt.reason, re.Reason)
				assert.Equal(t, tt.after, re.RetryAfter)
				assert.Equal(t, tt.attempts, re.Attempts)
				assert.ErrorIs(t, err, errA)
			})
		})
	}
}

// TestHintPastTheDeadline: a hint whose wait would end after the context's
// deadline stops at once with context.DeadlineExceeded and the hint.
func TestHintPastTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		op, calls := failing(retry.After(10*time.Second, errA))
		start := time.Now()
		_, err := retry.Do(ctx, op, retry.WithExactHints())
		assert.Zero(t, time.Since(start))
		assert.Equal(t, 1, *calls)
		re := asError(t, err)
		assert.Equal(t, context.DeadlineExceeded, re.Reason)
		assert.Equal(t, 10*time.Second, re.RetryAfter)
	})
}

func TestStrategies(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		s    retry.Strategy
		want []time.Duration // Delay(1), Delay(2), …
	}{
		{"constant", retry.Constant(7 * ms), []time.Duration{7 * ms, 7 * ms, 7 * ms}},
		{"constant zero", retry.Constant(0), []time.Duration{0, 0, 0}},
		{"linear", retry.Linear(10*ms, 5*ms), []time.Duration{10 * ms, 15 * ms, 20 * ms, 25 * ms}},
		{"linear from zero", retry.Linear(0, 5*ms), []time.Duration{0, 5 * ms, 10 * ms}},
		{"exponential", retry.Exponential(100*ms, 2), []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms}},
		{"exponential 1.5", retry.Exponential(100*ms, 1.5), []time.Duration{100 * ms, 150 * ms, 225 * ms}},
		{"exponential from zero", retry.Exponential(0, 2), []time.Duration{0, 0, 0}},
		{"fibonacci", retry.Fibonacci(ms), []time.Duration{ms, ms, 2 * ms, 3 * ms, 5 * ms, 8 * ms, 13 * ms}},
		{"func", retry.StrategyFunc(func(n int) time.Duration { return time.Duration(n) * ms }), []time.Duration{ms, 2 * ms, 3 * ms}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, want := range tt.want {
				assert.Equal(t, want, tt.s.Delay(i+1), "retry %d", i+1)
			}
			if _, isFunc := tt.s.(retry.StrategyFunc); !isFunc {
				// Arguments below 1 are treated as 1.
				assert.Equal(t, tt.want[0], tt.s.Delay(0))
				assert.Equal(t, tt.want[0], tt.s.Delay(-5))
				assert.Equal(t, tt.want[0], tt.s.Delay(math.MinInt))
			}
		})
	}
}

// TestSaturatedScheduleThroughThePolicy: a saturating strategy with no cap
// gives the largest duration, never a negative one, in every jitter mode.
func TestSaturatedScheduleThroughThePolicy(t *testing.T) {
	for _, j := range []retry.Jitter{retry.NoJitter, retry.FullJitter, retry.EqualJitter, retry.DecorrelatedJitter, retry.ProportionalJitter(1)} {
		t.Run(j.String(), func(t *testing.T) {
			p := newPolicy(t, retry.WithBackoff(retry.Exponential(time.Hour, 10)), retry.WithMaxDelay(0), retry.WithJitter(j), retry.WithRand(seeded(3)))
			waits := p.Schedule(1000)
			for i, w := range waits {
				require.GreaterOrEqual(t, w, time.Duration(0), "retry %d", i+1)
			}
			if j == retry.NoJitter {
				assert.Equal(t, maxDuration, waits[999])
			}
			capped := newPolicy(t, retry.WithBackoff(retry.Exponential(time.Hour, 10)), retry.WithJitter(j), retry.WithRand(seeded(3))).Schedule(1000)
			for i, w := range capped {
				require.True(t, w >= 0 && w <= retry.DefaultMaxDelay, "retry %d: %v", i+1, w)
			}
		})
	}
}

// TestNegativeStrategyIsZero: a user strategy's negative delay is treated
// as zero in every jitter mode: no wait, no time spent.
func TestNegativeStrategyIsZero(t *testing.T) {
	negative := retry.StrategyFunc(func(int) time.Duration { return -time.Second })
	for _, j := range []retry.Jitter{retry.NoJitter, retry.FullJitter, retry.EqualJitter, retry.DecorrelatedJitter, retry.ProportionalJitter(0.5)} {
		t.Run(j.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var n notes
				op, calls := failing(errA)
				start := time.Now()
				_, err := retry.Do(context.Background(), op, retry.WithBackoff(negative), retry.WithJitter(j), retry.WithNotify(n.hook))
				assert.Zero(t, time.Since(start))
				assert.ErrorIs(t, err, retry.ErrExhausted)
				assert.Equal(t, 4, *calls)
				assert.Equal(t, []time.Duration{0, 0, 0}, n.delays())
				assert.Equal(t, []time.Duration{0, 0, 0}, newPolicy(t, retry.WithBackoff(negative), retry.WithJitter(j)).Schedule(3))
			})
		})
	}
}

// TestInvalidConfig: every invalid input makes Do, Run, NewPolicy and
// Policy.With return a clear error wrapping ErrInvalidConfig, without
// calling the operation and without panicking.
func TestInvalidConfig(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name string
		opts []retry.Option
		msg  string // a part of the message that names the problem
	}{
		{"negative attempts", []retry.Option{retry.WithMaxAttempts(-1)}, "WithMaxAttempts"},
		{"negative max elapsed", []retry.Option{retry.WithMaxElapsed(-time.Nanosecond)}, "WithMaxElapsed"},
		{"negative attempt timeout", []retry.Option{retry.WithAttemptTimeout(-time.Second)}, "WithAttemptTimeout"},
		{"negative max delay", []retry.Option{retry.WithMaxDelay(-1)}, "WithMaxDelay"},
		{"negative constant", []retry.Option{retry.WithBackoff(retry.Constant(-1))}, "Constant"},
		{"negative linear initial", []retry.Option{retry.WithBackoff(retry.Linear(-1, 0))}, "Linear initial"},
		{"negative linear step", []retry.Option{retry.WithBackoff(retry.Linear(0, -1))}, "Linear step"},
		{"negative exponential initial", []retry.Option{retry.WithBackoff(retry.Exponential(-1, 2))}, "Exponential initial"},
		{"multiplier below 1", []retry.Option{retry.WithBackoff(retry.Exponential(time.Second, 0.999))}, "multiplier"},
		{"zero multiplier", []retry.Option{retry.WithBackoff(retry.Exponential(time.Second, 0))}, "multiplier"},
		{"NaN multiplier", []retry.Option{retry.WithBackoff(retry.Exponential(time.Second, nan))}, "multiplier"},
		{"+Inf multiplier", []retry.Option{retry.WithBackoff(retry.Exponential(time.Second, inf))}, "multiplier"},
		{"-Inf multiplier", []retry.Option{retry.WithBackoff(retry.Exponential(time.Second, -inf))}, "multiplier"},
		{"NaN multiplier with zero initial", []retry.Option{retry.WithBackoff(retry.Exponential(0, nan))}, "multiplier"},
		{"negative fibonacci unit", []retry.Option{retry.WithBackoff(retry.Fibonacci(-time.Second))}, "Fibonacci"},
		{"nil strategy", []retry.Option{retry.WithBackoff(nil)}, "Strategy"},
		{"nil strategy func", []retry.Option{retry.WithBackoff(retry.StrategyFunc(nil))}, "Strategy"},
		{"proportional below 0", []retry.Option{retry.WithJitter(retry.ProportionalJitter(-0.01))}, "ProportionalJitter"},
		{"proportional above 1", []retry.Option{retry.WithJitter(retry.ProportionalJitter(1.01))}, "ProportionalJitter"},
		{"proportional NaN", []retry.Option{retry.WithJitter(retry.ProportionalJitter(nan))}, "ProportionalJitter"},
		{"proportional +Inf", []retry.Option{retry.WithJitter(retry.ProportionalJitter(inf))}, "ProportionalJitter"},
		{"proportional NaN", []retry.Option{retry.WithJitter(retry.ProportionalJitter(math.NaN()))}, "ProportionalJitter"},
		{"nil rand", []retry.Option{retry.WithRand(nil)}, "WithRand"},
		{"nil classifier", []retry.Option{retry.WithClassifier(nil)}, "classifier 0 is nil"},
		{"nil classifier in a chain", []retry.Option{retry.WithClassifier(retry.StopOn(errA), nil)}, "classifier 1 is nil"},
		{"RetryIf(nil)", []retry.Option{retry.WithClassifier(retry.RetryIf(nil))}, "nil"},
		{"nil option", []retry.Option{nil}, "nil Option"},
		{"nil policy", []retry.Option{(*retry.Policy)(nil)}, "nil *Policy"},
		{"zero budget", []retry.Option{retry.WithBudget(&retry.Budget{})}, "WithBudget"},
		{"zero breaker", []retry.Option{retry.WithBreaker(&retry.Breaker{})}, "WithBreaker"},
		{"an invalid option is not dropped by a later valid one", []retry.Option{retry.WithMaxAttempts(-1), retry.WithMaxAttempts(3)}, "WithMaxAttempts"},
		{"an invalid option is not dropped by a later policy", []retry.Option{retry.WithMaxDelay(-1), newPolicy(t)}, "WithMaxDelay"},
		{"the first invalid option is reported", []retry.Option{retry.WithMaxElapsed(-1), retry.WithMaxAttempts(-1)}, "WithMaxElapsed"},
	}
	parent := newPolicy(t, retry.WithMaxAttempts(2), retry.WithBackoff(retry.Constant(0)))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			op := func(context.Context) (int, error) { calls++; return 1, errA }
			check := func(what string, err error) {
				t.Helper()
				require.ErrorIs(t, err, retry.ErrInvalidConfig, what)
				assert.Contains(t, err.Error(), tt.msg, what)
			}

			v, err := retry.Do(context.Background(), op, tt.opts...)
			check("Do", err)
			assert.Zero(t, v)
			re := asError(t, err)
			assert.Zero(t, re.Attempts)
			assert.Nil(t, re.Last)

			check("Run", retry.Run(context.Background(), func(context.Context) error { calls++; return errA }, tt.opts...))

			p, err := retry.NewPolicy(tt.opts...)
			check("NewPolicy", err)
			assert.Nil(t, p)

			p, err = parent.With(tt.opts...)
			check("With", err)
			assert.Nil(t, p)

			assert.Zero(t, calls, "the operation was called")
			calls = 0

			// The parent is unharmed.
			_, err = retry.Do(context.Background(), op, parent)
			require.ErrorIs(t, err, retry.ErrExhausted)
			assert.Equal(t, 2, calls)
		})
	}
}

// TestInvalidArguments: a nil operation or a nil context is reported, not
// a panic; the operation is not called.
func TestInvalidArguments(t *testing.T) {
	var nilCtx context.Context
	calls := 0
	op := func(context.Context) (int, error) { calls++; return 1, nil }
	p := newPolicy(t)
	for _, opts := range [][]retry.Option{nil, {p}, {retry.WithNotify(func(context.Context, retry.RetryInfo) {})}} {
		_, err := retry.Do[int](context.Background(), nil, opts...)
		require.ErrorIs(t, err, retry.ErrInvalidConfig)
		assert.Contains(t, err.Error(), "nil operation")

		err = retry.Run(context.Background(), nil, opts...)
		require.ErrorIs(t, err, retry.ErrInvalidConfig)
		assert.Contains(t, err.Error(), "nil operation")

		_, err = retry.Do(nilCtx, op, opts...)
		require.ErrorIs(t, err, retry.ErrInvalidConfig)
		assert.Contains(t, err.Error(), "nil context")

		err = retry.Run(nilCtx, func(context.Context) error { calls++; return nil }, opts...)
		require.ErrorIs(t, err, retry.ErrInvalidConfig)
		assert.Contains(t, err.Error(), "nil context")
	}
	assert.Zero(t, calls)
}

// TestZeroLimitsMeanNone: 0 turns off every limit.
func TestZeroLimitsMeanNone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n notes
		calls := 0
		start := time.Now()
		v, err := retry.Do(context.Background(), func(ctx context.Context) (int, error) {
			calls++
			_, hasDeadline := ctx.Deadline()
			assert.False(t, hasDeadline, "no attempt timeout")
			if calls < 10 {
				return 0, errA
			}
			return calls, nil
		}, retry.WithMaxAttempts(0), retry.WithMaxElapsed(0), retry.WithAttemptTimeout(0), retry.WithMaxDelay(0),
			retry.WithBackoff(retry.Exponential(time.Hour, 2)), retry.WithJitter(retry.NoJitter), retry.WithNotify(n.hook))
		require.NoError(t, err)
		assert.Equal(t, 10, v)
		assert.Equal(t, 511*time.Hour, time.Since(start)) // 1+2+…+256 hours, no 30s cap
		assert.Equal(t, 256*time.Hour, n.list[8].Wait)
	})
}

// blockUntilDone is an operation that waits for its context to end and
// returns the context's error, like a network call that honours it.
func blockUntilDone(calls *int) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		*calls++
		<-ctx.Done()
		return *calls, ctx.Err()
	}
}

// TestAttemptTimeout: an attempt that hits its own timeout is retried,
// whatever the classifiers say; each attempt gets a fresh deadline.
func TestAttemptTimeout(t *testing.T) {
	for _, chain := range [][]retry.Classifier{nil, {retry.RetryOn(errA)}, {retry.StopOn(context.DeadlineExceeded)}} {
		synctest.Test(t, func(t *testing.T) {
			calls := 0
			var deadlines []time.Duration
			start := time.Now()
			v, err := retry.Do(context.Background(), func(ctx context.Context) (int, error) {
				calls++
				d, ok := ctx.Deadline()
				require.True(t, ok)
				deadlines = append(deadlines, d.Sub(start))
				<-ctx.Done()
				return calls, ctx.Err()
			}, retry.WithAttemptTimeout(time.Second), retry.WithMaxAttempts(3), retry.WithBackoff(retry.Constant(100*time.Millisecond)),
				retry.WithJitter(retry.NoJitter), retry.WithClassifier(chain...))
			assert.Equal(t, 3200*time.Millisecond, time.Since(start)) // 1s + 100ms + 1s + 100ms + 1s
			assert.Equal(t, 3, calls)
			assert.Equal(t, 3, v)
			assert.Equal(t, []time.Duration{time.Second, 2100 * time.Millisecond, 3200 * time.Millisecond}, deadlines)
			re := asError(t, err)
			assert.Equal(t, retry.ErrExhausted, re.Reason)
			assert.Equal(t, context.DeadlineExceeded, re.Last)
		})
	}
}

// TestAttemptTimeoutThenSuccess: attempts that time out are retried until
// one finishes in time.
func TestAttemptTimeoutThenSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		start := time.Now()
		v, err := retry.Do(context.Background(), func(ctx context.Context) (string, error) {
			calls++
			if calls < 3 {
				<-ctx.Done()
				return "", ctx.Err()
			}
			pause(500 * time.Millisecond)
			return "ok", ctx.Err()
		}, retry.WithAttemptTimeout(time.Second), retry.WithBackoff(retry.Constant(100*time.Millisecond)), retry.WithJitter(retry.NoJitter))
		require.NoError(t, err)
		assert.Equal(t, "ok", v)
		assert.Equal(t, 2700*time.Millisecond, time.Since(start))
	})
}

// TestAttemptTimeoutAndCallerDeadline: the caller's deadline ending during
// an attempt ends the loop at that instant, even with an attempt timeout.
func TestAttemptTimeoutAndCallerDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		calls := 0
		start := time.Now()
		_, err := retry.Do(ctx, blockUntilDone(&calls), retry.WithAttemptTimeout(time.Second),
			retry.WithBackoff(retry.Constant(100*time.Millisecond)), retry.WithJitter(retry.NoJitter))
		assert.Equal(t, 1500*time.Millisecond, time.Since(start))
		assert.Equal(t, 2, calls)
		re := asError(t, err)
		assert.Equal(t, context.DeadlineExceeded, re.Reason)
		assert.Equal(t, 2, re.Attempts)
	})
}

// TestCallerCancellation: the caller's cancellation ends the loop at the
// instant it happens, during an attempt or in the middle of a wait, with
// context.Cause as the reason, the attempts so far and the last value.
func TestCallerCancellation(t *testing.T) {
	cause := errors.New("caller gave up")
	tests := []struct {
		name     string
		at       time.Duration
		timeout  time.Duration // attempt timeout
		attempts int
		last     error
	}{
		{"during the first attempt", 300 * time.Millisecond, 0, 1, context.Canceled},
		{"during the first attempt, with an attempt timeout", 300 * time.Millisecond, time.Second, 1, context.Canceled},
		{"in the middle of the first wait", 1500 * time.Millisecond, time.Second, 1, context.DeadlineExceeded},
		{"in the middle of the second wait", 3250 * time.Millisecond, time.Second, 2, context.DeadlineExceeded},
		{"during the third attempt", 4500 * time.Millisecond, time.Second, 3, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancelCause(context.Background())
				defer cancel(nil)
				time.AfterFunc(tt.at, func() { cancel(cause) })
				calls := 0
				start := time.Now()
				v, err := retry.Do(ctx, blockUntilDone(&calls), retry.WithAttemptTimeout(tt.timeout), retry.WithMaxAttempts(0),
					retry.WithBackoff(retry.Constant(time.Second)), retry.WithJitter(retry.NoJitter))
				assert.Equal(t, tt.at, time.Since(start))
				assert.Equal(t, tt.attempts, calls)
				assert.Equal(t, tt.attempts, v)
				re := asError(t, err)
				assert.Equal(t, cause, re.Reason)
				assert.Equal(t, tt.attempts, re.Attempts)
				assert.Equal(t, tt.last, re.Last)
				assert.ErrorIs(t, err, cause)
			})
		})
	}
}

// TestCallerCancellationBeatsClassifiers: once the caller's context has
// ended, no classifier and no hint can make the loop retry.
func TestCallerCancellationBeatsClassifiers(t *testing.T) {
	for _, e := range []error{errA, retry.After(0, errA)} {
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		_, err := retry.Do(ctx, func(context.Context) (int, error) {
			calls++
			cancel()
			return 0, e
		}, retry.WithClassifier(retry.RetryOn(errA)), retry.WithBackoff(retry.Constant(0)))
		assert.Equal(t, 1, calls)
		re := asError(t, err)
		assert.Equal(t, context.Canceled, re.Reason)
		assert.Equal(t, errA, re.Last)
	}
}

// TestContextAlreadyDone: op is never called; the reason is the cause.
func TestContextAlreadyDone(t *testing.T) {
	cause := errors.New("shutting down")
	cancelled, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	expired, cancel2 := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel2()
	tests := []struct {
		name   string
		ctx    context.Context
		reason error
	}{
		{"cancelled with a cause", cancelled, cause},
		{"past its deadline", expired, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		for _, opts := range [][]retry.Option{nil, {newPolicy(t)}, {newPolicy(t, retry.WithNotify(func(context.Context, retry.RetryInfo) {}))}} {
			calls := 0
			_, err := retry.Do(tt.ctx, func(context.Context) (int, error) { calls++; return 1, nil }, opts...)
			re := asError(t, err)
			assert.Equal(t, tt.reason, re.Reason, tt.name)
			assert.Zero(t, re.Attempts)
			assert.Nil(t, re.Last)
			err = retry.Run(tt.ctx, func(context.Context) error { calls++; return nil }, opts...)
			assert.ErrorIs(t, err, tt.reason, tt.name)
			assert.Zero(t, calls, tt.name)
		}
	}
}

type ctxKey struct{}

// TestNotify: the hook runs once per retry, after the attempt failed and
// before the wait, with the exact attempt number, error (wrapper stripped),
// wait and elapsed time, on the caller's context; never when the loop
// stops.
func TestNotify(t *testing.T) {
	errs := []error{errA, retry.After(50*time.Millisecond, errB), errC, errA}
	tests := []struct {
		name    string
		last    error // what the fourth attempt returns
		elapsed time.Duration
		want    []retry.RetryInfo
	}{
		{"exhausted", errA, 400 * time.Millisecond, nil},
		{"success", nil, 400 * time.Millisecond, nil},
		{"permanent", retry.Permanent(errA), 400 * time.Millisecond, nil},
	}
	ms := time.Millisecond
	want := []retry.RetryInfo{
		{Attempt: 1, MaxAttempts: 4, Err: errA, Wait: 100 * ms, Elapsed: 10 * ms},
		{Attempt: 2, MaxAttempts: 4, Err: errB, Wait: 50 * ms, Hint: 50 * ms, Elapsed: 120 * ms},
		{Attempt: 3, MaxAttempts: 4, Err: errC, Wait: 300 * ms, Elapsed: 180 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.WithValue(context.Background(), ctxKey{}, tt.name)
				var got []retry.RetryInfo
				notify := func(nctx context.Context, a retry.RetryInfo) {
					assert.Equal(t, tt.name, nctx.Value(ctxKey{}), "the caller's context")
					got = append(got, a)
				}
				calls := 0
				start := time.Now()
				_, _ = retry.Do(ctx, func(context.Context) (int, error) {
					calls++
					pause(10 * time.Millisecond) // each attempt takes 10ms
					if calls == 4 {
						return 0, tt.last
					}
					return 0, errs[calls-1]
				}, retry.WithBackoff(retry.Linear(100*ms, 100*ms)), retry.WithJitter(retry.NoJitter), retry.WithExactHints(), retry.WithNotify(notify))
				// 10 + 100 + 10 + 50 + 10 + 300 + 10
				assert.Equal(t, 490*ms, time.Since(start))
				assert.Equal(t, want, got)
			})
		})
	}
}

// TestNotifyNeverOnStop: no notification for an attempt that ends the loop.
func TestNotifyNeverOnStop(t *testing.T) {
	tests := []struct {
		name string
		err  error
		opts []retry.Option
	}{
		{"permanent", retry.Permanent(errA), nil},
		{"classifier stops", errA, []retry.Option{retry.WithClassifier(retry.StopOn(errA))}},
		{"one attempt", errA, []retry.Option{retry.WithMaxAttempts(1)}},
		{"hint too long", retry.After(time.Hour, errA), nil},
		{"elapsed limit", errA, []retry.Option{retry.WithMaxElapsed(time.Millisecond), retry.WithBackoff(retry.Constant(time.Millisecond)), retry.WithJitter(retry.NoJitter)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n notes
			op, calls := failing(tt.err)
			_, err := retry.Do(context.Background(), op, append(tt.opts, retry.WithNotify(n.hook))...)
			require.Error(t, err)
			assert.Equal(t, 1, *calls)
			assert.Empty(t, n.list)
		})
	}
}

// TestNotifyNilRemovesTheHook: WithNotify(nil) after WithNotify(f) removes f.
func TestNotifyNilRemovesTheHook(t *testing.T) {
	var n notes
	op, calls := failing(errA)
	_, err := retry.Do(context.Background(), op, retry.WithBackoff(retry.Constant(0)), retry.WithNotify(n.hook), retry.WithNotify(nil))
	require.ErrorIs(t, err, retry.ErrExhausted)
	assert.Equal(t, 4, *calls)
	assert.Empty(t, n.list)
}

// codeError is an error type for errors.As through *retry.Error.
type codeError struct{ code int }

func (e *codeError) Error() string { return fmt.Sprintf("code %d", e.code) }

// TestErrorShape: *Error carries the attempt count, the last error without
// its Permanent or After wrapper, the reason, and RetryAfter; errors.Is
// and errors.As reach both the last error and the reason; Do returns the
// last value op returned.
func TestErrorShape(t *testing.T) {
	coded := &codeError{503}
	tests := []struct {
		name     string
		errs     []error // returned by attempts 1, 2, …
		opts     []retry.Option
		attempts int
		last     error
		reason   error
		after    time.Duration
		text     string
	}{
		{"exhausted", []error{errA, errB, coded}, []retry.Option{retry.WithMaxAttempts(3)}, 3, coded, retry.ErrExhausted, 0,
			"retry: attempts exhausted after 3 attempts: code 503"},
		{"permanent", []error{errA, retry.Permanent(coded)}, nil, 2, coded, retry.ErrPermanent, 0,
			"retry: permanent error after 2 attempts: code 503"},
		{"one attempt", []error{retry.Permanent(errA)}, nil, 1, errA, retry.ErrPermanent, 0,
			"retry: permanent error after 1 attempt: a: transient"},
		{"classifier stops", []error{errA, errB}, []retry.Option{retry.WithClassifier(retry.StopOn(errB))}, 2, errB, retry.ErrPermanent, 0,
			"retry: permanent error after 2 attempts: b: transient"},
		{"hint on the last attempt", []error{errA, retry.After(time.Second, coded)}, []retry.Option{retry.WithMaxAttempts(2)}, 2, coded, retry.ErrExhausted, time.Second,
			"retry: attempts exhausted after 2 attempts (server asked to wait 1s): code 503"},
		{"hint too long", []error{retry.After(time.Minute, coded)}, nil, 1, coded, retry.ErrHintTooLong, time.Minute,
			"retry: server hint exceeds the maximum delay after 1 attempt (server asked to wait 1m0s): code 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			v, err := retry.Do(context.Background(), func(context.Context) (string, error) {
				calls++
				return fmt.Sprint("value ", calls), tt.errs[calls-1]
			}, append([]retry.Option{retry.WithBackoff(retry.Constant(0))}, tt.opts...)...)
			assert.Equal(t, fmt.Sprint("value ", tt.attempts), v, "the last value comes back")
			re := asError(t, err)
			assert.Equal(t, &retry.Error{Attempts: tt.attempts, Last: tt.last, Reason: tt.reason, RetryAfter: tt.after}, re)
			assert.Equal(t, []error{tt.last, tt.reason}, re.Unwrap())
			assert.ErrorIs(t, err, tt.last)
			assert.ErrorIs(t, err, tt.reason)
			assert.Equal(t, tt.text, err.Error())
			var ce *codeError
			if errors.As(err, &ce) {
				assert.Same(t, coded, ce)
			}
		})
	}
}

// TestErrorWithoutLast: with nothing called, Unwrap reaches the reason
// alone and the message is the reason's.
func TestErrorWithoutLast(t *testing.T) {
	e := &retry.Error{Reason: retry.ErrCircuitOpen}
	assert.Equal(t, []error{retry.ErrCircuitOpen}, e.Unwrap())
	assert.Equal(t, retry.ErrCircuitOpen.Error(), e.Error())
	assert.ErrorIs(t, e, retry.ErrCircuitOpen)
}

// TestReasonsAreDistinct: no sentinel matches another.
func TestReasonsAreDistinct(t *testing.T) {
	all := []error{retry.ErrExhausted, retry.ErrMaxElapsed, retry.ErrPermanent, retry.ErrBudgetExhausted,
		retry.ErrCircuitOpen, retry.ErrHintTooLong, retry.ErrInvalidConfig}
	for i, a := range all {
		for j, b := range all {
			assert.Equal(t, i == j, errors.Is(a, b), "%v / %v", a, b)
		}
	}
	// The budget's refusal says it was the client's decision, in few enough
	// words for a log field or an error shown to an end user.
	assert.Contains(t, retry.ErrBudgetExhausted.Error(), "client-side")
	assert.LessOrEqual(t, len(retry.ErrBudgetExhausted.Error()), 60)
}

func TestPermanentAndAfterWrappers(t *testing.T) {
	assert.NoError(t, retry.Permanent(nil))
	assert.NoError(t, retry.After(time.Second, nil))
	for _, w := range []error{retry.Permanent(errA), retry.After(time.Second, errA)} {
		assert.Equal(t, errA.Error(), w.Error())
		assert.ErrorIs(t, w, errA)
		assert.Equal(t, errA, errors.Unwrap(w))
	}
	var ce *codeError
	require.ErrorAs(t, retry.Permanent(fmt.Errorf("x: %w", &codeError{1})), &ce)
	assert.Equal(t, 1, ce.code)
}

// selfClassified is an error that says whether it is worth retrying.
type selfClassified bool

func (e selfClassified) Error() string   { return fmt.Sprintf("retryable=%v", bool(e)) }
func (e selfClassified) Retryable() bool { return bool(e) }

// joinedSelf has a Retryable method and wraps several errors.
type joinedSelf struct {
	retryable bool
	errs      []error
}

func (e joinedSelf) Error() string   { return "joined" }
func (e joinedSelf) Retryable() bool { return e.retryable }
func (e joinedSelf) Unwrap() []error { return e.errs }

// TestClassification: the classifier chain (first non-Undecided wins),
// then the error's own Retryable method, then retry; the operation's own
// signals come first.
func TestClassification(t *testing.T) {
	undecided := retry.Classifier(func(error) retry.Class { return retry.Unclassified })
	isA := func(err error) bool { return errors.Is(err, errA) }
	tests := []struct {
		name  string
		chain []retry.Classifier
		err   error
		calls int // 3 means retried to exhaustion, 1 stopped at once
	}{
		{"RetryOn: a match is retried", []retry.Classifier{retry.RetryOn(errA, errB)}, errB, 3},
		{"RetryOn: a wrapped match is retried", []retry.Classifier{retry.RetryOn(errA)}, fmt.Errorf("x: %w", errA), 3},
		{"RetryOn: anything else stops", []retry.Classifier{retry.RetryOn(errA)}, errC, 1},
		{"RetryOn(): everything stops", []retry.Classifier{retry.RetryOn()}, errA, 1},
		{"StopOn: a match stops", []retry.Classifier{retry.StopOn(errA)}, fmt.Errorf("x: %w", errA), 1},
		{"StopOn: anything else is retried", []retry.Classifier{retry.StopOn(errA)}, errB, 3},
		{"RetryIf true", []retry.Classifier{retry.RetryIf(isA)}, errA, 3},
		{"RetryIf false", []retry.Classifier{retry.RetryIf(isA)}, errB, 1},
		{"chain: the first decides (stop)", []retry.Classifier{retry.StopOn(errA), retry.RetryOn(errA)}, errA, 1},
		{"chain: the first decides (retry)", []retry.Classifier{retry.RetryOn(errA), retry.StopOn(errA)}, errA, 3},
		{"chain: undecided passes on", []retry.Classifier{retry.StopOn(errB), retry.RetryOn(errA)}, errA, 3},
		{"chain: undecided passes on to a stop", []retry.Classifier{undecided, retry.StopOn(errB), retry.RetryOn(errA)}, errC, 1},
		{"chain: all undecided retries", []retry.Classifier{undecided, retry.StopOn(errB)}, errA, 3},
		{"Permanent beats RetryOn", []retry.Classifier{retry.RetryOn(errA)}, retry.Permanent(errA), 1},
		{"After beats RetryOn", []retry.Classifier{retry.RetryOn(errB)}, retry.After(0, errA), 3},
		{"After beats StopOn", []retry.Classifier{retry.StopOn(errA)}, retry.After(0, errA), 3},
		{"self: not retryable", nil, selfClassified(false), 1},
		{"self: retryable", nil, selfClassified(true), 3},
		{"self: wrapped, not retryable", nil, fmt.Errorf("x: %w", selfClassified(false)), 1},
		{"self: in a join", nil, errors.Join(errA, selfClassified(false)), 1},
		{"self: the outer verdict wins", nil, fmt.Errorf("x: %w", joinedSelf{true, []error{selfClassified(false)}}), 3},
		{"self: the first in a join wins", nil, errors.Join(selfClassified(true), selfClassified(false)), 3},
		{"self: after an undecided chain", []retry.Classifier{retry.StopOn(errB)}, selfClassified(false), 1},
		{"self: the chain decides first", []retry.Classifier{retry.RetryOn(selfClassified(false))}, selfClassified(false), 3},
		{"self: the chain stops first", []retry.Classifier{retry.StopOn(selfClassified(true))}, selfClassified(true), 1},
		{"self: Permanent beats a retryable verdict", nil, retry.Permanent(selfClassified(true)), 1},
		{"self: After beats a terminal verdict", nil, retry.After(0, selfClassified(false)), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, calls := failing(tt.err)
			_, err := retry.Do(context.Background(), op, retry.WithMaxAttempts(3), retry.WithBackoff(retry.Constant(0)), retry.WithClassifier(tt.chain...))
			assert.Equal(t, tt.calls, *calls)
			if tt.calls == 1 {
				assert.ErrorIs(t, err, retry.ErrPermanent)
			} else {
				assert.ErrorIs(t, err, retry.ErrExhausted)
			}
		})
	}
}

// TestClassifierSeesTheError: classifiers receive the operation's error.
func TestClassifierSeesTheError(t *testing.T) {
	var seen []error
	record := func(err error) retry.Class { seen = append(seen, err); return retry.Unclassified }
	e := fmt.Errorf("x: %w", errA)
	op, _ := failing(e)
	_, _ = retry.Do(context.Background(), op, retry.WithMaxAttempts(2), retry.WithBackoff(retry.Constant(0)), retry.WithClassifier(record))
	assert.Equal(t, []error{e, e}, seen)
}

// TestWithClassifierReplaces: a later WithClassifier replaces the whole
// earlier chain; an empty one restores the default.
func TestWithClassifierReplaces(t *testing.T) {
	tests := []struct {
		name  string
		opts  []retry.Option
		err   error
		calls int
	}{
		{"the earlier chain is gone", []retry.Option{retry.WithClassifier(retry.StopOn(errA)), retry.WithClassifier(retry.StopOn(errB))}, errA, 3},
		{"the later chain applies", []retry.Option{retry.WithClassifier(retry.StopOn(errA)), retry.WithClassifier(retry.StopOn(errB))}, errB, 1},
		{"empty restores the default", []retry.Option{retry.WithClassifier(retry.RetryOn()), retry.WithClassifier()}, errA, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, calls := failing(tt.err)
			_, _ = retry.Do(context.Background(), op, append(tt.opts, retry.WithMaxAttempts(3), retry.WithBackoff(retry.Constant(0)))...)
			assert.Equal(t, tt.calls, *calls)
		})
	}
}

// TestWithClassifierCopiesItsArguments: changing the caller's slice later
// does not change the policy.
func TestWithClassifierCopiesItsArguments(t *testing.T) {
	chain := []retry.Classifier{retry.StopOn(errA)}
	p := newPolicy(t, retry.WithClassifier(chain...), retry.WithBackoff(retry.Constant(0)))
	chain[0] = retry.RetryOn(errA)
	op, calls := failing(errA)
	_, err := retry.Do(context.Background(), op, p)
	assert.ErrorIs(t, err, retry.ErrPermanent)
	assert.Equal(t, 1, *calls)

	targets := []error{errA}
	c := retry.StopOn(targets...)
	targets[0] = errB
	assert.Equal(t, retry.Terminal, c(errA))
}

func TestClassString(t *testing.T) {
	assert.Equal(t, "unclassified", retry.Unclassified.String())
	assert.Equal(t, "retryable", retry.Retryable.String())
	assert.Equal(t, "terminal", retry.Terminal.String())
	assert.Equal(t, "Class(7)", retry.Class(7).String())
}

func TestJitterString(t *testing.T) {
	assert.Equal(t, "none", retry.NoJitter.String())
	assert.Equal(t, "full", retry.FullJitter.String())
	assert.Equal(t, "equal", retry.EqualJitter.String())
	assert.Equal(t, "decorrelated", retry.DecorrelatedJitter.String())
	assert.Equal(t, "proportional:0.25", retry.ProportionalJitter(0.25).String())
	assert.Equal(t, "proportional:0", retry.ProportionalJitter(math.Copysign(0, -1)).String())
	assert.Equal(t, "proportional:1", retry.ProportionalJitter(1).String())
	assert.Contains(t, retry.ProportionalJitter(2).String(), "invalid")
}

// TestOptionsOrder: options apply in order, later ones override earlier
// ones, and a *Policy among them replaces everything before it.
func TestOptionsOrder(t *testing.T) {
	three := newPolicy(t, retry.WithMaxAttempts(3), retry.WithBackoff(retry.Constant(time.Second)), retry.WithJitter(retry.NoJitter))
	five := newPolicy(t, retry.WithMaxAttempts(5), retry.WithBackoff(retry.Constant(0)))
	tests := []struct {
		name    string
		opts    []retry.Option
		calls   int
		elapsed time.Duration
	}{
		{"the later option wins", []retry.Option{retry.WithMaxAttempts(2), retry.WithMaxAttempts(5), retry.WithBackoff(retry.Constant(0))}, 5, 0},
		{"a policy alone", []retry.Option{three}, 3, 2 * time.Second},
		{"a policy replaces earlier options", []retry.Option{retry.WithMaxAttempts(7), retry.WithBackoff(retry.Constant(0)), three}, 3, 2 * time.Second},
		{"options after a policy override it", []retry.Option{three, retry.WithMaxAttempts(2)}, 2, time.Second},
		{"options after a policy keep the rest", []retry.Option{three, retry.WithBackoff(retry.Constant(10 * time.Second))}, 3, 20 * time.Second},
		{"the later policy wins", []retry.Option{three, five}, 5, 0},
		{"a policy replaces an earlier policy and options", []retry.Option{five, retry.WithMaxAttempts(9), three}, 3, 2 * time.Second},
		{"a policy's jitter is replaced", []retry.Option{three, retry.WithJitter(retry.FullJitter), three}, 3, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				op, calls := failing(errA)
				start := time.Now()
				_, err := retry.Do(context.Background(), op, tt.opts...)
				assert.Equal(t, tt.elapsed, time.Since(start))
				assert.ErrorIs(t, err, retry.ErrExhausted)
				assert.Equal(t, tt.calls, *calls)
			})
		})
	}
}

// TestWithDerives: With returns a new policy and leaves its parent as it
// was, including the parent's classifier chain and hook.
func TestWithDerives(t *testing.T) {
	var parentNotes, childNotes notes
	parent := newPolicy(t, retry.WithMaxAttempts(3), retry.WithBackoff(retry.Constant(0)),
		retry.WithClassifier(retry.StopOn(errB)), retry.WithNotify(parentNotes.hook))
	child, err := parent.With(retry.WithMaxAttempts(5), retry.WithClassifier(retry.StopOn(errA)), retry.WithNotify(childNotes.hook))
	require.NoError(t, err)
	require.NotSame(t, parent, child)
	grandchild, err := child.With()
	require.NoError(t, err)

	run := func(p *retry.Policy, e error) int {
		op, calls := failing(e)
		_, _ = retry.Do(context.Background(), op, p)
		return *calls
	}
	assert.Equal(t, 5, run(child, errB), "the child retries errB")
	assert.Equal(t, 1, run(child, errA), "the child stops on errA")
	assert.Equal(t, 3, run(parent, errA), "the parent still retries errA, 3 times")
	assert.Equal(t, 1, run(parent, errB), "the parent still stops on errB")
	assert.Equal(t, 5, run(grandchild, errB), "With() copies")
	assert.Len(t, parentNotes.list, 2)
	assert.Len(t, childNotes.list, 8)

	// A failed With leaves the parent usable and unchanged.
	_, err = parent.With(retry.WithMaxAttempts(-1))
	require.ErrorIs(t, err, retry.ErrInvalidConfig)
	assert.Equal(t, 3, run(parent, errA))
}

// TestPolicyIsSharedSafely: one policy serves many goroutines at once; run
// with -race.
func TestPolicyIsSharedSafely(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var waited time.Duration
		notify := func(_ context.Context, a retry.RetryInfo) {
			assert.True(t, a.Wait >= 0 && a.Wait <= time.Millisecond, "%v", a.Wait)
			mu.Lock()
			waited += a.Wait
			mu.Unlock()
		}
		// One seeded source, drawn from by every goroutine.
		p := newPolicy(t, retry.WithBackoff(retry.Constant(time.Millisecond)), retry.WithRand(seeded(1)), retry.WithMaxAttempts(5),
			retry.WithNotify(notify), retry.WithClassifier(retry.StopOn(errB)))
		var wg sync.WaitGroup
		results := make([]int, 8)
		for g := range results {
			wg.Go(func() {
				for range 50 {
					op, calls := failing(errA)
					_, _ = retry.Do(context.Background(), op, p)
					results[g] += *calls
				}
			})
		}
		wg.Wait()
		for _, r := range results {
			assert.Equal(t, 250, r)
		}
		assert.Positive(t, waited)
	})
}

// TestWithRandReproducible: two calls with equally seeded sources wait the
// same; another seed waits differently; Schedule draws the same waits as
// Do, in every jitter mode.
func TestWithRandReproducible(t *testing.T) {
	for _, j := range []retry.Jitter{retry.FullJitter, retry.EqualJitter, retry.DecorrelatedJitter, retry.ProportionalJitter(0.3)} {
		t.Run(j.String(), func(t *testing.T) {
			run := func(seed uint64) []time.Duration {
				var n notes
				synctest.Test(t, func(t *testing.T) {
					op, _ := failing(errA)
					start := time.Now()
					_, err := retry.Do(context.Background(), op, retry.WithMaxAttempts(8), retry.WithJitter(j),
						retry.WithRand(seeded(seed)), retry.WithNotify(n.hook))
					require.ErrorIs(t, err, retry.ErrExhausted)
					assert.Equal(t, sum(n.delays()), time.Since(start))
				})
				return n.delays()
			}
			first, again, other := run(42), run(42), run(43)
			require.Len(t, first, 7)
			assert.Equal(t, first, again)
			assert.NotEqual(t, first, other)
			assert.Equal(t, first, newPolicy(t, retry.WithJitter(j), retry.WithRand(seeded(42))).Schedule(7))
		})
	}
}

// TestSchedule: Schedule returns the waits before retries 1 to n, ignoring
// the attempt and elapsed limits.
func TestSchedule(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		opts []retry.Option
		n    int
		want []time.Duration
	}{
		{"linear", []retry.Option{retry.WithBackoff(retry.Linear(ms, 2*ms)), retry.WithJitter(retry.NoJitter)}, 4, []time.Duration{ms, 3 * ms, 5 * ms, 7 * ms}},
		{"capped", []retry.Option{retry.WithBackoff(retry.Fibonacci(ms)), retry.WithJitter(retry.NoJitter), retry.WithMaxDelay(4 * ms)},
			6, []time.Duration{ms, ms, 2 * ms, 3 * ms, 4 * ms, 4 * ms}},
		{"beyond the attempt limit", []retry.Option{retry.WithMaxAttempts(2), retry.WithMaxElapsed(ms), retry.WithJitter(retry.NoJitter)},
			3, []time.Duration{100 * ms, 200 * ms, 400 * ms}},
		{"zero", nil, 0, []time.Duration{}},
		{"negative", nil, -3, []time.Duration{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, newPolicy(t, tt.opts...).Schedule(tt.n))
		})
	}
	t.Run("nil or zero policy", func(t *testing.T) {
		var nilPolicy *retry.Policy
		assert.Nil(t, nilPolicy.Schedule(3))
		assert.Nil(t, new(retry.Policy).Schedule(3))
	})
}

// TestZeroDelayAllocatesNothing: with a prebuilt policy, three failures and
// a success with zero delays allocate nothing (no timer); so does a
// success. A permanent error allocates only the returned error.
func TestZeroDelayAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	p := newPolicy(t, retry.WithBackoff(retry.Constant(0)))
	calls := 0
	threeFailures := func(context.Context) (int, error) {
		calls++
		if calls%4 != 0 {
			return 0, errA
		}
		return calls, nil
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := retry.Do(ctx, threeFailures, p); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs, "three zero-delay failures")
	assert.Equal(t, 4*101, calls)

	succeed := func(context.Context) (int, error) { return 1, nil }
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = retry.Do(ctx, succeed, p) }), "success")

	perm := retry.Permanent(errA)
	permanent := func(context.Context) (int, error) { return 0, perm }
	assert.LessOrEqual(t, testing.AllocsPerRun(100, func() { _, _ = retry.Do(ctx, permanent, p) }), 1.0, "permanent")

	// Full jitter of a zero base is zero too: still no timer.
	q := newPolicy(t, retry.WithBackoff(retry.Exponential(0, 2)), retry.WithJitter(retry.EqualJitter))
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		if _, err := retry.Do(ctx, threeFailures, q); err != nil {
			t.Fatal(err)
		}
	}), "zero base with jitter")
}

// TestZeroDelayTakesNoTime: zero waits take no virtual time at all.
func TestZeroDelayTakesNoTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPolicy(t, retry.WithBackoff(retry.Constant(0)))
		op, calls := failing(errA)
		start := time.Now()
		_, err := retry.Do(context.Background(), op, p)
		assert.Zero(t, time.Since(start))
		assert.ErrorIs(t, err, retry.ErrExhausted)
		assert.Equal(t, 4, *calls)
	})
}

// TestOneTimerPerCall: a call allocates the same whether it waits twice or
// ten times: its one timer is reused for every wait.
func TestOneTimerPerCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		op := func(context.Context) (int, error) { return 0, errA }
		perCall := func(attempts int) float64 {
			p := newPolicy(t, retry.WithMaxAttempts(attempts), retry.WithBackoff(retry.Constant(time.Millisecond)), retry.WithJitter(retry.NoJitter))
			return testing.AllocsPerRun(50, func() { _, _ = retry.Do(ctx, op, p) })
		}
		few, many := perCall(3), perCall(11)
		assert.Equal(t, few, many, "allocations grow with the number of waits")
		assert.Positive(t, few, "a non-zero wait needs a timer")
	})
}
