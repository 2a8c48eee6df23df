package benchmarks

import (
	"context"
	"time"

	"github.com/retrykit/retry"
)

// retrykitOptions are the options of every retrykit retry adapter:
// MaxAttempts attempts, zero delay without jitter, ErrPermanent terminal.
// The zero delay is Exponential(0, 2), a strategy an interface would have
// to box (16 bytes), not Constant(0), which boxes free: the inline
// adapter's allocation count (2 per call: the boxed strategy and StopOn's
// closure) then holds for any of the package's strategies.
func retrykitOptions() []retry.Option {
	return []retry.Option{
		retry.WithMaxAttempts(MaxAttempts),
		retry.WithBackoff(retry.Exponential(0, 2)),
		retry.WithJitter(retry.NoJitter),
		retry.WithClassifier(retry.StopOn(ErrPermanent)),
	}
}

// NewRetrykit returns a Runner for retrykit used as its README recommends
// for hot paths: a Policy built once with NewPolicy and passed to retry.Do.
// The operation is passed unchanged: the policy's classifier
// (StopOn(ErrPermanent)) decides. A zero delay arms no timer.
func NewRetrykit() (Runner, error) {
	p, err := retry.NewPolicy(retrykitOptions()...)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, op Op) (int, error) {
		return retry.Do(ctx, op, p)
	}, nil
}

// RetrykitInline is retrykit with the options written inline in each call,
// as in a quick script: the options are built and validated on every call.
func RetrykitInline(ctx context.Context, op Op) (int, error) {
	return retry.Do(ctx, op,
		retry.WithMaxAttempts(MaxAttempts),
		retry.WithBackoff(retry.Exponential(0, 2)),
		retry.WithJitter(retry.NoJitter),
		retry.WithClassifier(retry.StopOn(ErrPermanent)),
	)
}

// NewRetrykitBreaker returns a Breaker for retrykit's *retry.Breaker used
// on its own, as its docs show for code that wants no retries:
// Breaker.Run, opening after threshold consecutive failures. Run takes a
// func(ctx) error, so the adapter carries the value out in a variable.
func NewRetrykitBreaker(threshold int) (Breaker, error) {
	b, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: threshold, RecoveryTimeout: time.Minute})
	if err != nil {
		return Breaker{}, err
	}
	return Breaker{
		Run: func(ctx context.Context, op Op) (int, error) {
			var v int
			err := b.Run(ctx, func(ctx context.Context) error {
				var err error
				v, err = op(ctx)
				return err
			})
			return v, err
		},
		Closed: func() bool { return b.State() == retry.BreakerClosed },
	}, nil
}

// NewRetrykitBudget returns a retry Runner with a retrykit *retry.Budget
// shared by every call: capacity tokens, each retry costing one, each
// success depositing perSuccess; the policy is otherwise the one of
// NewRetrykit, built once.
func NewRetrykitBudget(capacity, perSuccess int) (Runner, error) {
	budget, err := retry.NewBudget(retry.BudgetConfig{Capacity: float64(capacity), PerSuccess: float64(perSuccess)})
	if err != nil {
		return nil, err
	}
	p, err := retry.NewPolicy(append(retrykitOptions(), retry.WithBudget(budget))...)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, op Op) (int, error) {
		return retry.Do(ctx, op, p)
	}, nil
}
