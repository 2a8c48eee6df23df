package retry

import (
	"context"
	"fmt"
	"math"
	"time"
)

// The decision engine's own drivers: a caller that schedules retries itself
// (a queue, an event loop, a durable job, a simulator in virtual time)
// takes the attempt step (step.go) through Begin, Failed and Succeeded,
// with the instant as a parameter. Nothing here sleeps, starts a
// goroutine or reads the clock.

// Verdict is the decision [Policy.Failed] took after a failed attempt: retry
// after Wait, or stop with Err.
type Verdict struct {
	// Next is the progress to store and hand to the next [Policy.Begin].
	Next Progress
	// Wait is how long to wait before the next attempt, when Err is nil:
	// run it at now + Wait.
	Wait time.Duration
	// Hint is the delay the attempt asked for through [After] (or a
	// Retry-After header in httpx), or 0 when it asked for none. Wait is
	// then the hint plus the policy's spread (see After).
	Hint time.Duration
	// Err is nil when the call should be retried; otherwise the call is
	// over and Err is the [*Error] that [Do] would return (Attempts, Last,
	// Reason, Hint), or the error of a report the engine refused
	// ([ErrDuplicateReport], or wrapping [ErrInvalidConfig]; see Failed).
	Err error
}

// Begin asks for admission of the next attempt of a call at now, and
// returns the context to give the attempt and the progress to hand to
// [Policy.Failed] or [Policy.Succeeded] when it ends. It counts the attempt
// and, for the first, records now as the call's start (see
// [Progress].Start for an instant before it). With a breaker (see
// [WithBreaker]) the breaker decides at now; a refusal returns an [*Error]
// with reason [ErrCircuitOpen], and the call is over (its Last is nil: the
// engine keeps no errors; the previous attempt's error is yours). The
// engine applies no attempt timeout: the context is ctx, or the one an
// observer's AttemptStart returned.
//
// A Progress that holds [WithMaxAttempts] attempts already is refused as
// [Do] would have stopped its call, with an *Error of reason [ErrExhausted]
// and no observer event (the call's Done was reported when the limit was
// reached). The elapsed limit ([WithMaxElapsed]) is not checked here but
// at the decision, by Failed, as Do checks it: a retry decided within the
// limit begins even when it begins late (a queue that delivers it late, a
// timer late on a loaded machine), and the next decision stops it.
//
// Every attempt Begin admits is reported exactly once, by Failed or
// Succeeded, with the Progress Begin returned or any copy of it: a second
// report of the same attempt (a message delivered twice to the code that
// reports it) is refused with [ErrDuplicateReport] and changes nothing,
// and a breaker's half-open probe holds its slot until the first report,
// or at most its lease ([BreakerConfig].ProbeLease): a probe dropped
// without a report is forfeited then, and its late report changes nothing
// in the breaker. The report goes to this policy, or to one made from it by
// [Policy.With] that keeps its breaker and budget; a report to a policy
// with another breaker or budget is refused (an error wrapping
// [ErrInvalidConfig]) and changes nothing. An attempt whose outcome you
// will never know (your handler panicked, the process is stopping) is
// reported by Failed with a context that is done, which counts it as
// nothing. Begin takes a Progress without a running attempt: the zero
// Progress, a [Verdict]'s Next, or a decoded one; the Progress of an
// attempt already begun is refused.
//
// Begin remembers ctx and the context it returns with the admission: the
// report decides on ctx, the caller's context, as Do decides on its
// caller's context and not on the one an observer's AttemptStart returned;
// the observer's hooks get the context Begin returned (see Failed).
//
// A context that is already done returns an *Error whose reason is
// [context.Cause] of ctx. A nil ctx, a zero now, an invalid Progress
// (negative fields, a count at its largest), the Progress of an attempt
// already begun, or a nil or zero policy return an error wrapping
// [ErrInvalidConfig]. Begin reads no clock, never sleeps, and is safe for
// concurrent use with distinct Progress values. It allocates nothing in
// the steady state: its record of the admission comes from a pool of the
// policy's (a garbage collection may empty the pool).
func (p *Policy) Begin(ctx context.Context, pr Progress, now time.Time) (context.Context, Progress, error) {
	if e := p.check(ctx, &pr, now); e != nil {
		return ctx, pr, e
	}
	switch {
	case pr.adm != nil:
		return ctx, pr, pr.invalid("Begin on the Progress of an attempt already begun (pass the Progress of the Verdict, Next)")
	case pr.Attempts == math.MaxInt-1:
		return ctx, pr, pr.invalid("invalid Progress (Attempts at its largest)")
	}
	if c := &p.cfg; c.maxAttempts > 0 && pr.Attempts >= c.maxAttempts {
		return ctx, pr, pr.stop(nil, ErrExhausted, 0)
	}
	clk := at(now)
	actx, e := p.cfg.begin(ctx, &pr, nil, 0, &clk)
	if e != nil {
		return ctx, pr, e
	}
	if p.cfg.hedge.adaptive != nil {
		p.cfg.markBegan(&pr, now) // out of line: a policy without it pays a load
	}
	pr.adm, pr.gen = p.newAdmission(ctx, actx)
	return actx, pr, nil
}

