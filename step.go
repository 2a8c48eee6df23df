package retry

import (
	"context"
	"time"
)

// The attempt step: what happens as an attempt begins and as it ends, and
// which observer events fire then, written once. Both drivers take it:
// Do's loop (loop.go) and the engine's Begin, Failed and Succeeded
// (engine.go), so that an adapter built on the engine and a call through
// Do cannot drift. Each step is given the decision's clock: Do's reads the
// wall clock lazily, the engine's holds the instant its caller passed.
//
// The events of one call, in order (see Observer): at begin, BreakerChange
// if the admission changed the breaker's state, then AttemptStart; at the
// attempt's end, AttemptEnd, BreakerChange if its outcome changed the
// state, then BudgetRefused and Done, or RetryScheduled; Done alone for a
// call that ends between attempts (ended).

// begin admits the next attempt of the call pr at clk, counts it, and
// reports its start; it returns the context the attempt runs with (the one
// the observer's AttemptStart returned, or ctx). A call whose context has
// ended, or whose breaker refuses the attempt, ends here: begin reports
// the end and returns the *Error, which carries last and hint, the
// previous attempt's error and hint (Do passes them; the engine keeps no
// errors). The first attempt's instant becomes the call's start, read only
// when something measures from it (config.timed) or when clk was read
// anyway (the engine's).
func (c *config) begin(ctx context.Context, pr *Progress, last error, hint time.Duration, clk *clock) (context.Context, *Error) {
	if ctx.Err() != nil {
		return ctx, c.ended(ctx, pr, pr.stop(last, causeOf(ctx), hint), clk)
	}
	if c.breaker != nil && !c.breaker.admit(pr, clk) {
		return ctx, c.ended(ctx, pr, pr.stop(last, ErrCircuitOpen, hint), clk)
	}
	if c.timed || clk.read {
		if pr.Attempts == 0 || pr.Start.IsZero() {
			pr.Start = clk.now()
		}
		pr.rebase(clk)
	}
	pr.Attempts++
	if c.observer != nil {
		return c.observeStart(ctx, pr, clk), nil
	}
	return ctx, nil
}

// count is what begin comes to for a bare call (no breaker, no observer,
// nothing that measures from its start) whose clock was not read and
// whose context has not ended: counting the attempt. It reports whether it
// took the attempt; when it did not, begin must. Do's loop calls it first,
// inlined, so that its retries pay for no more than that.
func (c *config) count(ctx context.Context, pr *Progress, clk *clock) bool {
	if !c.bare || clk.read || ctx.Err() != nil {
		return false
	}
	pr.Attempts++
	return true
}

// failed decides after the attempt pr holds failed with err at clk (see
// decide), and reports the attempt's end and what was decided: it returns
// the wait before the next attempt and the attempt's hint, or the *Error
// that ends the call. ctx is the caller's (its end and its deadline bound
// the call); octx is the attempt's, which the hooks get. timedOut says the
// attempt hit the policy's own attempt timeout.
func (c *config) failed(ctx, octx context.Context, pr *Progress, err error, timedOut bool, clk *clock) (wait, hint time.Duration, stop *Error) {
	pr.rebase(clk)
	wait, hint, stop = c.decide(ctx, pr, err, timedOut, clk)
	if c.observer != nil {
		c.observeFailed(octx, pr, err, wait, hint, stop, timedOut, clk)
	}
	return wait, hint, stop
}

// succeeded records the success of the attempt pr holds at clk (the
// breaker's success, the budget's deposit) and reports the end of the
// attempt and of the call.
func (c *config) succeeded(octx context.Context, pr *Progress, clk *clock) {
	pr.rebase(clk)
	if c.breaker != nil {
		c.report(pr, outcomeSuccess, clk)
	}
	if c.budget != nil {
		c.budget.deposit()
	}
	if c.observer != nil {
		c.observeSucceeded(octx, pr, clk)
	}
}

// ended reports the end of a call that stops with e between attempts (its
// context ended, the breaker refused the next attempt), and returns e.
func (c *config) ended(ctx context.Context, pr *Progress, e *Error, clk *clock) *Error {
	if c.observer != nil {
		c.observeBreaker(ctx, clk)
		c.observeDone(ctx, pr, e, clk)
	}
	return e
}

// report tells the breaker that admitted the attempt pr holds, if any, its
// outcome.
func (c *config) report(pr *Progress, o outcome, clk *clock) {
	if pr.held {
		c.breaker.report(pr, o, clk, c.rand)
	}
}

// rebase moves the call's start back to clk's instant when that is
// earlier (a clock stepped back, a stored Start in the future), so that
// the elapsed time is counted from the earliest instant the call was
// given; see [Progress].Start. A clock not read yet (Do's, which is
// monotonic) is left alone.
func (pr *Progress) rebase(clk *clock) {
	if clk.read && clk.t.Before(pr.Start) {
		pr.Start = clk.t
	}
}
