package benchmarks

import (
	"context"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/budget"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
)

// NewFailsafe returns a Runner for failsafe-go, used as its docs show:
// a RetryPolicy built once and an executor, failsafe.With(policy), that runs
// the operation with Get. The policy allows MaxAttempts attempts, aborts on
// ErrPermanent (AbortOnErrors) and has no delay (the library's default). The
// executor is built once with ctx (WithContext), so ctx must be the same for
// every call; the benchmarks use context.Background().
//
// failsafe-go arms a timer even for a zero wait (time.NewTimer(0)).
func NewFailsafe(ctx context.Context) Runner {
	rp := retrypolicy.NewBuilder[int]().
		WithMaxAttempts(MaxAttempts).
		AbortOnErrors(ErrPermanent).
		Build()
	exec := failsafe.With(rp).WithContext(ctx)
	return func(ctx context.Context, op Op) (int, error) {
		return exec.Get(func() (int, error) { return op(ctx) })
	}
}

// NewFailsafeBreaker returns a Breaker for failsafe-go's CircuitBreaker:
// count based, open after threshold consecutive failures
// (WithFailureThreshold), a one-minute open delay, run through
// failsafe.With(cb).Get.
func NewFailsafeBreaker(ctx context.Context, threshold uint) Breaker {
	cb := circuitbreaker.NewBuilder[int]().
		WithFailureThreshold(threshold).
		WithDelay(time.Minute).
		Build()
	exec := failsafe.With[int](cb).WithContext(ctx)
	return Breaker{
		Run: func(ctx context.Context, op Op) (int, error) {
			return exec.Get(func() (int, error) { return op(ctx) })
		},
		Closed: cb.IsClosed,
	}
}

// NewFailsafeBudget returns a Runner for a failsafe-go RetryPolicy with a
// retry budget (budget.NewBuilder): MaxAttempts attempts, no delay. A
// failsafe-go budget bounds the share of in-flight executions that are
// retries (WithMaxRate), not a token count, so it never refuses the retry of
// a lone sequential call; WithMaxRate(1) and WithMinConcurrency(3) (its
// default) never refuse in the benchmark either, which measures the cost of
// the bookkeeping.
func NewFailsafeBudget(ctx context.Context) Runner {
	b := budget.NewBuilder().WithMaxRate(1).Build()
	rp := retrypolicy.NewBuilder[int]().
		WithMaxAttempts(MaxAttempts).
		AbortOnErrors(ErrPermanent).
		WithBudget(b).
		Build()
	exec := failsafe.With(rp).WithContext(ctx)
	return func(ctx context.Context, op Op) (int, error) {
		return exec.Get(func() (int, error) { return op(ctx) })
	}
}
