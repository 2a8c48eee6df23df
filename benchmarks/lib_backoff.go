package benchmarks

import (
	"context"

	"github.com/cenkalti/backoff/v7"
)

// NewBackoff returns a Runner for cenkalti/backoff v7, used as its README
// shows: backoff.Retry with options, the operation wrapping a permanent error
// in backoff.Permanent. The policy is backoff.ZeroBackOff (no wait, and the
// library's documented way to say so) with WithMaxTries(MaxAttempts);
// WithMaxElapsedTime(0) turns off the default 15-minute limit so no clock is
// read for it. The options are built once and reused, which the API allows
// (ZeroBackOff is stateless) and which saves allocations.
//
// backoff.Retry still arms a timer for a zero wait: time.NewTimer(0) on the
// first retry and Reset(0) afterwards.
func NewBackoff() Runner {
	opts := []backoff.RetryOption{
		backoff.WithBackOff(&backoff.ZeroBackOff{}),
		backoff.WithMaxTries(MaxAttempts),
		backoff.WithMaxElapsedTime(0),
	}
	return func(ctx context.Context, op Op) (int, error) {
		return backoff.Retry(ctx, func() (int, error) {
			v, err := op(ctx)
			if err != nil && IsPermanent(err) {
				return v, backoff.Permanent(err)
			}
			return v, err
		}, opts...)
	}
}
