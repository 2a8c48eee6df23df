package benchmarks

import (
	"context"

	retrygo "github.com/avast/retry-go/v5"
)

// NewRetryGo returns a Runner for avast/retry-go v5 with a reused retrier,
// as its README recommends for high-frequency calls ("Create retrier once,
// reuse many times"). Zero delay: Delay(0) with DelayType(FixedDelay) and
// MaxJitter(0); RetryIf classifies ErrPermanent as not retryable. The
// context is bound to the retrier when it is built (retry.Context), as the v5
// API requires, so ctx must be the same for every call; the benchmarks use
// context.Background().
//
// Everything else is the library's default, including the error log it keeps
// of every attempt (LastErrorOnly(false)). A zero wait still goes through
// time.After(0), which arms a timer.
func NewRetryGo(ctx context.Context, extra ...retrygo.Option) Runner {
	opts := append([]retrygo.Option{
		retrygo.Context(ctx),
		retrygo.Attempts(MaxAttempts),
		retrygo.Delay(0),
		retrygo.MaxJitter(0),
		retrygo.DelayType(retrygo.FixedDelay),
		retrygo.RetryIf(func(err error) bool { return !IsPermanent(err) }),
	}, extra...)
	r := retrygo.NewWithData[int](opts...)
	return func(ctx context.Context, op Op) (int, error) {
		return r.Do(func() (int, error) { return op(ctx) })
	}
}
