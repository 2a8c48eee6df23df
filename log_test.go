package retry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// TestReasonOf: every way a call ends has its own word, read from the
// Reason of an *Error and not from its last error.
// deadlineWithCause is the error of a call whose context's deadline passed
// with cause; it still matches cause.
func deadlineWithCause(t *testing.T, cause error) error {
	ctx, cancel := context.WithDeadlineCause(context.Background(), time.Now().Add(-time.Second), cause)
	defer cancel()
	err := retry.Run(ctx, func(context.Context) error { return nil })
	require.ErrorIs(t, err, cause)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, "shutting down", err.Error(), "the message is the cause's")
	return err
}

func TestReasonOf(t *testing.T) {
	errA := errors.New("a")
	cause := errors.New("shutting down")
	tests := []struct {
		err  error
		want string
	}{
		{nil, "success"},
		{&retry.Error{Attempts: 4, Last: errA, Reason: retry.ErrExhausted}, "exhausted"},
		{&retry.Error{Attempts: 2, Last: errA, Reason: retry.ErrMaxElapsed}, "max_elapsed"},
		{&retry.Error{Attempts: 1, Last: errA, Reason: retry.ErrPermanent}, "permanent"},
		{&retry.Error{Attempts: 1, Last: errA, Reason: retry.ErrNotIdempotent}, "not_idempotent"},
		{&retry.Error{Attempts: 2, Last: errA, Reason: retry.ErrBudgetExhausted}, "budget"},
		{&retry.Error{Reason: retry.ErrCircuitOpen}, "circuit_open"},
		{&retry.Error{Attempts: 1, Last: errA, Reason: retry.ErrHintTooLong, Hint: time.Minute}, "hint_too_long"},
		{&retry.Error{Reason: fmt.Errorf("%w: nil operation", retry.ErrInvalidConfig)}, "invalid"},
		{&retry.Error{Attempts: 1, Last: errA, Reason: context.DeadlineExceeded}, "deadline"},
		{&retry.Error{Attempts: 1, Last: errA, Reason: context.Canceled}, "canceled"},
		{&retry.Error{Attempts: 1, Last: errA, Reason: cause}, "canceled"},
		{deadlineWithCause(t, cause), "deadline"},
		// An attempt that timed out, then the attempts ran out: the reason counts.
		{&retry.Error{Attempts: 4, Last: context.DeadlineExceeded, Reason: retry.ErrExhausted}, "exhausted"},
		{fmt.Errorf("fetch: %w", &retry.Error{Attempts: 4, Last: errA, Reason: retry.ErrExhausted}), "exhausted"},
		{retry.ErrCircuitOpen, "circuit_open"},
		{errA, "other"},
		{&retry.Error{}, "other"},
	}
	// "panic" is seen only by an observer (see TestObserverSeesAPanickingAttemptEnd).
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.err), func(t *testing.T) {
			assert.Equal(t, tt.want, retry.ReasonOf(tt.err))
		})
	}
}

// TestStateJSON: a State, and a Decision, is a word in JSON and in slog's
// JSON handler.
func TestStateJSON(t *testing.T) {
	b, err := json.Marshal(map[string]retry.BreakerState{"a": retry.BreakerClosed, "b": retry.BreakerOpen, "c": retry.BreakerHalfOpen})
	require.NoError(t, err)
	assert.JSONEq(t, `{"a":"closed","b":"open","c":"half-open"}`, string(b))

	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "state", retry.BreakerHalfOpen, "decision", retry.Retryable)
	assert.Contains(t, buf.String(), `"state":"half-open","decision":"retryable"`)
}

// jsonLogger logs every level as JSON lines into the returned buffer,
// without the time.
func jsonLogger(level slog.Level) (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	h := slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: level, ReplaceAttr: func(g []string, a slog.Attr) slog.Attr {
		if len(g) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})
	return slog.New(h), &buf
}

