package retry

import (
	"errors"
	"reflect"
	"strconv"
)

// Class is a classifier's verdict on an error.
type Class int

const (
	// Unclassified passes the error to the next classifier in the chain.
	Unclassified Class = iota
	// Retryable retries the operation (if the policy's limits allow).
	Retryable
	// Terminal stops the loop with reason ErrPermanent.
	Terminal
)

// String returns "unclassified", "retryable" or "terminal".
func (c Class) String() string {
	switch c {
	case Unclassified:
		return "unclassified"
	case Retryable:
		return "retryable"
	case Terminal:
		return "terminal"
	}
	return "Class(" + strconv.Itoa(int(c)) + ")"
}

// MarshalText returns the word String returns, so that a Class reads as
// "retryable" rather than 1 in JSON and in log/slog's JSON handler.
func (c Class) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// A Classifier decides whether an error returned by the operation is worth
// another attempt. Classifiers are set with [WithClassifier] as a chain: the
// first that is not Unclassified wins.
//
// Before any classifier runs, the loop honours the operation's own signals:
// the caller's context ending always stops, [Permanent] always stops,
// [After] always retries, and an attempt that hit its own
// [WithAttemptTimeout] is retried. When every classifier says Unclassified (or
// there are none), an error that has a method Retryable() bool, anywhere in
// its chain, decides for itself; any other error is retried.
//
// A Classifier must be safe for concurrent use: one policy serves many calls.
type Classifier func(error) Class

// RetryOn returns a Classifier that retries only the listed errors (matched
// with [errors.Is]) and stops on every other error: "retry only these".
// With no arguments it stops on every error.
func RetryOn(errs ...error) Classifier {
	if len(errs) == 1 {
		return retryOn(errs[0])
	}
	list := append([]error(nil), errs...)
	return func(err error) Class {
		if matchAny(err, list) {
			return Retryable
		}
		return Terminal
	}
}

// StopOn returns a Classifier that stops on the listed errors (matched with
// [errors.Is]) and leaves every other error to the rest of the chain.
func StopOn(errs ...error) Classifier {
	if len(errs) == 1 {
		return stopOn(errs[0])
	}
	list := append([]error(nil), errs...)
	return func(err error) Class {
		if matchAny(err, list) {
			return Terminal
		}
		return Unclassified
	}
}

// RetryIf returns a Classifier that retries the errors for which pred
// returns true and stops on the others. A nil pred makes the policy invalid.
func RetryIf(pred func(error) bool) Classifier {
	if pred == nil {
		return nil // rejected by the policy as a nil classifier
	}
	return func(err error) Class {
		if pred(err) {
			return Retryable
		}
		return Terminal
	}
}

// retryOn is RetryOn(target).
func retryOn(target error) Classifier {
	if comparableTarget(target) {
		return func(err error) Class {
			if isTarget(err, target) {
				return Retryable
			}
			return Terminal
		}
	}
	return func(err error) Class {
		if errors.Is(err, target) {
			return Retryable
		}
		return Terminal
	}
}

// stopOn is StopOn(target).
func stopOn(target error) Classifier {
	if comparableTarget(target) {
		return func(err error) Class {
			if isTarget(err, target) {
				return Terminal
			}
			return Unclassified
		}
	}
	return func(err error) Class {
		if errors.Is(err, target) {
			return Terminal
		}
		return Unclassified
	}
}

// isTarget is errors.Is(err, target) for a comparable target (non-nil,
// of a type == compares without a panic): an error that wraps nothing and
// has no Is method matches only by ==, which costs one comparison and one
// type switch instead of errors.Is's walk. Any other error takes
// errors.Is.
func isTarget(err, target error) bool {
	if err == target {
		return true
	}
	switch err.(type) {
	case interface{ Is(error) bool }, interface{ Unwrap() error }, interface{ Unwrap() []error }:
		return errors.Is(err, target)
	}
	return false
}

// comparableTarget reports whether target is non-nil and of a type that
// compares with == without a possible panic (a pointer, a number, a
// string: the sentinel errors), which a struct or an array holding an
// interface would not guarantee: such a target is matched by isTarget.
func comparableTarget(target error) bool {
	if target == nil {
		return false
	}
	switch reflect.TypeOf(target).Kind() {
	case reflect.Pointer, reflect.String, reflect.Bool, reflect.Chan, reflect.UnsafePointer,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	}
	return false
}

func matchAny(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

// chain is a policy's classifier chain: a single classifier kept alone
// (WithClassifier with one argument, which then allocates nothing), or a
// list. The zero chain is empty.
type chain struct {
	one  Classifier
	list []Classifier
}

func (ch chain) empty() bool { return ch.one == nil && len(ch.list) == 0 }

// classify applies the chain, then the error's own verdict (self, from
// inspect), then the default: retry.
func classify(ch chain, err error, self Class) Class {
	if ch.one != nil {
		if d := ch.one(err); d != Unclassified {
			return d
		}
	}
	for _, c := range ch.list {
		if d := c(err); d != Unclassified {
			return d
		}
	}
	if self != Unclassified {
		return self
	}
	return Retryable
}

// strip removes the Permanent and After wrappers stacked on top of err.
func strip(err error) error {
	for {
		s, ok := err.(*signal)
		if !ok {
			return err
		}
		err = s.err
	}
}
