package benchmarks

import (
	"context"
	"time"

	goretry "github.com/sethvargo/go-retry"
)

// zeroBackoff is a go-retry Backoff that never waits. The library's own
// constructors refuse a zero delay (NewConstant(0) panics), so this is the
// custom Backoff its README invites users to write.
func zeroBackoff() (time.Duration, bool) { return 0, false }

// NewSethvargo returns a Runner for sethvargo/go-retry, used as its README
// shows: retry.Do with a Backoff built for each call (its backoffs carry
// attempt state and cannot be shared) and the operation marking retryable
// errors with retry.RetryableError, so ErrPermanent is returned unmarked and
// stops the loop. WithMaxRetries(MaxAttempts-1) bounds the attempts.
//
// go-retry arms a timer for every retry, including a zero wait.
func NewSethvargo() Runner {
	return func(ctx context.Context, op Op) (int, error) {
		b := goretry.WithMaxRetries(MaxAttempts-1, goretry.BackoffFunc(zeroBackoff))
		return goretry.DoValue(ctx, b, func(ctx context.Context) (int, error) {
			v, err := op(ctx)
			if err != nil && !IsPermanent(err) {
				return v, goretry.RetryableError(err)
			}
			return v, err
		})
	}
}
