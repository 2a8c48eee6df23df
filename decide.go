package retry

import (
	"context"
	"time"
)

// The decision after a failed attempt, as a function of the attempt's
// error and an explicit instant: the rule for what the error means
// (judge), the breaker's outcome, the limits, the wait (wait.go), the
// budget and the notify hook. The attempt step (step.go) takes it for both
// drivers, Do and the engine.

// judge is the rule, written once, for what an attempt's error means. The
// operation's own signal decides first: [Permanent] stops, [After] retries
// with its hint, [TimedOut] retries; then an attempt that hit its own
// timeout is retried; then
// the classifier chain, the error's Retryable() method, and the default:
// retry. terminal reports a stop; it also means that the dependency
// answered, which the breaker counts as a success, unless the signal is
// [NotIdempotent]. marked says a [TimedOut] mark is anywhere in err's
// chain, even under a signal that decides (TimedOut(After(d, err))): the
// attempt ran out of its time, and the budget charges TimeoutCost.
func judge(ch *chain, err error, timedOut bool) (sig *signal, terminal, marked bool) {
	sig, self, marked := inspect(err)
	switch {
	case sig != nil:
		return sig, sig.permanent, marked
	case timedOut:
		return nil, false, marked
	case ch.empty():
		return nil, self == Terminal, marked
	}
	return nil, classify(*ch, err, self) != Retryable, marked
}

// breakerOutcome is what a judged error tells the breaker: a stop means
// the dependency answered, unless the operation said the failure is only
// unsafe to retry ([NotIdempotent]).
func breakerOutcome(sig *signal, terminal bool) outcome {
	if terminal && (sig == nil || !sig.notIdempotent) {
		return outcomeSuccess
	}
	return outcomeFailure
}

// decide is the decision after an attempt failed with err at clk: it
// returns the wait before the next attempt and the attempt's hint, or the
// *Error that ends the call. A retry that the breaker would refuse (its
// circuit is open until after clk + wait) ends the call with
// ErrCircuitOpen here, with nothing withdrawn from the budget. timedOut says the attempt hit the policy's own
// attempt timeout. It updates pr (the previous wait, the breaker
// admission), records the outcome in the breaker, withdraws from the budget
// and calls the notify hook.
func (c *config) decide(ctx context.Context, pr *Progress, err error, timedOut bool, clk *clock) (wait, hint time.Duration, stop *Error) {
	if ctx.Err() != nil {
		c.report(pr, outcomeNone, clk)
		return 0, 0, pr.stop(err, causeOf(ctx), 0)
	}
	var sig *signal
	var terminal, marked bool
	if pr.held {
		sig, terminal, marked = c.judgeAttempt(pr, err, timedOut, clk)
	} else {
		sig, terminal, marked = judge(&c.classifiers, err, timedOut)
	}
	if sig == nil && !terminal && c.instant && c.breaker == nil && (c.maxAttempts == 0 || pr.Attempts < c.maxAttempts) {
		pr.Prev = 0 // a zero wait, no limit on time, no budget, no hook, no breaker
		return 0, 0, nil
	}
	return c.decideJudged(ctx, pr, err, sig, terminal, marked, timedOut, clk)
}

// decideJudged is decide once err is judged (sig, terminal, marked), past
// the common case of an instant retry without a breaker, which decide
// takes itself so that a retry with nothing to decide pays for a small
// function.
func (c *config) decideJudged(ctx context.Context, pr *Progress, err error, sig *signal, terminal, marked, timedOut bool, clk *clock) (wait, hint time.Duration, stop *Error) {
	hinted := sig != nil && sig.hinted
	if hinted {
		hint = sig.hint
	}
	timedOut = timedOut || marked
	switch {
	case terminal && sig != nil && sig.notIdempotent:
		return 0, 0, pr.stop(err, ErrNotIdempotent, 0)
	case terminal:
		return 0, 0, pr.stop(err, ErrPermanent, 0)
	case c.maxAttempts > 0 && pr.Attempts >= c.maxAttempts:
		return 0, hint, pr.stop(err, ErrExhausted, hint)
	case c.instant && !hinted:
		if c.breaker != nil && c.breaker.refusesAt(clk, 0) {
			return 0, 0, pr.stop(err, ErrCircuitOpen, 0)
		}
		pr.Prev = 0 // a zero wait, no limit on time, no budget, no hook
		return 0, 0, nil
	}
	wait, stop = c.nextWait(ctx, pr, err, hinted, hint, clk)
	if stop != nil {
		return 0, hint, stop
	}
	if c.breaker != nil && c.breaker.refusesAt(clk, wait) {
		// The circuit is open (this attempt may have tripped it) and stays
		// open past the wait: the next attempt would be refused, so the
		// call stops here, before the budget pays and the driver waits.
		return 0, hint, pr.stop(err, ErrCircuitOpen, hint)
	}
	if c.budget != nil && !c.budget.withdraw(timedOut, clk) {
		return 0, hint, pr.stop(err, ErrBudgetExhausted, hint)
	}
	if c.notify != nil {
		c.notifyRetry(ctx, c.retryInfo(pr, err, wait, hint, clk), timedOut)
	}
	return wait, hint, nil
}

// judgeAttempt judges err and reports the outcome to the breaker that
// admitted the attempt.
func (c *config) judgeAttempt(pr *Progress, err error, timedOut bool, clk *clock) (sig *signal, terminal, marked bool) {
	if pr.ticket.probe() {
		return c.judgeProbe(pr, err, timedOut, clk)
	}
	sig, terminal, marked = judge(&c.classifiers, err, timedOut)
	c.report(pr, breakerOutcome(sig, terminal), clk)
	return sig, terminal, marked
}

// judgeProbe is judgeAttempt for a half-open probe: if a classifier or a
// Retryable method panics, the probe's slot is freed (the attempt counts as
// nothing), or the breaker would refuse every later attempt for good.
func (c *config) judgeProbe(pr *Progress, err error, timedOut bool, clk *clock) (sig *signal, terminal, marked bool) {
	o := outcomeNone
	defer func() { c.report(pr, o, clk) }()
	sig, terminal, marked = judge(&c.classifiers, err, timedOut)
	o = breakerOutcome(sig, terminal)
	return sig, terminal, marked
}

// notifyRetry calls the notify hook; if it panics, the budget gets back the
// retry it granted, since that retry will not happen.
func (c *config) notifyRetry(ctx context.Context, a RetryInfo, timedOut bool) {
	if c.budget == nil {
		c.notify(ctx, a)
		return
	}
	called := false
	defer func() {
		if !called {
			c.budget.refund(timedOut)
		}
	}()
	c.notify(ctx, a)
	called = true
}
