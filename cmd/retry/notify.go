package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/retrykit/retry"
)

// logger writes -v output: one line per retry, written by retry.LogTo,
// and one for the outcome, as log/slog text without the time and level
// (elapsed times are logged instead), with the attribute names LogTo uses
// (attempt, max_attempts, wait, retry_after, reason, error). A nil *logger
// logs nothing.
type logger struct {
	log         *slog.Logger
	retries     func(context.Context, retry.RetryInfo) // retry.LogTo's record of a retry
	maxAttempts int
	terminal    string // why an error is not retried, for the outcome line
}

// newLogger returns a logger for -v; terminal says in the flags' terms
// why an error was not retried.
func newLogger(w io.Writer, maxAttempts int, terminal string) *logger {
	h := slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: slog.LevelDebug, // LogTo writes retries at Debug
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
				return slog.Attr{}
			}
			return a
		},
	})
	l := slog.New(h)
	return &logger{log: l, retries: retry.LogTo(l).RetryScheduled, maxAttempts: maxAttempts, terminal: terminal}
}

// retrying is the retry.WithNotify hook: the attempt that failed, why, and
// the wait before the next one.
func (l *logger) retrying(ctx context.Context, a retry.RetryInfo) {
	l.retryScheduled(ctx, retry.RetryInfo{Attempt: a.Attempt, MaxAttempts: l.maxAttempts, Err: a.Err, Wait: a.Wait})
}

// retryScheduled is retrying for an observer's event, which also says
// whether the wait came from a Retry-After hint.
func (l *logger) retryScheduled(ctx context.Context, e retry.RetryInfo) {
	e.Wait, e.Hint = roundDuration(e.Wait), roundDuration(e.Hint)
	l.retries(ctx, e)
}

// outcome logs how the loop ended.
func (l *logger) outcome(err error, attempts int, elapsed time.Duration) {
	if l == nil {
		return
	}
	ctx := context.Background()
	var e *retry.Error
	if !errors.As(err, &e) {
		l.succeeded(attempts, elapsed)
		return
	}
	attrs := []slog.Attr{
		slog.Int("attempt", e.Attempts), slog.Int("max_attempts", l.maxAttempts),
		slog.String("reason", l.reason(e.Reason)),
	}
	if e.Last != nil {
		attrs = append(attrs, slog.String("error", e.Last.Error()))
	}
	attrs = append(attrs, slog.Duration("elapsed", roundDuration(elapsed)))
	l.log.LogAttrs(ctx, slog.LevelInfo, "giving up", attrs...)
}

// succeeded logs the attempt that succeeded; attrs go between its number
// and the elapsed time.
func (l *logger) succeeded(attempt int, elapsed time.Duration, attrs ...slog.Attr) {
	attrs = slices.Concat([]slog.Attr{slog.Int("attempt", attempt), slog.Int("max_attempts", l.maxAttempts)}, attrs,
		[]slog.Attr{slog.Duration("elapsed", roundDuration(elapsed))})
	l.log.LogAttrs(context.Background(), slog.LevelInfo, "succeeded", attrs...)
}

// reason describes why the loop stopped, in the command's own terms.
func (l *logger) reason(err error) string {
	var se *signalError
	switch {
	case errors.Is(err, retry.ErrExhausted):
		return "all attempts failed (-attempts)"
	case errors.Is(err, retry.ErrMaxElapsed):
		return "the next wait would end past -max-elapsed"
	case errors.Is(err, retry.ErrPermanent):
		return l.terminal
	case errors.As(err, &se):
		return se.Error()
	}
	return strings.TrimPrefix(err.Error(), "retry: ")
}
