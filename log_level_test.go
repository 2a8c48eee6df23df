package retry_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// levelLogger is a JSON logger whose level is lv.
func levelLogger(lv *slog.LevelVar) (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: lv})), &buf
}

// msgs returns the messages of the records in buf, in order, and empties it.
func msgs(t *testing.T, buf *bytes.Buffer) []string {
	t.Helper()
	var out []string
	for _, r := range records(t, buf) {
		out = append(out, r["msg"].(string))
	}
	buf.Reset()
	return out
}

// TestLogToLevelVar: a call through LogTo logs what its logger's level lets
// through at the time of each event, when the level changes between calls
// (a slog.LevelVar) and within one (a hook of the operation changes it),
// through Do and through the engine.
func TestLogToLevelVar(t *testing.T) {
	errA := errors.New("a")
	var lv slog.LevelVar
	l, buf := levelLogger(&lv)
	p, err := retry.NewPolicy(retry.WithObserver(retry.LogTo(l)), retry.WithBackoff(retry.Constant(0)))
	require.NoError(t, err)
	ctx := context.Background()
	threeThenOK := func(level func(n int) slog.Level) func(context.Context) (int, error) {
		n := 0
		return func(context.Context) (int, error) {
			n++
			lv.Set(level(n))
			if n <= 3 {
				return 0, errA
			}
			return n, nil
		}
	}
	fixed := func(l slog.Level) func(int) slog.Level { return func(int) slog.Level { return l } }
	tests := []struct {
		name  string
		level func(n int) slog.Level
		want  []string
	}{
		{"error", fixed(slog.LevelError), nil},
		{"debug", fixed(slog.LevelDebug), []string{"retrying", "retrying", "retrying", "succeeded"}},
		{"error again", fixed(slog.LevelError), nil},
		{"warn", fixed(slog.LevelWarn), nil},
		// Debug while the second attempt runs only: its retry is logged.
		{"debug during attempt 2", func(n int) slog.Level {
			if n == 2 {
				return slog.LevelDebug
			}
			return slog.LevelError
		}, []string{"retrying"}},
		// Debug from the fourth attempt on: the success is logged.
		{"debug from attempt 4", func(n int) slog.Level {
			if n >= 4 {
				return slog.LevelDebug
			}
			return slog.LevelError
		}, []string{"succeeded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := retry.Do(ctx, threeThenOK(tt.level), p)
			require.NoError(t, err)
			assert.Equal(t, 4, v)
			assert.Equal(t, tt.want, msgs(t, buf))
		})
	}

	t.Run("giving up at warn, then error", func(t *testing.T) {
		fail := func(context.Context) (int, error) { return 0, errA }
		lv.Set(slog.LevelWarn)
		_, err := retry.Do(ctx, fail, p)
		require.ErrorIs(t, err, retry.ErrExhausted)
		assert.Equal(t, []string{"giving up"}, msgs(t, buf))
		lv.Set(slog.LevelError)
		_, err = retry.Do(ctx, fail, p)
		require.ErrorIs(t, err, retry.ErrExhausted)
		assert.Empty(t, msgs(t, buf))
	})

	t.Run("engine", func(t *testing.T) {
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var pr retry.Progress
		for i, level := range []slog.Level{slog.LevelError, slog.LevelDebug, slog.LevelError} {
			lv.Set(level)
			_, next, err := p.Begin(ctx, pr, now)
			require.NoError(t, err)
			v := p.Failed(ctx, next, errA, now)
			require.NoError(t, v.Err, "attempt %d", i+1)
			pr = v.Next
		}
		assert.Equal(t, []string{"retrying"}, msgs(t, buf))
	})
}

// TestLogToHooksReplaced: an Observer made by LogTo whose hooks were
// wrapped or added to gets every event, with its durations measured,
// whatever the logger's level; LogTo's own hooks inside still log only
// what the level lets through.
func TestLogToHooksReplaced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var lv slog.LevelVar
		lv.Set(slog.LevelError)
		l, buf := levelLogger(&lv)
		o := retry.LogTo(l)
		inner := o.Done
		var done []retry.DoneInfo
		o.Done = func(ctx context.Context, e retry.DoneInfo) {
			done = append(done, e)
			inner(ctx, e)
		}
		var ends []time.Duration
		o.AttemptEnd = func(_ context.Context, e retry.AttemptEndInfo) { ends = append(ends, e.Duration) }
		p, err := retry.NewPolicy(retry.WithObserver(o), retry.WithBackoff(retry.Constant(10*time.Millisecond)), retry.WithJitter(retry.NoJitter))
		require.NoError(t, err)
		op := failThenSucceedAfter(2, 5*time.Millisecond)
		_, err = retry.Do(context.Background(), op, p)
		require.NoError(t, err)
		require.Len(t, done, 1)
		assert.Equal(t, 3, done[0].Attempts)
		assert.Equal(t, 20*time.Millisecond, done[0].Waited)
		assert.Equal(t, 35*time.Millisecond, done[0].Elapsed)
		assert.Equal(t, []time.Duration{5 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond}, ends)
		assert.Empty(t, msgs(t, buf))
	})
}

// failThenSucceedAfter returns an operation that takes d (time.Sleep, in a
// synctest bubble), then fails n times and succeeds.
func failThenSucceedAfter(n int, d time.Duration) func(context.Context) (int, error) {
	calls := 0
	return func(context.Context) (int, error) {
		time.Sleep(d)
		calls++
		if calls <= n {
			return 0, errors.New("transient")
		}
		return calls, nil
	}
}

// TestLogToDisabledCallAllocations: a call through LogTo at a level that
// logs nothing allocates nothing, on a success and on three zero-wait
// retries.
func TestLogToDisabledCallAllocations(t *testing.T) {
	var lv slog.LevelVar
	lv.Set(slog.LevelError)
	l, buf := levelLogger(&lv)
	p, err := retry.NewPolicy(retry.WithObserver(retry.LogTo(l)), retry.WithBackoff(retry.Constant(0)))
	require.NoError(t, err)
	ctx := context.Background()
	op := failThenSucceed(3)
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = retry.Do(ctx, op, p) }))
	assert.Zero(t, buf.Len())
}
