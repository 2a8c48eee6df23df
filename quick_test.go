package retry_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// TestQuickPolicyMatchesTheGeneralLoop: a policy whose retries need only
// the decision and the count (zero waits, no limit on time, no budget,
// breaker, observer, hook or attempt timeout) takes Do's quick loop; the
// same policy with an elapsed limit far away takes the general one. Both
// make the same attempts, wait the same (a hint's wait included) and stop
// for the same reason, through a prebuilt policy and through options.
func TestQuickPolicyMatchesTheGeneralLoop(t *testing.T) {
	errT := errors.New("transient")
	errStop := errors.New("stop")
	tests := []struct {
		name     string
		outcomes []error // the op's errors in order; nil succeeds
		cancelAt int     // the attempt during which the op cancels the call's context, 0 for none
		attempts int
		reason   error // nil for a success
		waited   time.Duration
	}{
		{name: "three failures then success", outcomes: []error{errT, errT, errT, nil}, attempts: 4},
		{name: "exhausted", outcomes: []error{errT, errT, errT, errT}, attempts: 4, reason: retry.ErrExhausted},
		{name: "permanent mark", outcomes: []error{errT, retry.Permanent(errT)}, attempts: 2, reason: retry.ErrPermanent},
		{name: "classifier stops", outcomes: []error{errT, errStop}, attempts: 2, reason: retry.ErrPermanent},
		{name: "not idempotent", outcomes: []error{retry.NotIdempotent(errT)}, attempts: 1, reason: retry.ErrNotIdempotent},
		{name: "hint waits, then success", outcomes: []error{errT, retry.After(time.Second, errT), nil}, attempts: 3, waited: time.Second},
		{name: "zero hint", outcomes: []error{retry.After(0, errT), nil}, attempts: 2},
		{name: "hint too long", outcomes: []error{retry.After(time.Hour, errT)}, attempts: 1, reason: retry.ErrHintTooLong},
		{name: "context canceled during an attempt", outcomes: []error{errT, errT, nil}, cancelAt: 2, attempts: 2, reason: context.Canceled},
		{name: "wrapped error retried", outcomes: []error{errors.Join(errT), nil}, attempts: 2},
	}
	common := []retry.Option{
		retry.WithBackoff(retry.Constant(0)), retry.WithMaxDelay(time.Minute),
		retry.WithClassifier(retry.StopOn(errStop)), retry.WithJitter(retry.NoJitter),
	}
	variants := map[string][]retry.Option{
		"quick":   common,
		"general": append(append([]retry.Option(nil), common...), retry.WithMaxElapsed(24*time.Hour)),
	}
	for _, tt := range tests {
		for variant, opts := range variants {
			for _, prebuilt := range []bool{true, false} {
				name := tt.name + "/" + variant + "/options"
				if prebuilt {
					name = tt.name + "/" + variant + "/policy"
				}
				t.Run(name, func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						ctx, cancel := context.WithCancel(context.Background())
						defer cancel()
						calls := 0
						op := func(context.Context) (int, error) {
							calls++
							if calls == tt.cancelAt {
								cancel()
							}
							return calls, tt.outcomes[calls-1]
						}
						callOpts := opts
						if prebuilt {
							p, err := retry.NewPolicy(opts...)
							require.NoError(t, err)
							callOpts = []retry.Option{p}
						}
						start := time.Now()
						v, err := retry.Do(ctx, op, callOpts...)
						assert.Equal(t, tt.waited, time.Since(start))
						assert.Equal(t, tt.attempts, calls)
						assert.Equal(t, tt.attempts, v, "the last value op returned")
						if tt.reason == nil {
							require.NoError(t, err)
							return
						}
						var e *retry.Error
						require.ErrorAs(t, err, &e)
						assert.Equal(t, tt.attempts, e.Attempts)
						assert.ErrorIs(t, e.Reason, tt.reason)
						assert.ErrorIs(t, tt.outcomes[calls-1], e.Last, "Last is the op's error, its marks stripped")
					})
				})
			}
		}
	}
}

// TestQuickRetriesAllocateNothing: the quick loop's retries and its
// success allocate nothing, through a prebuilt policy.
func TestQuickRetriesAllocateNothing(t *testing.T) {
	ctx := context.Background()
	p := newPolicy(t, retry.WithBackoff(retry.Constant(0)), retry.WithMaxAttempts(0))
	errT := errors.New("transient")
	calls := 0
	op := func(context.Context) (int, error) {
		calls++
		if calls%10 != 0 {
			return 0, errT
		}
		return calls, nil
	}
	allocs := testing.AllocsPerRun(100, func() {
		_, err := retry.Do(ctx, op, p)
		require.NoError(t, err)
	})
	assert.Zero(t, allocs)
}
