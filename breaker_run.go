package retry

import (
	"context"
	"fmt"
)

// Run calls op once through the breaker, without retrying: the breaker
// alone, for code that wants no retry loop. When the breaker refuses the
// attempt, op is not called and Run returns an [*Error] with Attempts 0 and
// reason [ErrCircuitOpen], as [Do] would; test for it with errors.Is.
// Otherwise Run returns op's error unchanged.
//
// The outcome is recorded by the rule Do uses with no classifiers: nil, a
// [Permanent] error, or an error whose Retryable() method says false is a
// success; any other error is a failure; an error returned once ctx has
// ended, or a panic in op or in a Retryable method, counts as nothing. To
// classify with a policy, call Do with [WithBreaker], [WithMaxAttempts](1)
// and [WithClassifier]. A lengthened open time (MaxRecoveryTimeout) draws
// its jitter from math/rand/v2's global source.
//
// Run does not check ctx before calling op: op sees ctx and answers for it.
// A nil or zero breaker, a nil ctx or a nil op return an error wrapping
// [ErrInvalidConfig].
func (b *Breaker) Run(ctx context.Context, op func(context.Context) error) error {
	if b == nil || b.probes == 0 || ctx == nil || op == nil {
		return invalidRun(b, op)
	}
	s := b.st.Load()
	if kindOf(s) != BreakerClosed {
		return b.runSlow(ctx, op)
	}
	// The closed path of the breaker's contract, by hand: admission is this
	// load, and an attempt of a closed period holds no slot, so a panic in
	// op leaks nothing.
	err := op(ctx)
	if err == nil && b.width == 0 && b.fails.Load() == 0 {
		return nil // what done(success) would conclude, without the call
	}
	var end clock
	b.done(ticket(s), runOutcome(ctx, err), &end, nil)
	return err
}

// runSlow runs op through a breaker that was not closed a moment ago: the
// engine's attempt path (admit, call, report), with no policy.
func (b *Breaker) runSlow(ctx context.Context, op func(context.Context) error) error {
	var pr Progress
	var admission clock
	if !b.admit(&pr, &admission) {
		return &Error{Reason: ErrCircuitOpen}
	}
	var err error
	if pr.ticket.probe() {
		_, err = callProbe(b, nil, &pr, func(ctx context.Context) (struct{}, error) { return struct{}{}, op(ctx) }, ctx)
	} else {
		err = op(ctx)
	}
	var end clock // the outcome's own instant: op may have run for a while
	b.reportRun(&pr, ctx, err, &end)
	return err
}

// reportRun records the outcome of an attempt made by Run, judged by the
// rule of [judge] with no classifiers. A probe whose error's Retryable
// method panics counts as nothing, as in Do.
func (b *Breaker) reportRun(pr *Progress, ctx context.Context, err error, clk *clock) {
	if !pr.ticket.probe() {
		b.report(pr, runOutcome(ctx, err), clk, nil)
		return
	}
	o := outcomeNone
	defer func() { b.report(pr, o, clk, nil) }()
	o = runOutcome(ctx, err)
}

// runOutcome judges the error of an attempt made by Run.
func runOutcome(ctx context.Context, err error) outcome {
	switch {
	case err == nil:
		return outcomeSuccess
	case ctx.Err() != nil:
		return outcomeNone
	}
	sig, terminal, _ := judge(&chain{}, err, false)
	return breakerOutcome(sig, terminal)
}

func invalidRun(b *Breaker, op func(context.Context) error) error {
	what := "nil context"
	switch {
	case b == nil || b.probes == 0:
		what = "Run on a Breaker not made by NewBreaker"
	case op == nil:
		what = "nil operation"
	}
	return &Error{Reason: fmt.Errorf("%w: %s", ErrInvalidConfig, what)}
}
