package benchmarks

import (
	"context"

	"github.com/retrykit/retry"
)

// retrykitOptions are the options of every retrykit retry adapter:
// MaxAttempts attempts, zero delay without jitter, ErrPermanent terminal.
func retrykitOptions() []retry.Option {
	return []retry.Option{
		retry.WithMaxAttempts(MaxAttempts),
		retry.WithBackoff(retry.Constant(0)),
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
		retry.WithBackoff(retry.Constant(0)),
		retry.WithJitter(retry.NoJitter),
		retry.WithClassifier(retry.StopOn(ErrPermanent)),
	)
}