// Failed reports that the attempt admitted by [Policy.Begin] failed with err
// at now, and decides what comes next exactly as [Do] would: the
// operation's own signals ([Permanent], [NotIdempotent], [After],
// [TimedOut]) and the classifiers, the attempt limit, a hint against the
// maximum delay, the wait (strategy, cap, jitter, decorrelated from
// pr.Prev), the deadline of the caller's context and the elapsed limit
// measured from pr.Start, the budget, and a breaker open past the wait; it
// records the outcome in the breaker, and calls the [WithNotify] hook
// before a retry.
//
// The contexts are Do's: the decision and the WithNotify hook use the
// caller's context, the one given to Begin (remembered with the
// admission), and the observer's hooks get the one Begin returned (an
// observer's AttemptStart may have given it values of its own, such as a
// span that AttemptEnd ends, or ended it). Pass ctx, your context now:
// the one Begin returned, or yours. Once the caller's context is done, the
// call is over with reason [context.Cause] of it, and the attempt counts
// as nothing; so it is when ctx is done while the context Begin returned
// is not (your own signal that the outcome is unknown), with the cause of
// ctx. For a Progress without an admission (see below) ctx is the
// caller's context and the hooks get it too.
//
// The copies of a hedged call (see [Policy.Hedge]) are decided as a call,
// as [DoHedged] decides them: the last to be reported, none having
// succeeded, decides, on the call's count of attempts. A copy that fails
// while others run, reported under the caller's context, ends the call
// if its error is a stop ([Permanent], [NotIdempotent], a classifier's):
// the Verdict's Err is the stop, and the copies reported after it are
// losers; any other such failure counts as nothing, its Verdict's Err is
// nil and its Wait the least wait before the next hedge. A copy reported
// after a copy won or stopped the call, or under a context that is done,
// counts as nothing.
//
// The engine applies no attempt timeout ([WithAttemptTimeout] is Do's): an
// attempt that hit a timeout of your own is reported as [TimedOut](err),
// and is then retried as Do retries an attempt that hit its attempt
// timeout, at the budget's TimeoutCost.
//
// A report the engine refuses changes nothing (no budget, breaker, hook or
// observer hears of it) and returns a Verdict whose Err says why: a second
// report of an attempt Begin admitted, by this Progress or any copy, is
// [ErrDuplicateReport] (a consumer that may see an outcome twice drops the
// second report on it); a report on the zero Progress, whose attempt
// never began, and a report to a policy with another breaker or budget
// (see Begin) wrap [ErrInvalidConfig]. A Progress without an admission
// that has attempts (a Verdict's Next, a decoded one) reports its latest
// attempt again: the call's limits, wait and budget decide its retry, but
// no breaker or AttemptEnd hears of it, and the engine cannot tell such a
// report from a repeat; it is meant for deciding again after the first
// report was lost (a worker that died). A zero Start in it (a store that
// did not keep it) is taken as now, as Begin takes it.
//
// A nil err, a nil ctx, a zero now, an invalid Progress, or a nil or zero
// policy end the call with an error wrapping ErrInvalidConfig. For an
// admitted attempt the admission is released (the attempt counts as
// nothing), and the observer hears of the end of the attempt and of the
// call (AttemptEnd and Done, with that error as Err and Stop, and no
// duration when now is zero), as every started call ends with one Done.
func (p *Policy) Failed(ctx context.Context, pr Progress, err error, now time.Time) Verdict {
	admitted := pr.adm != nil
	r, e := p.claim(ctx, &pr, now)
	if e == nil && err == nil {
		const what = "Failed with a nil error (a success is reported with Succeeded)"
		if admitted {
			e = p.release(&pr, r, now, what)
		} else {
			e = pr.invalid(what) // a stored Progress: nothing was running
		}
	}
	if e != nil {
		return Verdict{Next: pr, Err: e}
	}
	clk := at(now)
	if pr.round != nil {
		return p.cfg.failedCopy(r, &pr, err, &clk)
	}
	wait, hint, stop := p.cfg.failed(r.ctx, r.octx, &pr, err, false, &clk)
	v := Verdict{Next: pr, Wait: wait, Hint: hint}
	if stop != nil {
		v.Err = stop
	}
	return v
}

