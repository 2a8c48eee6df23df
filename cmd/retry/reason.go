package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/retrykit/retry"
)

// stopReason says in the flags' terms why the retrying stopped: the Reason
// of a *retry.Error, or a signal. terminal explains a failure the
// classification did not retry (retry.ErrPermanent), which depends on the
// mode. It is the reason of the give-up line and of -v's last line.
func (c *config) stopReason(e *retry.Error, terminal string) string {
	var se *signalError
	switch {
	case errors.Is(e.Reason, retry.ErrExhausted):
		return fmt.Sprintf("-attempts %d reached", c.attempts)
	case errors.Is(e.Reason, retry.ErrMaxElapsed):
		return "the next wait would end at or past -max-elapsed " + formatDuration(c.maxElapsed)
	case errors.Is(e.Reason, retry.ErrHintTooLong):
		return fmt.Sprintf("Retry-After %s exceeds -max-delay %s", formatDuration(e.Hint), formatDuration(c.maxDelay))
	case errors.Is(e.Reason, retry.ErrPermanent), errors.Is(e.Reason, retry.ErrNotIdempotent):
		return terminal
	case errors.As(e.Reason, &se):
		return se.Error()
	}
	return strings.TrimPrefix(e.Reason.Error(), "retry: ")
}

// exitClassifiers turns -retry-on and -stop-on into classifiers. A timed-out
// attempt is retried before any classifier is asked.
func exitClassifiers(c *config) []retry.Classifier {
	switch {
	case len(c.retryOn) > 0:
		return []retry.Classifier{func(err error) retry.Class {
			if hasStatus(err, c.retryOn) {
				return retry.Retryable
			}
			return retry.Terminal
		}}
	case len(c.stopOn) > 0:
		return []retry.Classifier{func(err error) retry.Class {
			if hasStatus(err, c.stopOn) {
				return retry.Terminal
			}
			return retry.Unclassified
		}}
	}
	return nil
}

// exitTerminalReason says why a failed attempt that exited with status was
// not retried.
func (c *config) exitTerminalReason(status int) string {
	switch {
	case len(c.retryOn) > 0:
		return fmt.Sprintf("-retry-on does not list status %d", status)
	case len(c.stopOn) > 0:
		return fmt.Sprintf("-stop-on lists status %d", status)
	}
	return "not retryable"
}

func hasStatus(err error, statuses []int) bool {
	var e *exitError
	return errors.As(err, &e) && slices.Contains(statuses, e.status)
}
