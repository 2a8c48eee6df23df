package sim

import (
	"fmt"
	"time"

	"github.com/retrykit/retry"
)

// FieldError is a scenario field that a run cannot take: out of its range,
// or asking for more than a run holds (see [MaxClients]). It wraps
// [retry.ErrInvalidConfig], and is returned before the run allocates
// anything.
//
// Field names the field from its scenario ("Open.Rate", "Herd.Clients",
// "Open.Trigger.Length", "Sweep.Lengths"). Problem says what is wrong in
// words that name no other field, so that a program with its own names for
// the fields (a command line's flags) can say it with them: Field followed
// by Problem is a sentence.
type FieldError struct {
	Field   string
	Problem string
}

// Error returns "retry: invalid configuration: sim: " followed by the
// field and its problem.
func (e *FieldError) Error() string {
	return fmt.Sprintf("%v: sim: %s %s", retry.ErrInvalidConfig, e.Field, e.Problem)
}

// Unwrap returns [retry.ErrInvalidConfig].
func (e *FieldError) Unwrap() error { return retry.ErrInvalidConfig }

// fieldError returns a *FieldError.
func fieldError(field, format string, args ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// LimitError is a run stopped by a bound it reached while running: its
// event limit (the scenario's MaxEvents, [DefaultMaxEvents] when 0), or
// [MaxPending] events scheduled at once. Either way the run returns no
// result.
type LimitError struct {
	// Pending is true for a run that held more than MaxPending events at
	// once, false for one that processed its event limit.
	Pending bool
	// Limit is the bound reached: MaxPending, or the event limit.
	Limit int64
	// At is the virtual instant the run stopped at, from its start.
	At time.Duration
}

// Error says which bound stopped the run, and when.
func (e *LimitError) Error() string {
	at := e.At.Round(time.Millisecond)
	if e.Pending {
		return fmt.Sprintf("sim: stopped at virtual time %v holding more than %d events at once (MaxPending): the work in flight outgrows what a run holds; lower the load or let attempts time out",
			at, e.Limit)
	}
	return fmt.Sprintf("sim: stopped after %d events at virtual time %v: the run exceeds its event limit (MaxEvents); shorten it or raise the limit",
		e.Limit, at)
}
