package benchmarks

import (
	"context"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/hedgepolicy"
	"github.com/retrykit/retry"
)

// HedgeCopies is the number of copies of a request the hedging adapters
// allow: the first and one hedge (retrykit's maxInFlight 2, failsafe-go's
// WithMaxHedges(1), its default).
const HedgeCopies = 2

// NewRetrykitHedge returns a Runner for a retrykit policy that hedges: a
// Policy built once with WithHedge(delay, HedgeCopies) and passed to
// retry.DoHedged (retry.Do refuses a policy that hedges), which runs the
// first copy on the caller's goroutine and starts the hedge after delay if
// the first has not answered. The losing copy is
// cancelled through its context and waited for before DoHedged returns. A
// negative delay returns an error wrapping retry.ErrInvalidConfig.
func NewRetrykitHedge(delay time.Duration) (Runner, error) {
	p, err := retry.NewPolicy(retry.WithHedge(delay, HedgeCopies))
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, op Op) (int, error) {
		return retry.DoHedged(ctx, op, p)
	}, nil
}

// NewFailsafeHedge returns a Runner for failsafe-go's HedgePolicy used as
// its docs show: hedgepolicy.NewWithDelay[int](delay) (one hedge, after
// delay) in an executor built once, failsafe.With(policy).WithContext(ctx),
// run with Get. failsafe-go runs every copy, the first included, on a
// goroutine of its own; it cancels the losers' contexts when a result
// arrives and returns without waiting for them. The executor is built with
// ctx, so ctx must be the same for every call (context.Background() in the
// benchmarks).
func NewFailsafeHedge(ctx context.Context, delay time.Duration) Runner {
	hp := hedgepolicy.NewWithDelay[int](delay)
	exec := failsafe.With(hp).WithContext(ctx)
	return func(_ context.Context, op Op) (int, error) {
		return exec.GetWithExecution(func(e failsafe.Execution[int]) (int, error) { return op(e.Context()) })
	}
}
