package retry

import "time"

// The marks an operation puts on its own errors, which decide before any
// classifier: Permanent and NotIdempotent stop, After retries after a
// server hint, TimedOut retries an attempt that ran out of its own time.

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
// first After wrapper (Permanent anywhere in the chain stops), the
// verdict of the first error with a method Retryable() bool (Unclassified if
// there is none), and whether a TimedOut mark is anywhere in the chain
// (the budget charges TimeoutCost for it, whichever signal decides). One type switch per link keeps it to a single cached
// type lookup for the common error that wraps nothing.
func inspect(err error) (sig *signal, self Class, timedOut bool) {
	for err != nil {
		switch e := err.(type) {
		case *signal:
			sig = stronger(sig, e)
			timedOut = timedOut || e.timedOut
			err = e.err
		case interface {
			Retryable() bool
			Unwrap() error
		}:
			self = decide(self, e.Retryable())
			err = e.Unwrap()
		case interface {
			Retryable() bool
			Unwrap() []error
		}:
			self = decide(self, e.Retryable())
			return inspectAll(e.Unwrap(), sig, self, timedOut)
		case interface{ Retryable() bool }:
			return sig, decide(self, e.Retryable()), timedOut
		case interface{ Unwrap() error }:
			err = e.Unwrap()
		case interface{ Unwrap() []error }:
			return inspectAll(e.Unwrap(), sig, self, timedOut)
		default:
			return sig, self, timedOut // the common error, which wraps nothing
		}
	}
	return sig, self, timedOut
}

// inspectAll is inspect of the errors a link wraps, after what the chain
// above them gave (sig, self, timedOut): each is inspected in order.
func inspectAll(errs []error, sig *signal, self Class, timedOut bool) (*signal, Class, bool) {
	for _, inner := range errs {
		s, d, to := inspect(inner)
		sig = stronger(sig, s)
		timedOut = timedOut || to
		if self == Unclassified {
			self = d
		}
	}
	return sig, self, timedOut
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
