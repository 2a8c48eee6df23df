package retry

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// errStruct is an error of a struct type, which == cannot compare (it
// holds a slice): its classifiers match with errors.Is alone.
type errStruct struct{ cause []int }

func (e errStruct) Error() string { return "struct error" }

type errNumber int

func (e errNumber) Error() string { return "number error" }

// TestClassifierOneError: StopOn and RetryOn of one error classify the
// same whether the error's type compares safely (matched by == first) or
// not (errors.Is alone); an error whose == could panic is never compared.
func TestClassifierOneError(t *testing.T) {
	sentinel := errors.New("sentinel")
	other := errors.New("other")
	uncomparable := errStruct{cause: []int{1}}
	tests := []struct {
		name       string
		target     error
		comparable bool
	}{
		{"pointer", sentinel, true},
		{"number", errNumber(3), true},
		{"struct", uncomparable, false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.comparable, comparableTarget(tt.target))
			stop, retry := StopOn(tt.target), RetryOn(tt.target)
			for _, e := range []error{tt.target, other, wrapped{tt.target}, nil} {
				assert.Equal(t, stopOn(tt.target)(e), stop(e), "StopOn(%v)(%v)", tt.target, e)
				assert.Equal(t, retryOn(tt.target)(e), retry(e), "RetryOn(%v)(%v)", tt.target, e)
			}
			if tt.target == sentinel {
				assert.Equal(t, Terminal, stop(wrapped{sentinel}))
				assert.Equal(t, Unclassified, stop(other))
				assert.Equal(t, Retryable, retry(sentinel))
				assert.Equal(t, Terminal, retry(other))
			}
		})
	}
	// An uncomparable target is never compared with ==.
	assert.NotPanics(t, func() { StopOn(errStruct{cause: []int{2}})(sentinel) })
}

type wrapped struct{ err error }

func (w wrapped) Error() string { return "wrapped" }
func (w wrapped) Unwrap() error { return w.err }

// TestInlineOptionsAllocations: what options written in the call cost on
// a success. A strategy of this package is a value that the Option
// interface boxes (one allocation, none for Constant(0), whose zero value
// boxes free); StopOn/RetryOn of one error is a closure over it (one).
// Both escape because the loop keeps them in a config it reaches through
// pointers. A policy built once costs nothing.
func TestInlineOptionsAllocations(t *testing.T) {
	ctx := context.Background()
	errStop := errors.New("stop")
	op := func(context.Context) (int, error) { return 1, nil }
	policy, err := NewPolicy(WithMaxAttempts(5), WithBackoff(Exponential(10*time.Millisecond, 2)), WithClassifier(StopOn(errStop)))
	require.NoError(t, err)
	tests := []struct {
		name   string
		allocs float64
		call   func() error
	}{
		{"Exponential, StopOn", 2, func() error {
			_, err := Do(ctx, op, WithMaxAttempts(5), WithBackoff(Exponential(10*time.Millisecond, 2)), WithClassifier(StopOn(errStop)))
			return err
		}},
		{"Constant, RetryOn", 2, func() error {
			_, err := Do(ctx, op, WithBackoff(Constant(time.Second)), WithClassifier(RetryOn(errStop)))
			return err
		}},
		{"Linear", 1, func() error {
			_, err := Do(ctx, op, WithBackoff(Linear(time.Second, time.Second)))
			return err
		}},
		{"Fibonacci", 1, func() error {
			_, err := Do(ctx, op, WithBackoff(Fibonacci(time.Second)))
			return err
		}},
		{"Exponential(0, 2)", 1, func() error {
			_, err := Do(ctx, op, WithBackoff(Exponential(0, 2)))
			return err
		}},
		{"Constant(0)", 0, func() error {
			_, err := Do(ctx, op, WithMaxAttempts(5), WithBackoff(Constant(0)), WithJitter(NoJitter))
			return err
		}},
		{"prebuilt policy", 0, func() error {
			_, err := Do(ctx, op, policy)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, tt.call())
			assert.Equal(t, tt.allocs, testing.AllocsPerRun(100, func() { _ = tt.call() }))
		})
	}
}

// TestZeroDelays: the strategies of this package whose every delay is 0
// are known as such, so that the loop skips computing their waits.
func TestZeroDelays(t *testing.T) {
	tests := []struct {
		s    Strategy
		zero bool
	}{
		{Constant(0), true},
		{Constant(1), false},
		{Linear(0, 0), true},
		{Linear(0, 1), false},
		{Linear(1, 0), false},
		{Exponential(0, 2), true},
		{Exponential(1, 2), false},
		{Fibonacci(0), true},
		{Fibonacci(1), false},
		{StrategyFunc(func(int) time.Duration { return 0 }), false},
		{nil, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.zero, zeroDelays(tt.s), "%#v", tt.s)
		if tt.zero {
			for n := range 5 {
				assert.Zero(t, tt.s.Delay(n))
			}
		}
	}
}

// errIs is an error with an Is method that matches any errNumber.
type errIs struct{}

func (errIs) Error() string        { return "is any number" }
func (errIs) Is(target error) bool { _, ok := target.(errNumber); return ok }

// TestIsTargetProperty: isTarget is errors.Is for every comparable target,
// on error trees of sentinels, numbers, wrapping, joining and Is methods.
func TestIsTargetProperty(t *testing.T) {
	sentinels := []error{errors.New("a"), errors.New("b"), errNumber(1), errNumber(2), errIs{}, errStruct{}}
	var tree func(t *rapid.T, depth int) error
	tree = func(t *rapid.T, depth int) error {
		kind := rapid.IntRange(0, 4).Draw(t, "kind")
		if depth > 3 {
			kind = 0
		}
		switch kind {
		case 1:
			return fmt.Errorf("wrapped: %w", tree(t, depth+1))
		case 2:
			return errors.Join(tree(t, depth+1), tree(t, depth+1))
		case 3:
			return wrapped{tree(t, depth+1)}
		case 4:
			return nil
		}
		return rapid.SampledFrom(sentinels).Draw(t, "leaf")
	}
	rapid.Check(t, func(t *rapid.T) {
		target := rapid.SampledFrom(sentinels[:4]).Draw(t, "target")
		err := tree(t, 0)
		if got, want := isTarget(err, target), errors.Is(err, target); got != want {
			t.Fatalf("isTarget(%v, %v) = %v, errors.Is %v", err, target, got, want)
		}
		is := errors.Is(err, target)
		if got := StopOn(target)(err); (got == Terminal) != is || got == Retryable {
			t.Fatalf("StopOn(%v)(%v) = %v, errors.Is %v", target, err, got, is)
		}
		if got := RetryOn(target)(err); (got == Retryable) != is || got == Unclassified {
			t.Fatalf("RetryOn(%v)(%v) = %v, errors.Is %v", target, err, got, is)
		}
	})
}
