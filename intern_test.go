package retry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// TestInternTable: a table returns the value it kept for a key, keeps at
// most internSlots keys (then makes a new value per call), never keeps a
// NaN, and gives every goroutine the same value for a key.
func TestInternTable(t *testing.T) {
	made := 0
	mk := func(k float64) *float64 { made++; return &k }
	var tb internTable[float64, *float64]
	a := tb.get(1, mk)
	assert.Same(t, a, tb.get(1, mk))
	assert.Equal(t, 1, made)
	for i := range internSlots - 1 {
		tb.get(float64(i+2), mk)
	}
	require.Equal(t, internSlots, made)
	full := tb.get(1000, mk)
	assert.NotSame(t, full, tb.get(1000, mk), "a full table keeps nothing more")
	assert.Equal(t, 1000.0, *full)
	n1, n2 := tb.get(math.NaN(), mk), tb.get(math.NaN(), mk)
	assert.NotSame(t, n1, n2)
	assert.True(t, math.IsNaN(*n1))
	assert.Same(t, a, tb.get(1, mk))

	var shared internTable[int, *int]
	got := make([]*int, 8)
	var wg sync.WaitGroup
	for g := range got {
		wg.Go(func() { got[g] = shared.get(7, func(k int) *int { return &k }) })
	}
	wg.Wait()
	for _, p := range got {
		assert.Same(t, got[0], p)
	}
}

// errStruct is an error of a struct type, which == cannot compare (it
// holds a slice): its classifiers are not kept in a table.
type errStruct struct{ cause []int }

func (e errStruct) Error() string { return "struct error" }

type errNumber int

func (e errNumber) Error() string { return "number error" }

// TestClassifierInterning: StopOn and RetryOn of one error share their
// Classifier when the error's type compares safely, and classify the same
// either way; an error whose == could panic is never compared.
func TestClassifierInterning(t *testing.T) {
	sentinel := errors.New("sentinel")
	other := errors.New("other")
	uncomparable := errStruct{cause: []int{1}}
	tests := []struct {
		name   string
		target error
		shared bool
	}{
		{"pointer", sentinel, true},
		{"number", errNumber(3), true},
		{"struct", uncomparable, false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.shared, internable(tt.target))
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
	// A lookup with an uncomparable error among kept ones does not panic.
	assert.NotPanics(t, func() { StopOn(errStruct{cause: []int{2}})(sentinel) })
}

type wrapped struct{ err error }

func (w wrapped) Error() string { return "wrapped" }
func (w wrapped) Unwrap() error { return w.err }

// TestInlineOptionsAllocations: options written in the call with this
// package's strategies and StopOn/RetryOn of one error allocate nothing
// on a success (once made).
func TestInlineOptionsAllocations(t *testing.T) {
	ctx := context.Background()
	errStop := errors.New("stop")
	op := func(context.Context) (int, error) { return 1, nil }
	tests := []struct {
		name string
		call func() error
	}{
		{"Exponential, StopOn", func() error {
			_, err := Do(ctx, op, WithMaxAttempts(5), WithBackoff(Exponential(10*time.Millisecond, 2)), WithClassifier(StopOn(errStop)))
			return err
		}},
		{"Constant, RetryOn", func() error {
			_, err := Do(ctx, op, WithBackoff(Constant(time.Second)), WithClassifier(RetryOn(errStop)))
			return err
		}},
		{"Linear", func() error {
			_, err := Do(ctx, op, WithBackoff(Linear(time.Second, time.Second)))
			return err
		}},
		{"Fibonacci", func() error {
			_, err := Do(ctx, op, WithBackoff(Fibonacci(time.Second)))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, tt.call())
			assert.Zero(t, testing.AllocsPerRun(100, func() { _ = tt.call() }))
		})
	}
}

// TestStrategiesSharedProperty: a strategy made through its table delays
// as a value made anew, for any arguments, however many distinct ones came
// before (a full table makes new values), and is validated the same.
func TestStrategiesSharedProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := time.Duration(rapid.Int64Range(-10, 1<<40).Draw(t, "d"))
		step := time.Duration(rapid.Int64Range(0, 1<<40).Draw(t, "step"))
		m := rapid.Float64Range(0.5, 10).Draw(t, "m")
		n := rapid.IntRange(-1, 80).Draw(t, "n")
		pairs := []struct {
			got  Strategy
			want interface {
				Strategy
				validator
			}
		}{
			{Constant(d), constant{d}},
			{Linear(d, step), linear{d, step}},
			{Exponential(d, m), exponential{d, m}},
			{Fibonacci(d), fibonacci{d}},
		}
		for _, p := range pairs {
			if got, want := p.got.Delay(n), p.want.Delay(n); got != want {
				t.Fatalf("%#v.Delay(%d) = %v, a new value's %v", p.got, n, got, want)
			}
			if (p.got.(validator).validate() == nil) != (p.want.validate() == nil) {
				t.Fatalf("%#v validates differently", p.got)
			}
		}
	})
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

// TestIsTargetProperty: isTarget is errors.Is for every internable target,
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
