package retry

import (
	"context"
	"math"
	"time"
)

// Hedging through the engine: the admission of a hedge, for a driver that
// is not DoHedged (a queue, an event loop, a custom transport, a
// simulator). It takes the accounting of DoHedged's startHedge
// (hedge_run.go) at an explicit instant; the copies are reported with
// Succeeded and Failed (engine.go).

// Hedge asks for admission of a hedge of a call at now: another copy of
// its attempt, sent while the copies already sent still run. pr is the
// Progress of the call's latest copy, as [Policy.Begin] or an earlier
// Hedge returned it (reported or not: only its counts are read, and its
// admission is left alone). Hedge returns the context to give the copy
// and its Progress, which holds an admission of its own and is reported
// once, by [Policy.Succeeded] or [Policy.Failed], as every attempt Begin
// admits; its Attempts is the call's count, one more than pr's.
//
// The admission is the one [DoHedged] gives a hedge, the cost of a
// retry: the attempt limit ([WithMaxAttempts] counts copies and retries
// together), then the [Budget] withdraws its RetryCost, then the
// [Breaker] admits the copy (a refusal there gives the budget its tokens
// back). It checks no wait, no elapsed limit and no deadline (a hedge
// does not wait), judges no error and calls no [WithNotify] hook. A
// refusal returns an [*Error] whose Reason is [ErrExhausted],
// [ErrBudgetExhausted], [ErrCircuitOpen], or [context.Cause] of a ctx
// that is done; it ends nothing: the call goes on with the copies in
// flight, which are reported as before, and nothing is reported to the
// observer. DoHedged sends no further hedge in a call once one was
// refused; a driver should do the same. An admitted hedge is reported to
// the observer as it starts, with [AttemptStartInfo].Hedge set, and the
// [DoneInfo].Hedges of a report on its Progress counts it.
//
// The driver keeps the rest of DoHedged's rules (see the "Hedging"
// section of the package documentation): at most [Policy.MaxInFlight]
// copies running, the delay of [Policy.HedgeAfter] between them, the
// winner reported with Succeeded and the losers with Failed under a
// context that is done. Hedge needs a policy that hedges ([WithHedge] or
// [WithAdaptiveHedge] with a maxInFlight of 2 or more).
//
// A nil ctx, a zero now, a Progress without attempts (call Begin first)
// or with invalid counts, a policy that does not hedge, or a nil or zero
// policy return an error wrapping [ErrInvalidConfig]. Hedge reads no
// clock, never sleeps, and is safe for concurrent use, with the same pr
// too (each call admits its own copy). If the observer's AttemptStart or
// BreakerChange panics, the copy's admissions are given back (the budget's
// tokens, the breaker's slot) before the panic goes on.
func (p *Policy) Hedge(ctx context.Context, pr Progress, now time.Time) (context.Context, Progress, error) {
	if e := p.check(ctx, &pr, now); e != nil {
		return ctx, pr, e
	}
	c := &p.cfg
	switch {
	case !c.hedge.on():
		return ctx, pr, pr.invalid("Hedge with a policy that does not hedge (WithHedge or WithAdaptiveHedge with maxInFlight 2 or more)")
	case pr.Attempts == 0:
		return ctx, pr, pr.invalid("Hedge of a call that has not begun (call Begin first)")
	case pr.Attempts >= math.MaxInt-1:
		return ctx, pr, pr.invalid("invalid Progress (Attempts at its largest)")
	}
	cp := Progress{Attempts: pr.Attempts, Start: pr.Start, Prev: pr.Prev, waited: pr.waited, hedges: pr.hedges}
	switch {
	case ctx.Err() != nil:
		return ctx, pr, &Error{Attempts: pr.Attempts, Reason: causeOf(ctx)}
	case c.maxAttempts > 0 && pr.Attempts >= c.maxAttempts:
		return ctx, pr, &Error{Attempts: pr.Attempts, Reason: ErrExhausted}
	}
	clk := at(now)
	if c.budget != nil && !c.budget.withdraw(false, &clk) {
		return ctx, pr, &Error{Attempts: pr.Attempts, Reason: ErrBudgetExhausted}
	}
	if c.breaker != nil && !c.breaker.admit(&cp, &clk) {
		if c.budget != nil {
			c.budget.refund(false)
		}
		return ctx, pr, &Error{Attempts: pr.Attempts, Reason: ErrCircuitOpen}
	}
	if cp.Start.IsZero() {
		cp.Start = now // a stored Progress that did not keep it, as Begin takes it
	}
	cp.rebase(&clk)
	cp.Attempts++
	cp.hedges++
	cp.hedge = true
	octx := ctx
	if c.observer != nil {
		octx = p.startHedge(ctx, &cp, &clk)
	}
	cp.adm, cp.gen = p.newAdmission(ctx, octx)
	return octx, cp, nil
}

// startHedge reports the start of the hedge cp to the observer; if a hook
// panics, the hedge is not sent: the budget gets its tokens back and the
// breaker's slot is freed (the attempt counts as nothing).
func (p *Policy) startHedge(ctx context.Context, cp *Progress, clk *clock) context.Context {
	c := &p.cfg
	returned := false
	defer func() {
		if returned {
			return
		}
		if c.budget != nil {
			c.budget.refund(false)
		}
		c.report(cp, outcomeNone, clk) // a probe's slot is freed once only
	}()
	octx := c.observeStart(ctx, cp, clk)
	returned = true
	return octx
}

// HedgeAfter returns the delay before the next hedge of a call: the delay
// of [WithHedge], or the current [HedgeDelay.Delay] of
// [WithAdaptiveHedge]'s estimator, read now (it moves as the estimator
// learns). A driver of the engine ([Policy.Hedge]) reads it as it sends a
// copy, as DoHedged does. It returns 0 for a policy that does not hedge
// ([Policy.MaxInFlight] is 1), and for a nil or zero Policy; 0 is also
// WithHedge(0, n)'s delay, every copy at once, so MaxInFlight tells the
// two apart. It is safe for concurrent use and allocates nothing.
func (p *Policy) HedgeAfter() time.Duration {
	if p == nil || !p.cfg.built || !p.cfg.hedge.on() {
		return 0
	}
	return p.cfg.hedge.next()
}
