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
// Succeeded and Failed (engine.go), which read the record the copies of a
// call share (engine_round.go).

// Hedge asks for admission of a hedge of a call at now: another copy of
// its attempt, sent while the copies already sent still run. pr is the
// Progress of the call's latest copy, as [Policy.Begin] or an earlier
// Hedge returned it (a hedge's may have been reported while others run;
// any copy's that runs will do), and its admission is left alone.
// Hedge returns the context to give the copy and its Progress, which
// holds an admission of its own and is reported once, by
// [Policy.Succeeded] or [Policy.Failed], as every attempt Begin admits;
// its Attempts is the call's count, one more than that of the copies
// sent before it.
//
// The admission is the one [DoHedged] gives a hedge, the cost of a
// retry: the attempt limit ([WithMaxAttempts] counts copies and retries
// together) and the elapsed limit ([WithMaxElapsed], from pr.Start to
// now), then the [Budget] withdraws its RetryCost, then the [Breaker]
// admits the copy (a refusal there gives the budget its tokens back). It
// checks no wait and no deadline (a hedge does not wait), judges no error
// and calls no [WithNotify] hook. A refusal returns an [*Error] whose
// Reason is [ErrExhausted], [ErrMaxElapsed], [ErrBudgetExhausted],
// [ErrCircuitOpen], or [context.Cause] of a ctx
// that is done, and pr unchanged; it ends nothing: the call goes on with
// the copies in flight, and the observer hears nothing of it. An admitted
// hedge is reported to the observer as it starts, with
// [AttemptStartInfo].Hedge set; the call's [DoneInfo].Hedges counts it.
//
// A driver (a queue, an event loop, a custom transport, a stream) hedges
// a call as DoHedged does:
//
//   - Begin sends the first copy. While a copy runs and fewer than
//     [Policy.MaxInFlight] do, another is due [Policy.HedgeAfter] after
//     the latest was sent (read it as that copy is sent: an adaptive
//     delay moves); Hedge admits it, given the latest copy's Progress.
//     Once Hedge refuses, the call sends no further hedge.
//   - The first copy that succeeds wins: report it with Succeeded (the
//     budget's deposit, the breaker's success), cancel the others, and
//     report each, as it ends, with Failed under a context that is done
//     (its own cancelled context): it counts as nothing.
//   - A copy that fails while others run is reported as it ends, with
//     Failed under the caller's context, and judged as DoHedged judges
//     it. A stop ([Permanent], [NotIdempotent], a classifier's) ends the
//     call: the Verdict's Err is the stop (the [*Error] DoHedged returns,
//     the call's Attempts, the copy's error as Last, no Wait), the
//     breaker records the copy as DoHedged does; cancel the others and
//     report each as a loser (above): the call sends no further hedge
//     (Hedge refuses it), and its Done, with the last copy's report,
//     carries the stop. Any other failure counts as nothing, and the
//     others go on: the Verdict's Err is nil, and its Wait is the least
//     wait before the next hedge, DoHedged's: 0 for the first such
//     failure since the call's last retry (the next hedge goes at once,
//     as gRPC's does), and for any later one the wait a retry would take
//     (the next hedge goes at now + Wait, or when the hedge delay ends,
//     if that is later): a driver must not chain immediate hedges. Its
//     Next holds the call's counts and is not to be begun while copies
//     run (hedge with a running copy's Progress). The last copy to fail,
//     none running, is reported with Failed under the caller's context:
//     the Verdict is DoHedged's decision, on the call's count of
//     attempts (the engine knows it), the retry's wait, budget and
//     limits, and its Next begins the retry, which hedges again.
//   - A copy whose handler panicked, or whose outcome is lost, is
//     reported with Failed under a context that is done (a breaker's
//     probe slot is freed); cancel the others and report them so.
//
// With [WithAdaptiveHedge], the engine feeds its [HedgeDelay] itself, as
// DoHedged does: the latency of every copy reported with Succeeded (a
// call that never hedged included), and that of a loser reported with
// Failed after a copy won, if it ran for at least the current delay. A
// copy's latency runs from the now of the Begin or Hedge that admitted
// it to the now of its report, so report each copy as it ends, at the
// instant it ended; a driver must not call [HedgeDelay.Observe] for them
// too, which would count each latency twice.
//
// The copies of a call share a record, which its first Hedge creates
// (one allocation per hedged call; a call never hedged has none) and
// every copy's report reads: the engine knows which copy won, which lost
// and which is the last, so the observer hears what DoHedged tells it.
// Each copy's AttemptEnd comes with its report, a loser's (reported after
// a copy succeeded, or after a copy's failure stopped the call) marked
// [AttemptEndInfo].Lost, a copy's that failed while others ran not (with
// Stop set when it stopped the call); the call's one Done comes with the
// report of its last copy, with the call's Attempts and Hedges and the
// context of the copy that won or stopped the call, and the stop as Err
// (a Done waits for every copy to be reported). A
// loser reported with Succeeded is the breaker's success and not the
// budget's deposit, as in DoHedged; reported with Failed it counts as
// nothing, under any context, and its Verdict's Err is an [*Error] whose
// Reason is [context.Cause] of ctx, or [context.Canceled] when ctx is
// not done, or errHedgeEnded's "another copy ended the call" after a copy's
// stop; so is a copy reported while others run under a context that is
// done (its outcome unknown). A copy reported
// with bad input (see [Policy.Failed]) ends the call with that error, as
// the call's Done, unless the call is over already (a copy won, or a bad
// report ended it): the copy is then a loser, and its caller still gets
// the error. The reports of a call's copies, and the start of each hedge,
// are recorded one at a time, each with its observer's hooks (as
// DoHedged's are): a hook must not report a copy of its own call, nor
// hedge it. The record lives in this process, as the
// admissions do: an encoded Progress keeps neither
// ([Progress.MarshalJSON]), and each copy is reported in the process that
// admitted it. Two things still differ from DoHedged, for a copy that
// fails while others run with an error the policy would retry: it counts
// as nothing in the breaker (DoHedged records a failure), and a hint
// ([After]) it returned is treated as any such failure (DoHedged cancels
// the others, sends no further hedge, and its retry waits for the hint).
// Otherwise the budget, the breaker, the attempt count, the stops and the
// observer's events are the same (property and table tests compare the
// two drivers).
//
// A nil ctx, a zero now, a Progress without attempts (call Begin first)
// or with invalid counts, a policy that does not hedge ([WithHedge] or
// [WithAdaptiveHedge] with a maxInFlight of 2 or more), or a nil or zero
// policy return an error wrapping [ErrInvalidConfig], and so does a hedge
// of a call that is over (a copy succeeded, a copy's failure stopped it,
// or every copy was reported: a
// driver's hedge timer may race with the winner's report, and its hedge
// is then refused and sends nothing), of a call between its attempts (a
// Verdict's Next, a decoded Progress: Begin its next attempt), or of a
// call another policy admitted (another breaker or budget); none
// changes anything. Hedge reads no clock, never sleeps, and is safe for
// concurrent use, with the same pr too (each call admits its own copy),
// and with the reports of the call's copies. If the observer's
// AttemptStart or BreakerChange panics, the copy's admissions are given
// back (the budget's tokens, the breaker's slot) before the panic goes
// on.
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
	rd, e := p.roundOf(&pr)
	if e != nil {
		return ctx, pr, e
	}
	attempts, over := rd.counts()
	switch {
	case over:
		return ctx, pr, &Error{Attempts: attempts, Reason: errCallOver}
	case ctx.Err() != nil:
		return ctx, pr, &Error{Attempts: attempts, Reason: causeOf(ctx)}
	case c.maxAttempts > 0 && attempts >= c.maxAttempts:
		return ctx, pr, &Error{Attempts: attempts, Reason: ErrExhausted}
	case c.maxElapsed > 0 && !pr.Start.IsZero() && now.Sub(pr.Start) >= c.maxElapsed:
		// As DoHedged sends no hedge past the limit.
		return ctx, pr, &Error{Attempts: attempts, Reason: ErrMaxElapsed}
	}
	cp := Progress{Start: pr.Start, Prev: pr.Prev, waited: pr.waited, round: rd}
	clk := at(now)
	if c.budget != nil && !c.budget.withdraw(false, &clk) {
		return ctx, pr, &Error{Attempts: attempts, Reason: ErrBudgetExhausted}
	}
	if c.breaker != nil && !c.breaker.admit(&cp, &clk) {
		if c.budget != nil {
			c.budget.refund(false)
		}
		return ctx, pr, &Error{Attempts: attempts, Reason: ErrCircuitOpen}
	}
	if cp.Start.IsZero() {
		cp.Start = now // a stored Progress that did not keep it, as Begin takes it
	}
	cp.rebase(&clk)
	c.markBegan(&cp, now)
	cp.hedge = true
	octx, why := p.joinHedge(ctx, &cp, &clk)
	if why != nil {
		// Another copy ended the call, or another Hedge took the last
		// attempt, since counts: the admissions are given back.
		if c.budget != nil {
			c.budget.refund(false)
		}
		c.report(&cp, outcomeNone, &clk)
		return ctx, pr, &Error{Attempts: cp.Attempts, Reason: why}
	}
	cp.adm, cp.gen = p.newAdmission(ctx, octx)
	return octx, cp, nil
}

// joinHedge counts the admitted hedge cp in its call (see hedgeRound.join)
// and reports its start to the observer, under the call's lock: a report
// of another copy meanwhile waits, so it finds the hedge either not
// counted or started (never counted and then taken back by a panicking
// hook), and the hedge's AttemptStart never overlaps the other copies'
// events, as in DoHedged.
func (p *Policy) joinHedge(ctx context.Context, cp *Progress, clk *clock) (context.Context, error) {
	rd := cp.round
	rd.mu.Lock()
	defer rd.mu.Unlock()
	var why error
	if cp.Attempts, cp.hedges, why = rd.join(p.cfg.maxAttempts); why != nil {
		return ctx, why
	}
	if p.cfg.observer == nil {
		return ctx, nil
	}
	return p.startHedge(ctx, cp, clk), nil
}

// startHedge reports the start of the hedge cp to the observer; if a hook
// panics, the hedge is not sent: the budget gets its tokens back, the
// breaker's slot is freed (the attempt counts as nothing), and the call
// no longer counts it. The caller holds the call's lock.
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
		cp.round.unjoin()
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
