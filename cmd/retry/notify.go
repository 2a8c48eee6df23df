package main

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/retrykit/retry"
)

// logger writes -v output: one line per retry, written by retry.LogTo,
// and one for the outcome, as log/slog text without the time and level
// (elapsed times are logged instead), with the attribute names LogTo uses
// (attempt, max_attempts, wait, retry_after, reason, error). Durations are
// written as formatDuration writes them, and max_attempts=0 as unlimited.
// A nil *logger logs nothing.
type logger struct {
	log         *slog.Logger
	retries     func(context.Context, retry.RetryInfo) // retry.LogTo's record of a retry
	maxAttempts int
}

// newLogger returns a logger for -v.
func newLogger(w io.Writer, maxAttempts int) *logger {
	h := slog.NewTextHandler(w, &slog.HandlerOptions{
		Level:       slog.LevelDebug, // LogTo writes retries at Debug
		ReplaceAttr: replaceAttr,
	})
	l := slog.New(h)
	return &logger{log: l, retries: retry.LogTo(l).RetryScheduled, maxAttempts: maxAttempts}
}

// replaceAttr drops the time and the level, writes durations in the one
// style of the command, and max_attempts=0 as unlimited.
func replaceAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch {
	case a.Key == slog.TimeKey || a.Key == slog.LevelKey:
		return slog.Attr{}
	case a.Value.Kind() == slog.KindDuration:
		return slog.String(a.Key, formatDuration(a.Value.Duration()))
	case a.Key == "max_attempts" && a.Value.Kind() == slog.KindInt64 && a.Value.Int64() == 0:
		return slog.String(a.Key, "unlimited")
	}
	return a
}

// retryScheduled is the retry.WithNotify hook and the observer's
// RetryScheduled: the attempt that failed, why, and the wait before the
// next one (with the server's hint, if it gave one).
func (l *logger) retryScheduled(ctx context.Context, e retry.RetryInfo) { l.retries(ctx, e) }

// outcome logs how the run ended: "succeeded", or "giving up" with the
// reason and how the last attempt ended; attrs go before the elapsed time.
func (l *logger) outcome(o *outcome, elapsed time.Duration, attrs ...slog.Attr) {
	if l == nil {
		return
	}
	head := []slog.Attr{slog.Int("attempt", o.attempts), slog.Int("max_attempts", l.maxAttempts)}
	msg := "succeeded"
	if o.failed {
		msg = "giving up"
		reason := o.reason
		if o.signal != nil {
			reason = "interrupted by " + signalName(o.signal)
		}
		head = append(head, slog.String("reason", reason))
		if o.last != "" {
			head = append(head, slog.String(o.lastKey(), o.last))
		}
	}
	attrs = slices.Concat(head, attrs, []slog.Attr{slog.Duration("elapsed", elapsed)})
	l.log.LogAttrs(context.Background(), slog.LevelInfo, msg, attrs...)
}
