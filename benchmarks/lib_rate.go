package benchmarks

import (
	"context"

	"golang.org/x/time/rate"
)

// NewRateBudget returns a Runner that uses golang.org/x/time/rate as a retry
// budget the way one would by hand: HandLoop's retry loop, asking
// limiter.Allow() before each retry and stopping with the last error when it
// says no. A rate limiter refills with time, not with successes.
func NewRateBudget(limiter *rate.Limiter) Runner {
	return func(ctx context.Context, op Op) (int, error) {
		var (
			v   int
			err error
		)
		for attempt := 1; ; attempt++ {
			v, err = op(ctx)
			if err == nil || IsPermanent(err) || attempt == MaxAttempts {
				return v, err
			}
			if cerr := context.Cause(ctx); cerr != nil {
				return v, cerr
			}
			if !limiter.Allow() {
				return v, err
			}
		}
	}
}
