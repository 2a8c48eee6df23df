package retry_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/retrykit/retry"
)

// selfClassified is an error that says whether it is worth retrying.
type selfClassified bool

func (e selfClassified) Error() string { return fmt.Sprintf("retryable=%v", bool(e)) }

func (e selfClassified) Retryable() bool { return bool(e) }

// joinedSelf has a Retryable method and wraps several errors.
type joinedSelf struct {
	retryable bool
	errs      []error
}

func (e joinedSelf) Error() string { return "joined" }

func (e joinedSelf) Retryable() bool { return e.retryable }

func (e joinedSelf) Unwrap() []error { return e.errs }

// TestClassification: the classifier chain (first non-Undecided wins),
// then the error's own Retryable method, then retry; the operation's own
// signals come first.
func TestClassification(t *testing.T) {
	undecided := retry.Classifier(func(error) retry.Class { return retry.Unclassified })
	isA := func(err error) bool { return errors.Is(err, errA) }
	tests := []struct {
		name  string
		chain []retry.Classifier
		err   error
		calls int // 3 means retried to exhaustion, 1 stopped at once
	}{
		{"RetryOn: a match is retried", []retry.Classifier{retry.RetryOn(errA, errB)}, errB, 3},
		{"RetryOn: a wrapped match is retried", []retry.Classifier{retry.RetryOn(errA)}, fmt.Errorf("x: %w", errA), 3},
		{"RetryOn: anything else stops", []retry.Classifier{retry.RetryOn(errA)}, errC, 1},
		{"RetryOn(): everything stops", []retry.Classifier{retry.RetryOn()}, errA, 1},
		{"StopOn: a match stops", []retry.Classifier{retry.StopOn(errA)}, fmt.Errorf("x: %w", errA), 1},
		{"StopOn: anything else is retried", []retry.Classifier{retry.StopOn(errA)}, errB, 3},
		{"RetryIf true", []retry.Classifier{retry.RetryIf(isA)}, errA, 3},
		{"RetryIf false", []retry.Classifier{retry.RetryIf(isA)}, errB, 1},
		{"chain: the first decides (stop)", []retry.Classifier{retry.StopOn(errA), retry.RetryOn(errA)}, errA, 1},
		{"chain: the first decides (retry)", []retry.Classifier{retry.RetryOn(errA), retry.StopOn(errA)}, errA, 3},
		{"chain: undecided passes on", []retry.Classifier{retry.StopOn(errB), retry.RetryOn(errA)}, errA, 3},
		{"chain: undecided passes on to a stop", []retry.Classifier{undecided, retry.StopOn(errB), retry.RetryOn(errA)}, errC, 1},
		{"chain: all undecided retries", []retry.Classifier{undecided, retry.StopOn(errB)}, errA, 3},
		{"Permanent beats RetryOn", []retry.Classifier{retry.RetryOn(errA)}, retry.Permanent(errA), 1},
		{"After beats RetryOn", []retry.Classifier{retry.RetryOn(errB)}, retry.After(0, errA), 3},
		{"After beats StopOn", []retry.Classifier{retry.StopOn(errA)}, retry.After(0, errA), 3},
		{"self: not retryable", nil, selfClassified(false), 1},
		{"self: retryable", nil, selfClassified(true), 3},
		{"self: wrapped, not retryable", nil, fmt.Errorf("x: %w", selfClassified(false)), 1},
		{"self: in a join", nil, errors.Join(errA, selfClassified(false)), 1},
		{"self: the outer verdict wins", nil, fmt.Errorf("x: %w", joinedSelf{true, []error{selfClassified(false)}}), 3},
		{"self: the first in a join wins", nil, errors.Join(selfClassified(true), selfClassified(false)), 3},
		{"self: after an undecided chain", []retry.Classifier{retry.StopOn(errB)}, selfClassified(false), 1},
		{"self: the chain decides first", []retry.Classifier{retry.RetryOn(selfClassified(false))}, selfClassified(false), 3},
		{"self: the chain stops first", []retry.Classifier{retry.StopOn(selfClassified(true))}, selfClassified(true), 1},
		{"self: Permanent beats a retryable verdict", nil, retry.Permanent(selfClassified(true)), 1},
		{"self: After beats a terminal verdict", nil, retry.After(0, selfClassified(false)), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, calls := failing(tt.err)
			_, err := retry.Do(context.Background(), op, retry.WithMaxAttempts(3), retry.WithBackoff(retry.Constant(0)), retry.WithClassifier(tt.chain...))
			assert.Equal(t, tt.calls, *calls)
			if tt.calls == 1 {
				assert.ErrorIs(t, err, retry.ErrPermanent)
			} else {
				assert.ErrorIs(t, err, retry.ErrExhausted)
			}
		})
	}
}

// TestClassifierSeesTheError: classifiers receive the operation's error.
func TestClassifierSeesTheError(t *testing.T) {
	var seen []error
	record := func(err error) retry.Class { seen = append(seen, err); return retry.Unclassified }
	e := fmt.Errorf("x: %w", errA)
	op, _ := failing(e)
	_, _ = retry.Do(context.Background(), op, retry.WithMaxAttempts(2), retry.WithBackoff(retry.Constant(0)), retry.WithClassifier(record))
	assert.Equal(t, []error{e, e}, seen)
}

// TestWithClassifierReplaces: a later WithClassifier replaces the whole
// earlier chain; an empty one restores the default.
func TestWithClassifierReplaces(t *testing.T) {
	tests := []struct {
		name  string
		opts  []retry.Option
		err   error
		calls int
	}{
		{"the earlier chain is gone", []retry.Option{retry.WithClassifier(retry.StopOn(errA)), retry.WithClassifier(retry.StopOn(errB))}, errA, 3},
		{"the later chain applies", []retry.Option{retry.WithClassifier(retry.StopOn(errA)), retry.WithClassifier(retry.StopOn(errB))}, errB, 1},
		{"empty restores the default", []retry.Option{retry.WithClassifier(retry.RetryOn()), retry.WithClassifier()}, errA, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, calls := failing(tt.err)
			_, _ = retry.Do(context.Background(), op, append(tt.opts, retry.WithMaxAttempts(3), retry.WithBackoff(retry.Constant(0)))...)
			assert.Equal(t, tt.calls, *calls)
		})
	}
}

// TestWithClassifierCopiesItsArguments: changing the caller's slice later
// does not change the policy.
func TestWithClassifierCopiesItsArguments(t *testing.T) {
	chain := []retry.Classifier{retry.StopOn(errA)}
	p := newPolicy(t, retry.WithClassifier(chain...), retry.WithBackoff(retry.Constant(0)))
	chain[0] = retry.RetryOn(errA)
	op, calls := failing(errA)
	_, err := retry.Do(context.Background(), op, p)
	assert.ErrorIs(t, err, retry.ErrPermanent)
	assert.Equal(t, 1, *calls)

	targets := []error{errA}
	c := retry.StopOn(targets...)
	targets[0] = errB
	assert.Equal(t, retry.Terminal, c(errA))
}

func TestClassString(t *testing.T) {
	assert.Equal(t, "unclassified", retry.Unclassified.String())
	assert.Equal(t, "retryable", retry.Retryable.String())
	assert.Equal(t, "terminal", retry.Terminal.String())
	assert.Equal(t, "Class(7)", retry.Class(7).String())
}
