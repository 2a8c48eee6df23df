package retry_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/retrykit/retry"
)

// nopObserver sets every hook to a function that does nothing, so that
// the benchmark measures the delivery of the events.
var nopObserver = &retry.Observer{
	AttemptStart:   func(ctx context.Context, _ retry.AttemptStartInfo) context.Context { return ctx },
	AttemptEnd:     func(context.Context, retry.AttemptEndInfo) {},
	RetryScheduled: func(context.Context, retry.RetryInfo) {},
	BudgetRefused:  func(context.Context, retry.BudgetRefusedInfo) {},
	BreakerChange:  func(context.Context, retry.BreakerChangeInfo) {},
	Done:           func(context.Context, retry.DoneInfo) {},
}

// BenchmarkObserverSuccess is BenchmarkSuccess with an observer whose
// hooks do nothing: the cost of the events (and of the two clock readings
// an attempt's duration needs: time.Now at the start, time.Since at the
// end, which reads only the monotonic clock).
func BenchmarkObserverSuccess(b *testing.B) {
	ctx := context.Background()
	p := mustPolicy(b, retry.WithObserver(nopObserver))
	b.ReportAllocs()
	for b.Loop() {
		sinkInt, sinkErr = retry.Do(ctx, opSucceed, p)
	}
}

// BenchmarkLogToDisabled: the slog observer with a logger whose level
// (Error) disables every record it would write, on a call that succeeds
// at once and on one that fails three times (zero waits) first.
func BenchmarkLogToDisabled(b *testing.B) {
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
	ctx := context.Background()
	b.Run("success", func(b *testing.B) {
		p := mustPolicy(b, retry.WithObserver(retry.LogTo(logger)))
		b.ReportAllocs()
		for b.Loop() {
			sinkInt, sinkErr = retry.Do(ctx, opSucceed, p)
		}
	})
	b.Run("3 failures", func(b *testing.B) {
		p := mustPolicy(b, retry.WithObserver(retry.LogTo(logger)), retry.WithBackoff(retry.Constant(0)))
		op := failThenSucceed(3)
		b.ReportAllocs()
		for b.Loop() {
			sinkInt, sinkErr = retry.Do(ctx, op, p)
		}
	})
	b.Run("3 failures, no observer", func(b *testing.B) {
		p := mustPolicy(b, retry.WithBackoff(retry.Constant(0)))
		op := failThenSucceed(3)
		b.ReportAllocs()
		for b.Loop() {
			sinkInt, sinkErr = retry.Do(ctx, op, p)
		}
	})
}
