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

// blockUntilDone is an operation that waits for its context to end and
// returns the context's error, like a network call that honours it.
func blockUntilDone(calls *int) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		*calls++
		<-ctx.Done()
		return *calls, ctx.Err()
	}
}

// TestAttemptTimeout: an attempt that hits its own timeout is retried,
// whatever the classifiers say; each attempt gets a fresh deadline.
func TestAttemptTimeout(t *testing.T) {
	for _, chain := range [][]retry.Classifier{nil, {retry.RetryOn(errA)}, {retry.StopOn(context.DeadlineExceeded)}} {
		synctest.Test(t, func(t *testing.T) {
			calls := 0
			var deadlines []time.Duration
			start := time.Now()
			v, err := retry.Do(context.Background(), func(ctx context.Context) (int, error) {
				calls++
				d, ok := ctx.Deadline()
				require.True(t, ok)
				deadlines = append(deadlines, d.Sub(start))
				<-ctx.Done()
				return calls, ctx.Err()
			}, retry.WithAttemptTimeout(time.Second), retry.WithMaxAttempts(3), retry.WithBackoff(retry.Constant(100*time.Millisecond)),
				retry.WithJitter(retry.NoJitter), retry.WithClassifier(chain...))
			assert.Equal(t, 3200*time.Millisecond, time.Since(start)) // 1s + 100ms + 1s + 100ms + 1s
			assert.Equal(t, 3, calls)
			assert.Equal(t, 3, v)
			assert.Equal(t, []time.Duration{time.Second, 2100 * time.Millisecond, 3200 * time.Millisecond}, deadlines)
			re := asError(t, err)
			assert.Equal(t, retry.ErrExhausted, re.Reason)
			assert.Equal(t, context.DeadlineExceeded, re.Last)
		})
	}
}

// TestAttemptTimeoutThenSuccess: attempts that time out are retried until
// one finishes in time.
func TestAttemptTimeoutThenSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		start := time.Now()
		v, err := retry.Do(context.Background(), func(ctx context.Context) (string, error) {
			calls++
			if calls < 3 {
				<-ctx.Done()
				return "", ctx.Err()
			}
			pause(500 * time.Millisecond)
			return "ok", ctx.Err()
		}, retry.WithAttemptTimeout(time.Second), retry.WithBackoff(retry.Constant(100*time.Millisecond)), retry.WithJitter(retry.NoJitter))
		require.NoError(t, err)
		assert.Equal(t, "ok", v)
		assert.Equal(t, 2700*time.Millisecond, time.Since(start))
	})
}

// TestAttemptTimeoutAndCallerDeadline: the caller's deadline ending during
// an attempt ends the loop at that instant, even with an attempt timeout.
func TestAttemptTimeoutAndCallerDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		calls := 0
		start := time.Now()
		_, err := retry.Do(ctx, blockUntilDone(&calls), retry.WithAttemptTimeout(time.Second),
			retry.WithBackoff(retry.Constant(100*time.Millisecond)), retry.WithJitter(retry.NoJitter))
		assert.Equal(t, 1500*time.Millisecond, time.Since(start))
		assert.Equal(t, 2, calls)
		re := asError(t, err)
		assert.Equal(t, context.DeadlineExceeded, re.Reason)
		assert.Equal(t, 2, re.Attempts)
	})
}

// TestCallerCancellation: the caller's cancellation ends the loop at the
// instant it happens, during an attempt or in the middle of a wait, with
// context.Cause as the reason, the attempts so far and the last value.
func TestCallerCancellation(t *testing.T) {
	cause := errors.New("caller gave up")
	tests := []struct {
		name     string
		at       time.Duration
		timeout  time.Duration // attempt timeout
		attempts int
		last     error
	}{
		{"during the first attempt", 300 * time.Millisecond, 0, 1, context.Canceled},
		{"during the first attempt, with an attempt timeout", 300 * time.Millisecond, time.Second, 1, context.Canceled},
		{"in the middle of the first wait", 1500 * time.Millisecond, time.Second, 1, context.DeadlineExceeded},
		{"in the middle of the second wait", 3250 * time.Millisecond, time.Second, 2, context.DeadlineExceeded},
		{"during the third attempt", 4500 * time.Millisecond, time.Second, 3, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancelCause(context.Background())
				defer cancel(nil)
				time.AfterFunc(tt.at, func() { cancel(cause) })
				calls := 0
				start := time.Now()
				v, err := retry.Do(ctx, blockUntilDone(&calls), retry.WithAttemptTimeout(tt.timeout), retry.WithMaxAttempts(0),
					retry.WithBackoff(retry.Constant(time.Second)), retry.WithJitter(retry.NoJitter))
				assert.Equal(t, tt.at, time.Since(start))
				assert.Equal(t, tt.attempts, calls)
				assert.Equal(t, tt.attempts, v)
				re := asError(t, err)
				assert.Equal(t, cause, re.Reason)
				assert.Equal(t, tt.attempts, re.Attempts)
				assert.Equal(t, tt.last, re.Last)
				assert.ErrorIs(t, err, cause)
			})
		})
	}
}

// TestCallerCancellationBeatsClassifiers: once the caller's context has
// ended, no classifier and no hint can make the loop retry.
func TestCallerCancellationBeatsClassifiers(t *testing.T) {
	for _, e := range []error{errA, retry.After(0, errA)} {
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		_, err := retry.Do(ctx, func(context.Context) (int, error) {
			calls++
			cancel()
			return 0, e
		}, retry.WithClassifier(retry.RetryOn(errA)), retry.WithBackoff(retry.Constant(0)))
		assert.Equal(t, 1, calls)
		re := asError(t, err)
		assert.Equal(t, context.Canceled, re.Reason)
		assert.Equal(t, errA, re.Last)
	}
}

// TestContextAlreadyDone: op is never called; the reason is the cause.
func TestContextAlreadyDone(t *testing.T) {
	cause := errors.New("shutting down")
	cancelled, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	expired, cancel2 := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel2()
	tests := []struct {
		name   string
		ctx    context.Context
		reason error
	}{
		{"cancelled with a cause", cancelled, cause},
		{"past its deadline", expired, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		for _, opts := range [][]retry.Option{nil, {newPolicy(t)}, {newPolicy(t, retry.WithNotify(func(context.Context, retry.RetryInfo) {}))}} {
			calls := 0
			_, err := retry.Do(tt.ctx, func(context.Context) (int, error) { calls++; return 1, nil }, opts...)
			re := asError(t, err)
			assert.Equal(t, tt.reason, re.Reason, tt.name)
			assert.Zero(t, re.Attempts)
			assert.Nil(t, re.Last)
			err = retry.Run(tt.ctx, func(context.Context) error { calls++; return nil }, opts...)
			assert.ErrorIs(t, err, tt.reason, tt.name)
			assert.Zero(t, calls, tt.name)
		}
	}
}
