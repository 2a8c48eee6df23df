package retry_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// TestPermanentAnywhereInChain: Permanent anywhere in the error chain stops
// the loop with ErrPermanent, whatever wraps it (an After hint included)
// and whatever the classifiers say.
func TestPermanentAnywhereInChain(t *testing.T) {
	errA := errors.New("a")
	tests := []struct {
		name string
		err  error
	}{
		{"bare", retry.Permanent(errA)},
		{"wrapped by fmt", fmt.Errorf("op: %w", retry.Permanent(errA))},
		{"inside After", retry.After(0, retry.Permanent(errA))},
		{"After inside Permanent", retry.Permanent(retry.After(0, errA))},
		{"wrapped After around Permanent", fmt.Errorf("op: %w", retry.After(0, retry.Permanent(errA)))},
		{"in a join after an After", errors.Join(retry.After(0, errors.New("b")), retry.Permanent(errA))},
		{"in a join", errors.Join(errors.New("b"), retry.Permanent(errA))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			_, err := retry.Do(context.Background(), func(context.Context) (int, error) {
				calls++
				return calls, tt.err
			}, retry.WithClassifier(retry.RetryOn(errA)), retry.WithBackoff(retry.Constant(0)))
			assert.Equal(t, 1, calls)
			require.ErrorIs(t, err, retry.ErrPermanent)
			assert.ErrorIs(t, err, errA)
		})
	}
}

// TestNestedWrappersAreStripped: Error.Last and Attempt.Err carry the
// operation's error without any of the Permanent and After wrappers
// stacked on top of it.
func TestNestedWrappersAreStripped(t *testing.T) {
	errA := errors.New("a")
	tests := []struct {
		name   string
		err    error
		reason error
	}{
		{"Permanent of Permanent", retry.Permanent(retry.Permanent(errA)), retry.ErrPermanent},
		{"After of Permanent", retry.After(0, retry.Permanent(errA)), retry.ErrPermanent},
		{"Permanent of After", retry.Permanent(retry.After(0, errA)), retry.ErrPermanent},
		{"After of After", retry.After(0, retry.After(0, errA)), retry.ErrExhausted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []error
			_, err := retry.Do(context.Background(), func(context.Context) (int, error) { return 0, tt.err },
				retry.WithMaxAttempts(2), retry.WithBackoff(retry.Constant(0)),
				retry.WithNotify(func(_ context.Context, a retry.RetryInfo) { got = append(got, a.Err) }))
			var re *retry.Error
			require.ErrorAs(t, err, &re)
			assert.Equal(t, tt.reason, re.Reason)
			assert.Same(t, errA, re.Last)
			for _, e := range got {
				assert.Same(t, errA, e)
			}
		})
	}
}

func TestPermanentAndAfterWrappers(t *testing.T) {
	assert.NoError(t, retry.Permanent(nil))
	assert.NoError(t, retry.After(time.Second, nil))
	for _, w := range []error{retry.Permanent(errA), retry.After(time.Second, errA)} {
		assert.Equal(t, errA.Error(), w.Error())
		assert.ErrorIs(t, w, errA)
		assert.Equal(t, errA, errors.Unwrap(w))
	}
	var ce *codeError
	require.ErrorAs(t, retry.Permanent(fmt.Errorf("x: %w", &codeError{1})), &ce)
	assert.Equal(t, 1, ce.code)
}
