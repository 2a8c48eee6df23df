package retry

import (
	"errors"
	"strconv"
	"time"
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
		target := errs[0]
		return func(err error) Class {
			if errors.Is(err, target) {
				return Retryable
			}
			return Terminal
		}
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
		target := errs[0]
		return func(err error) Class {
			if errors.Is(err, target) {
				return Terminal
			}
			return Unclassified
		}
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

func matchAny(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

// Permanent wraps err so that the loop stops at once with reason
// ErrPermanent, whatever the classifiers say. The returned error's message is
// err's, and errors.Is and errors.As see through it. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &signal{err: err, permanent: true}
}

// NotIdempotent wraps err so that the loop stops at once with reason
// [ErrNotIdempotent], whatever the classifiers say: the attempt failed in a
// way that would be retried, but resending is unsafe because its effect is
// unknown (a POST without an idempotency key that got a 503, a
// non-idempotent RPC that got UNAVAILABLE, a COMMIT whose outcome is
// unknown). Where [Permanent] means the dependency answered (a 404, which
// a [Breaker] counts as a success), NotIdempotent is a failure, and a
// Breaker counts it as one. Wrap err with a message that names what would
// allow the retry (an idempotency key, a method declared idempotent). The
// returned error's message is err's, and errors.Is and errors.As see
// through it. NotIdempotent(nil) is nil.
func NotIdempotent(err error) error {
	if err == nil {
		return nil
	}
	return &signal{err: err, permanent: true, notIdempotent: true}
}

// Unretryable is the former name of [NotIdempotent].
//
// Deprecated: use NotIdempotent, whose stop reason is [ErrNotIdempotent].
func Unretryable(err error) error { return NotIdempotent(err) }

// After wraps err with a server hint: the loop retries after at least d
// (for example an HTTP Retry-After), whatever the classifiers say. Unless the
// policy uses NoJitter or [WithExactHints], a full-jitter spread of this
// retry's base delay is added, so clients told the same instant do not
// return together. A hint longer than the policy's maximum delay stops the
// loop with ErrHintTooLong. A negative d is treated as 0. After(d, nil) is
// nil.
func After(d time.Duration, err error) error {
	if err == nil {
		return nil
	}
	return &signal{err: err, hint: max(d, 0), hinted: true}
}

// TimedOut marks err as the error of an attempt that ran out of its own
// time: the loop retries it whatever the classifiers say, as it retries an
// attempt that hit [WithAttemptTimeout], and a [Budget] charges it
// TimeoutCost. Do tells the timeouts it enforces apart by itself; TimedOut
// is for the timeouts an operation or a caller enforces (a deadline inside
// op, a queue's visibility timeout reported to [Policy.Failed]). The
// returned error's message is err's, and errors.Is and errors.As see
// through it. TimedOut(nil) is nil.
func TimedOut(err error) error {
	if err == nil {
		return nil
	}
	return &signal{err: err, timedOut: true}
}

// signal carries the operation's own verdict on an error: Permanent,
// NotIdempotent, After (hinted) or TimedOut.
type signal struct {
	err           error
	hint          time.Duration
	permanent     bool // stop
	notIdempotent bool // with permanent: a failure, unsafe to resend (NotIdempotent)
	hinted        bool
	timedOut      bool
}

// rank orders the verdicts when a chain holds several: Permanent and
// NotIdempotent decide over After, After over TimedOut.
func (s *signal) rank() int {
	switch {
	case s.permanent:
		return 3
	case s.hinted:
		return 2
	}
	return 1
}

func (s *signal) Error() string { return s.err.Error() }
func (s *signal) Unwrap() error { return s.err }

// inspect walks err's chain once, depth first like errors.As, without
// allocating. It returns the first Permanent wrapper, or failing that the
// first After wrapper (Permanent anywhere in the chain stops), and the
// verdict of the first error with a method Retryable() bool (Unclassified if
// there is none). One type switch per link keeps it to a single cached
// type lookup for the common error that wraps nothing.
func inspect(err error) (sig *signal, self Class) {
	for err != nil {
		var next error
		var many []error
		switch e := err.(type) {
		case *signal:
			sig = stronger(sig, e)
			next = e.err
		case interface {
			Retryable() bool
			Unwrap() error
		}:
			self = decide(self, e.Retryable())
			next = e.Unwrap()
		case interface {
			Retryable() bool
			Unwrap() []error
		}:
			self = decide(self, e.Retryable())
			many = e.Unwrap()
		case interface{ Retryable() bool }:
			self = decide(self, e.Retryable())
		case interface{ Unwrap() error }:
			next = e.Unwrap()
		case interface{ Unwrap() []error }:
			many = e.Unwrap()
		}
		for _, inner := range many {
			s, d := inspect(inner)
			sig = stronger(sig, s)
			if self == Unclassified {
				self = d
			}
		}
		err = next
	}
	return sig, self
}

// stronger returns the signal that decides between an earlier one and a
// later one: the earlier, unless the later ranks higher.
func stronger(earlier, later *signal) *signal {
	if earlier == nil || (later != nil && later.rank() > earlier.rank()) {
		return later
	}
	return earlier
}

// decide keeps an earlier verdict, or turns retryable into one.
func decide(earlier Class, retryable bool) Class {
	switch {
	case earlier != Unclassified:
		return earlier
	case retryable:
		return Retryable
	}
	return Terminal
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
