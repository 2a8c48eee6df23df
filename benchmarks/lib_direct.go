package benchmarks

import "context"

// Direct is the floor of every workload: the operation called with the
// least control flow that still does the same work. It retries up to
// MaxAttempts times and stops on success or on ErrPermanent compared by
// identity (no wrapping, no context checks, no delay).
func Direct(ctx context.Context, op Op) (int, error) {
	var (
		v   int
		err error
	)
	for range MaxAttempts {
		v, err = op(ctx)
		if err == nil || err == ErrPermanent {
			return v, err
		}
	}
	return v, err
}

// HandLoop is the retry loop a careful programmer writes by hand without a
// library: MaxAttempts attempts, errors.Is classification of the permanent
// error, a check of the caller's context before each retry, and no timer
// for a zero delay.
func HandLoop(ctx context.Context, op Op) (int, error) {
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
	}
}
