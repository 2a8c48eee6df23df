package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/retrykit/retry"
)

// logger writes -v output: one line per retry and one for the outcome, as
// log/slog text without the timestamp (elapsed times are logged instead).
// A nil *logger logs nothing.
type logger struct {
	log         *slog.Logger
	maxAttempts int
	terminal    string // why an error is not retried, for the outcome line
}

// newLogger returns a logger for -v; terminal says in the flags' terms
// why an error was not retried.
func newLogger(w io.Writer, maxAttempts int, terminal string) *logger {
	h := slog.NewTextHandler(w, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
				return slog.Attr{}
			}
			return a
		},
	})
	return &logger{log: slog.New(h), maxAttempts: maxAttempts, terminal: terminal}
}

// retrying is the retry.WithNotify hook: the attempt that failed, why, and
// the wait before the next one.
func (l *logger) retrying(ctx context.Context, a retry.Attempt) {
	l.log.LogAttrs(ctx, slog.LevelInfo, "attempt failed; retrying",
		slog.String("attempt", l.count(a.Number)),
		slog.String("error", a.Err.Error()),
		slog.Duration("wait", roundDuration(a.Delay)),
		slog.Duration("elapsed", roundDuration(a.Elapsed)),
	)
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
		slog.Int("attempts", e.Attempts),
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
	attrs = slices.Concat([]slog.Attr{slog.String("attempt", l.count(attempt))}, attrs,
		[]slog.Attr{slog.Duration("elapsed", roundDuration(elapsed))})
	l.log.LogAttrs(context.Background(), slog.LevelInfo, "succeeded", attrs...)
}

// count formats an attempt number as "2/5", or "2" with no attempt limit.
func (l *logger) count(n int) string {
	if l.maxAttempts == 0 {
		return strconv.Itoa(n)
	}
	return strconv.Itoa(n) + "/" + strconv.Itoa(l.maxAttempts)
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
