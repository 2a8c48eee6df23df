package retry_test

import (
	"context"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

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