// Succeeded reports that the attempt admitted by [Policy.Begin] succeeded at
// now: the budget receives its deposit and the breaker records a success.
// The observer's hooks get the context Begin returned, as for
// [Policy.Failed]; ctx is yours. A report the engine refuses (a second
// report of an admitted attempt, [ErrDuplicateReport]; a report on the
// zero Progress or to another policy; see Failed) returns its error and
// changes nothing; a nil ctx, a zero now, an invalid Progress, or a nil or
// zero policy return an error wrapping [ErrInvalidConfig], release the
// attempt's admission, recording nothing, and report the end of the
// attempt and of the call to the observer, as Failed does. A success is
// recorded only for an attempt Begin admitted in this process: a Progress
// without an admission (decoded from storage, or a copy made before
// Begin) is refused in the same way, since a success that was lost needs
// no second deposit; unlike [Policy.Failed], which decides again the
// retry of a stored Progress whose report was lost. Of the copies of a
// hedged call (see [Policy.Hedge]), the first to succeed wins; a later
// one lost, and is the breaker's success alone. With [WithAdaptiveHedge]
// the attempt's latency, from the now Begin (or Hedge) was given to this
// one, is fed to its [HedgeDelay], as [DoHedged] feeds it.
func (p *Policy) Succeeded(ctx context.Context, pr Progress, now time.Time) error {
	admitted := pr.adm != nil
	r, e := p.claim(ctx, &pr, now)
	if e != nil {
		return e
	}
	if !admitted {
		return pr.invalid("a success reported without an admission (a Progress decoded from storage carries none: call Begin, then report)")
	}
	clk := at(now)
	if pr.round != nil {
		p.cfg.succeededCopy(r, &pr, &clk)
		return nil
	}
	if p.cfg.hedge.adaptive != nil {
		learn(p.cfg.hedge.learner(), &pr, now)
	}
	p.cfg.succeeded(r.octx, &pr, &clk)
	return nil
}

// check reports why p cannot decide for a call with ctx and pr at now, if
// it cannot.
func (p *Policy) check(ctx context.Context, pr *Progress, now time.Time) *Error {
	switch {
	case p == nil || !p.cfg.built:
		return pr.invalid("a nil or zero *Policy (use NewPolicy)")
	case p.cfg.err != nil:
		return &Error{Attempts: pr.Attempts, Reason: p.cfg.err}
	case ctx == nil:
		return pr.invalid("nil context")
	case now.IsZero():
		return pr.invalid("a zero time (pass time.Now() or your clock's instant)")
	case pr.Attempts < 0 || pr.Attempts == math.MaxInt || pr.Prev < 0:
		return pr.invalid(fmt.Sprintf("invalid Progress (Attempts %d, Prev %v)", pr.Attempts, pr.Prev))
	}
	return nil
}

// invalid is the error of a call of the engine with bad input.
func (pr *Progress) invalid(what string) *Error {
	return &Error{Attempts: max(pr.Attempts, 0), Reason: fmt.Errorf("%w: %s", ErrInvalidConfig, what)}
}