// records decodes the JSON lines of buf.
func records(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	dec := json.NewDecoder(buf)
	for dec.More() {
		var m map[string]any
		require.NoError(t, dec.Decode(&m))
		out = append(out, m)
	}
	return out
}

// TestLogToRecords: the records of LogTo, their levels and attributes, for
// each event it logs.
func TestLogToRecords(t *testing.T) {
	l, buf := jsonLogger(slog.LevelDebug)
	o := retry.LogTo(l)
	ctx := context.Background()
	errA := errors.New("connection reset")
	o.RetryScheduled(ctx, retry.RetryInfo{Attempt: 1, MaxAttempts: 4, Err: errA, Wait: 150 * time.Millisecond})
	o.RetryScheduled(ctx, retry.RetryInfo{Attempt: 2, MaxAttempts: 4, Err: errA, Wait: 2 * time.Second, Hint: time.Second})
	o.Done(ctx, retry.DoneInfo{Attempts: 1})
	o.Done(ctx, retry.DoneInfo{Attempts: 3, MaxAttempts: 4})
	o.Done(ctx, retry.DoneInfo{Attempts: 3, MaxAttempts: 4, Err: &retry.Error{Attempts: 3, Last: errA, Reason: retry.ErrHintTooLong, Hint: 2 * time.Minute}})
	o.Done(ctx, retry.DoneInfo{Err: &retry.Error{Reason: retry.ErrCircuitOpen}})
	o.BreakerChange(ctx, retry.BreakerChangeInfo{From: retry.BreakerClosed, To: retry.BreakerOpen})

	got := records(t, buf)
	want := []map[string]any{
		{"level": "DEBUG", "msg": "retrying", "attempt": 1.0, "max_attempts": 4.0, "wait": 150e6, "error": "connection reset"},
		{"level": "DEBUG", "msg": "retrying", "attempt": 2.0, "max_attempts": 4.0, "wait": 2e9, "retry_after": 1e9, "error": "connection reset"},
		// The first-try success logs nothing.
		{"level": "DEBUG", "msg": "succeeded", "attempt": 3.0, "max_attempts": 4.0},
		{"level": "WARN", "msg": "giving up", "attempt": 3.0, "max_attempts": 4.0, "reason": "hint_too_long", "retry_after": 120e9, "error": "connection reset"},
		{"level": "WARN", "msg": "giving up", "attempt": 0.0, "max_attempts": 0.0, "reason": "circuit_open"},
		{"level": "INFO", "msg": "circuit breaker", "from": "closed", "to": "open"},
	}
	assert.Equal(t, want, got)
}

// TestLogToNilLogger: a nil logger means slog.Default.
func TestLogToNilLogger(t *testing.T) {
	l, buf := jsonLogger(slog.LevelDebug)
	old := slog.Default()
	slog.SetDefault(l)
	t.Cleanup(func() { slog.SetDefault(old) })
	retry.LogTo(nil).Done(context.Background(), retry.DoneInfo{Attempts: 1, Err: &retry.Error{Attempts: 1, Reason: retry.ErrPermanent}})
	assert.Contains(t, buf.String(), `"reason":"permanent"`)
}

// TestLogToDisabledAllocations: records below the logger's level cost no
// allocation.
func TestLogToDisabledAllocations(t *testing.T) {
	l, buf := jsonLogger(slog.LevelError)
	o := retry.LogTo(l)
	ctx := context.Background()
	errA := errors.New("a")
	fail := &retry.Error{Attempts: 4, Last: errA, Reason: retry.ErrExhausted}
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		o.RetryScheduled(ctx, retry.RetryInfo{Attempt: 1, MaxAttempts: 4, Err: errA, Wait: time.Second})
		o.Done(ctx, retry.DoneInfo{Attempts: 4, MaxAttempts: 4, Err: fail})
		o.Done(ctx, retry.DoneInfo{Attempts: 2, MaxAttempts: 4})
		o.BreakerChange(ctx, retry.BreakerChangeInfo{From: retry.BreakerClosed, To: retry.BreakerOpen})
	}))
	assert.Zero(t, buf.Len())
}
