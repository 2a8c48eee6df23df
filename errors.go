package retry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel reasons. Every failure of [Do] is an [*Error] whose Reason is one
// of these, the caller's [context.Cause], or [context.DeadlineExceeded] when
// the context's deadline left no room for the next wait. Test for them with
// [errors.Is] on the error [Do] returns.
var (
	// ErrExhausted: every attempt allowed by WithMaxAttempts was used.
	ErrExhausted = errors.New("retry: attempts exhausted")
	// ErrMaxElapsed: the next wait would have ended past the WithMaxElapsed limit.
	ErrMaxElapsed = errors.New("retry: maximum elapsed time reached")
	// ErrPermanent: the operation returned Permanent(err), or a classifier
	// decided the error is terminal.
	ErrPermanent = errors.New("retry: permanent error")
	// ErrNotIdempotent: the operation returned NotIdempotent(err): the
	// attempt failed in a way that would be retried, but sending it again
	// is unsafe because its effect is unknown.
	ErrNotIdempotent = errors.New("retry: not idempotent, not resent")
	// ErrBudgetExhausted: the shared retry budget refused the retry. This is a
	// decision taken by this client to protect the dependency, not an answer
	// from the server; the message says "client-side" so that a log line
	// cannot be read as the server's refusal.
	ErrBudgetExhausted = errors.New("retry: retry budget exhausted (client-side decision)")
	// ErrCircuitOpen: the circuit breaker rejected the attempt without running
	// the operation.
	ErrCircuitOpen = errors.New("retry: circuit breaker is open")
	// ErrHintTooLong: the operation asked (through After or Retry-After) for a
	// wait longer than the policy's maximum delay; Error.Hint holds it.
	ErrHintTooLong = errors.New("retry: server hint exceeds the maximum delay")
	// ErrInvalidConfig: an option, a strategy, a budget or breaker
	// configuration, or an argument of Do was invalid; the operation was not
	// called.
	ErrInvalidConfig = errors.New("retry: invalid configuration")
	// ErrDuplicateReport: [Policy.Failed] or [Policy.Succeeded] was given
	// an attempt that was reported already (by the same Progress or a
	// copy: a message delivered twice). The report changed nothing; a
	// consumer that may see an outcome twice drops it on this error.
	ErrDuplicateReport = errors.New("retry: a second report of the same attempt")
)

// deadlineCause is the reason of a call whose context's deadline passed
// with a cause of its own: it reads as the cause, and errors.Is finds both
// the cause and context.DeadlineExceeded, so that [ReasonOf] says
// "deadline", as it does for a deadline without a cause.
type deadlineCause struct{ cause error }

func (d deadlineCause) Error() string   { return d.cause.Error() }
func (d deadlineCause) Unwrap() []error { return []error{d.cause, context.DeadlineExceeded} }

// causeOf returns the reason of a call that ends because ctx is done:
// context.Cause of ctx, kept recognisable as a deadline (see
// deadlineCause).
func causeOf(ctx context.Context) error {
	c := context.Cause(ctx)
	if c != nil && ctx.Err() == context.DeadlineExceeded && !errors.Is(c, context.DeadlineExceeded) {
		return deadlineCause{c}
	}
	return c
}

// errPanicked is the reason of the call an observer sees end while a panic
// of its attempt unwinds (Do itself returns nothing: the panic reaches
// its caller).
var errPanicked = errors.New("retry: the attempt panicked")

// Error is the only error type [Do] and [Run] return on failure.
//
// [errors.Is] and [errors.As] see through it to both the operation's last
// error and the reason the loop stopped, so errors.Is(err, io.EOF) and
// errors.Is(err, ErrExhausted) can both hold for the same error.
type Error struct {
	// Attempts is the number of times the operation was called. It is 0
	// when nothing was called: invalid configuration or arguments of Do, a
	// context that was already done, or a breaker that rejected the first
	// attempt. An error of the engine ([Policy.Begin], [Policy.Failed],
	// [Policy.Succeeded]) carries the attempts of the Progress it was
	// given, also when it refuses the report (ErrInvalidConfig,
	// ErrDuplicateReport).
	Attempts int
	// Last is the error the last attempt returned, with the Permanent or
	// After wrapper removed; nil when Attempts is 0.
	Last error
	// Reason says why the loop stopped: one of the Err… sentinels of this
	// package (possibly wrapped with detail), context.Cause of the caller's
	// context, or context.DeadlineExceeded. When the context's deadline
	// passed with a cause of its own ([context.WithDeadlineCause]), the
	// Reason reads as that cause and matches both it and
	// context.DeadlineExceeded with errors.Is.
	Reason error
	// Hint is the wait the last attempt asked for through After (a
	// Retry-After header in httpx, a pushback in grpcx), or 0 when it asked
	// for none. With reason ErrHintTooLong it is the delay that was refused.
	// It is the value RetryInfo.Hint and Verdict.Hint name the same way.
	Hint time.Duration
	// RetryAfter holds the same value as Hint in every *Error this module
	// returns; [Error.Error] and the package read Hint only.
	//
	// Deprecated: use Hint, the name RetryInfo and Verdict give the same
	// value. RetryAfter will be removed before v1.0.0.
	RetryAfter time.Duration
}

