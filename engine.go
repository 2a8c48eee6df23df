package retry

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
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
	// (wrapping [ErrInvalidConfig]; see Failed).
	Err error
}

// admission is Begin's record of one admitted attempt. Every copy of the
// Progress Begin returned points to it and holds its generation, so the
// attempt is reported once, by whichever copy reports it first. The
// generation moves on at the report, and again when the record is reused
// for a later admission (records are pooled per policy, so that Begin
// allocates nothing): a copy that reports late holds a generation that is
// no longer the record's.
type admission struct{ gen atomic.Uint64 }

// newAdmission returns a record of a new admission and its generation.
func (p *Policy) newAdmission() (*admission, uint64) {
	a, _ := p.admissions.Get().(*admission)
	if a == nil {
		a = new(admission)
	}
	return a, a.gen.Add(1)
}

// claimAdmission marks the admission of generation gen reported, and reports
// whether it was not yet; the record then goes back to the pool.
func (p *Policy) claimAdmission(a *admission, gen uint64) bool {
	if !a.gen.CompareAndSwap(gen, gen+1) {
		return false
	}
	p.admissions.Put(a)
	return true
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
// Every attempt Begin admits is reported exactly once, by Failed or
// Succeeded, with the Progress Begin returned or any copy of it: a second
// report of the same attempt (a message delivered twice to the code that
// reports it) is refused with an error and changes nothing, and a
// breaker's half-open probe holds its slot until the first report. An
// attempt whose outcome you will never know (your handler panicked, the
// process is stopping) is reported by Failed with a context that is done,
// which counts it as nothing. Begin takes a Progress without a running
// attempt: the zero Progress, a [Verdict]'s Next, or a decoded one; the
// Progress of an attempt already begun is refused.
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
	clk := at(now)
	actx, e := p.cfg.begin(ctx, &pr, nil, 0, &clk)
	if e != nil {
		return ctx, pr, e
	}
	pr.adm, pr.gen = p.newAdmission()
	return actx, pr, nil
}

// Failed reports that the attempt admitted by [Policy.Begin] failed with err
// at now, and decides what comes next exactly as [Do] would: the
// operation's own signals ([Permanent], [NotIdempotent], [After],
// [TimedOut]) and the classifiers, the attempt limit, a hint against the
// maximum delay, the wait (strategy, cap, jitter, decorrelated from
// pr.Prev), the deadline of ctx and the elapsed limit measured from
// pr.Start, the budget; it records the outcome in the breaker, and calls
// the [WithNotify] hook before a retry. ctx is the one Begin returned (an
// observer's AttemptStart may have given it values of its own, such as a
// span that AttemptEnd ends): once it is done, the call is over with
// reason [context.Cause] of ctx, and the attempt counts as nothing.
//
// The engine applies no attempt timeout ([WithAttemptTimeout] is Do's): an
// attempt that hit a timeout of your own is reported as [TimedOut](err),
// and is then retried as Do retries an attempt that hit its attempt
// timeout, at the budget's TimeoutCost.
//
// A report the engine refuses changes nothing (no budget, breaker, hook or
// observer hears of it) and returns a Verdict whose Err wraps
// [ErrInvalidConfig]: a second report of an attempt Begin admitted, by
// this Progress or any copy (a consumer that may see an outcome twice
// drops the second report on this error), and a report on the zero
// Progress, whose attempt never began. A Progress without an admission
// that has attempts (a Verdict's Next, a decoded one) reports its latest
// attempt again: the call's limits, wait and budget decide its retry, but
// no breaker or AttemptEnd hears of it, and the engine cannot tell such a
// report from a repeat; it is meant for deciding again after the first
// report was lost (a worker that died). A nil err, a nil ctx, a zero now,
// an invalid Progress, or a nil or zero policy end the call with an error
// wrapping ErrInvalidConfig, and the attempt's admission is released,
// counting as nothing.
func (p *Policy) Failed(ctx context.Context, pr Progress, err error, now time.Time) Verdict {
	e := p.claim(ctx, &pr, now)
	if e == nil && err == nil {
		e = p.release(&pr, "Failed with a nil error (a success is reported with Succeeded)")
	}
	if e != nil {
		return Verdict{Next: pr, Err: e}
	}
	clk := at(now)
	wait, hint, stop := p.cfg.failed(ctx, ctx, &pr, err, false, &clk)
	v := Verdict{Next: pr, Wait: wait, Hint: hint}
	if stop != nil {
		v.Err = stop
	}
	return v
}

// Succeeded reports that the attempt admitted by [Policy.Begin] succeeded at
// now: the budget receives its deposit and the breaker records a success.
// ctx is the one Begin returned, which an observer's AttemptStart may have
// given values of its own (a span), as for [Policy.Failed]. A report the
// engine refuses (a second report of an admitted attempt, a report on the
// zero Progress; see Failed) returns an error wrapping [ErrInvalidConfig]
// and changes nothing; a nil ctx, a zero now, an invalid Progress, or a nil
// or zero policy return such an error and release the attempt's admission,
// recording nothing. A success is recorded only for an attempt Begin
// admitted in this process: a Progress without an admission (decoded from
// storage, or a copy made before Begin) is refused in the same way, since
// a success that was lost needs no second deposit; unlike [Policy.Failed],
// which decides again the retry of a stored Progress whose report was lost.
func (p *Policy) Succeeded(ctx context.Context, pr Progress, now time.Time) error {
	admitted := pr.adm != nil
	if e := p.claim(ctx, &pr, now); e != nil {
		return e
	}
	if !admitted {
		return pr.invalid("a success reported without an admission (a Progress decoded from storage carries none: call Begin, then report)")
	}
	clk := at(now)
	p.cfg.succeeded(ctx, &pr, &clk)
	return nil
}

// claim checks a report of the attempt pr holds, at now, and takes its
// admission, if it has one: the returned *Error is nil when the report is
// to be recorded. A second report of an admission, or a report on the zero
// Progress, changes nothing; any other bad input releases the admission.
// pr is left without it.
func (p *Policy) claim(ctx context.Context, pr *Progress, now time.Time) *Error {
	e := p.check(ctx, pr, now)
	adm, gen := pr.adm, pr.gen
	pr.adm, pr.gen = nil, 0
	switch {
	case e != nil && (p == nil || !p.cfg.built):
		return e // no policy, no breaker to release
	case adm == nil && e != nil:
		pr.held = false
		return e
	case adm == nil && pr.Attempts == 0:
		return pr.invalid("a report of an attempt that was not begun (call Begin first)")
	case adm == nil:
		pr.held = false // a stored Progress: its latest attempt, without an admission
		return nil
	case !p.claimAdmission(adm, gen):
		pr.held = false
		return pr.invalid("a second report of the same attempt (Failed or Succeeded is called once per Begin)")
	case e != nil:
		var clk clock // a release reads no time; a bad now is never used
		p.cfg.report(pr, outcomeNone, &clk)
		return e
	}
	return nil
}

// release frees the admission of the attempt pr holds, which counts as
// nothing, and returns the error of the bad report that ends the call.
func (p *Policy) release(pr *Progress, what string) *Error {
	var clk clock
	p.cfg.report(pr, outcomeNone, &clk)
	return pr.invalid(what)
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
