package retry_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/retrykit/retry"
)

// codeError is an error type for errors.As through *retry.Error.
type codeError struct{ code int }

func (e *codeError) Error() string { return fmt.Sprintf("code %d", e.code) }

// TestErrorShape: *Error carries the attempt count, the last error without
// its Permanent or After wrapper, the reason, and Hint (and the deprecated
// RetryAfter, which holds the same); errors.Is
// and errors.As reach both the last error and the reason; Do returns the
// last value op returned.
func TestErrorShape(t *testing.T) {
	coded := &codeError{503}
	tests := []struct {
		name     string
		errs     []error // returned by attempts 1, 2, …
		opts     []retry.Option
		attempts int
		last     error
		reason   error
		after    time.Duration
		text     string
	}{
		{"exhausted", []error{errA, errB, coded}, []retry.Option{retry.WithMaxAttempts(3)}, 3, coded, retry.ErrExhausted, 0,
			"retry: attempts exhausted after 3 attempts: code 503"},
		{"permanent", []error{errA, retry.Permanent(coded)}, nil, 2, coded, retry.ErrPermanent, 0,
			"retry: permanent error after 2 attempts: code 503"},
		{"one attempt", []error{retry.Permanent(errA)}, nil, 1, errA, retry.ErrPermanent, 0,
			"retry: permanent error after 1 attempt: a: transient"},
		{"classifier stops", []error{errA, errB}, []retry.Option{retry.WithClassifier(retry.StopOn(errB))}, 2, errB, retry.ErrPermanent, 0,
			"retry: permanent error after 2 attempts: b: transient"},
		{"hint on the last attempt", []error{errA, retry.After(time.Second, coded)}, []retry.Option{retry.WithMaxAttempts(2)}, 2, coded, retry.ErrExhausted, time.Second,
			"retry: attempts exhausted after 2 attempts (server asked to wait 1s): code 503"},
		{"hint too long", []error{retry.After(time.Minute, coded)}, nil, 1, coded, retry.ErrHintTooLong, time.Minute,
			"retry: server hint exceeds the maximum delay after 1 attempt (server asked to wait 1m0s): code 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			v, err := retry.Do(context.Background(), func(context.Context) (string, error) {
				calls++
				return fmt.Sprint("value ", calls), tt.errs[calls-1]
			}, append([]retry.Option{retry.WithBackoff(retry.Constant(0))}, tt.opts...)...)
			assert.Equal(t, fmt.Sprint("value ", tt.attempts), v, "the last value comes back")
			re := asError(t, err)
			assert.Equal(t, &retry.Error{Attempts: tt.attempts, Last: tt.last, Reason: tt.reason, Hint: tt.after, RetryAfter: tt.after}, re)
			assert.Equal(t, []error{tt.last, tt.reason}, re.Unwrap())
			assert.ErrorIs(t, err, tt.last)
			assert.ErrorIs(t, err, tt.reason)
			assert.Equal(t, tt.text, err.Error())
			var ce *codeError
			if errors.As(err, &ce) {
				assert.Same(t, coded, ce)
			}
		})
	}
}

// TestErrorWithoutLast: with nothing called, Unwrap reaches the reason
// alone and the message is the reason's.
func TestErrorWithoutLast(t *testing.T) {
	e := &retry.Error{Reason: retry.ErrCircuitOpen}
	assert.Equal(t, []error{retry.ErrCircuitOpen}, e.Unwrap())
	assert.Equal(t, retry.ErrCircuitOpen.Error(), e.Error())
	assert.ErrorIs(t, e, retry.ErrCircuitOpen)
}

// TestReasonsAreDistinct: no sentinel matches another.
func TestReasonsAreDistinct(t *testing.T) {
	all := []error{retry.ErrExhausted, retry.ErrMaxElapsed, retry.ErrPermanent, retry.ErrBudgetExhausted,
		retry.ErrCircuitOpen, retry.ErrHintTooLong, retry.ErrInvalidConfig}
	for i, a := range all {
		for j, b := range all {
			assert.Equal(t, i == j, errors.Is(a, b), "%v / %v", a, b)
		}
	}
	// The budget's refusal says it was the client's decision, in few enough
	// words for a log field or an error shown to an end user.
	assert.Contains(t, retry.ErrBudgetExhausted.Error(), "client-side")
	assert.LessOrEqual(t, len(retry.ErrBudgetExhausted.Error()), 60)
}