// Error formats the reason, the attempt count, and the last error. A nil
// *Error, or one without a reason (which the package never returns),
// formats without panicking.
func (e *Error) Error() string {
	if e == nil {
		return "retry: <nil *Error>"
	}
	var b strings.Builder
	if e.Reason == nil {
		b.WriteString("retry: failed")
	} else {
		b.WriteString(e.Reason.Error())
	}
	if e.Attempts > 0 {
		fmt.Fprintf(&b, " after %d attempt", e.Attempts)
		if e.Attempts > 1 {
			b.WriteByte('s')
		}
	}
	if e.Hint > 0 {
		fmt.Fprintf(&b, " (server asked to wait %v)", e.Hint)
	}
	if e.Last != nil {
		b.WriteString(": ")
		b.WriteString(e.Last.Error())
	}
	return b.String()
}

// Unwrap returns the last error and the reason, those that are not nil, so
// that errors.Is and errors.As reach both.
func (e *Error) Unwrap() []error {
	switch {
	case e == nil:
		return nil
	case e.Last == nil && e.Reason == nil:
		return nil
	case e.Last == nil:
		return []error{e.Reason}
	case e.Reason == nil:
		return []error{e.Last}
	}
	return []error{e.Last, e.Reason}
}

// ReasonOf names why a call of [Do] ended, as a short word that stays the
// same from release to release, for a log attribute or a metric label:
//
//	success        err is nil
//	exhausted      ErrExhausted
//	max_elapsed    ErrMaxElapsed
//	permanent      ErrPermanent
//	not_idempotent ErrNotIdempotent
//	budget         ErrBudgetExhausted
//	circuit_open   ErrCircuitOpen
//	hint_too_long  ErrHintTooLong
//	invalid        ErrInvalidConfig
//	duplicate_report ErrDuplicateReport (the engine's second report of an
//	               attempt)
//	deadline       context.DeadlineExceeded (the context's deadline passed,
//	               with or without a cause of its own, or left no room
//	               for the next wait)
//	canceled       the caller's context was canceled, with any cause
//	panic          the operation or a classifier panicked (only an
//	               observer sees it: the panic itself reaches the caller)
//	other          an error that did not come from this package's loop
//
// For an [*Error] it looks at the Reason alone, not at the operation's
// last error, so an attempt that timed out does not read as "deadline".
func ReasonOf(err error) string {
	if err == nil {
		return "success"
	}
	reason := err
	var e *Error
	if errors.As(err, &e) {
		reason = e.Reason
	}
	switch {
	case reason == nil:
		return "other"
	case errors.Is(reason, ErrExhausted):
		return "exhausted"
	case errors.Is(reason, ErrMaxElapsed):
		return "max_elapsed"
	case errors.Is(reason, ErrPermanent):
		return "permanent"
	case errors.Is(reason, ErrNotIdempotent):
		return "not_idempotent"
	case errors.Is(reason, ErrBudgetExhausted):
		return "budget"
	case errors.Is(reason, ErrCircuitOpen):
		return "circuit_open"
	case errors.Is(reason, ErrHintTooLong):
		return "hint_too_long"
	case errors.Is(reason, ErrInvalidConfig):
		return "invalid"
	case errors.Is(reason, ErrDuplicateReport):
		return "duplicate_report"
	case reason == errPanicked:
		return "panic"
	case errors.Is(reason, context.DeadlineExceeded):
		return "deadline"
	case errors.Is(reason, context.Canceled), e != nil:
		// Any other Reason of an *Error is the cause the caller's context
		// was canceled with.
		return "canceled"
	}
	return "other"
}
