package retry

import (
	"context"
	"time"
)

// An Observer receives the events of a call: each attempt's start and end,
// each retry scheduled, the end of the call, a retry the budget refused and
// a change of the breaker's state. It is a struct of optional hooks, in the
// manner of net/http/httptrace.ClientTrace: set the fields you need and
// attach it with [WithObserver]; a nil field costs nothing.
//
// The events of one call arrive in order on the goroutine that drives it
// (the caller of [Do], or of the [Policy] methods that decide for a loop of
// its own): BreakerChange if the attempt's admission changed the
// breaker's state (BreakerOpen to BreakerHalfOpen), then AttemptStart, then AttemptEnd
// for the same attempt, then BreakerChange and BudgetRefused if that
// attempt's outcome caused them, then RetryScheduled or, when the call is
// over, Done. A call that ends
// without running an attempt (its context already done, the breaker
// refused the first attempt) gets Done alone. Every call that starts gets
// exactly one Done, unless a hook panics. When the operation (or a
// classifier) panics in [Do], the attempt's AttemptEnd and the call's Done
// are delivered while the panic unwinds, with an error whose [ReasonOf]
// word is "panic"; the panic then goes on to the caller. A hook delays
// the call by its own duration. The hooks that follow an attempt's end get
// that attempt's context (the one AttemptStart returned); those of a call
// that ends between attempts (its context ended during a wait, the
// breaker refused the next attempt) get the call's context.
//
// The events are plain values: nothing is allocated to deliver them, so a
// call that succeeds allocates nothing beyond what the hooks do. The
// hooks run after the budget and the breaker have recorded what they
// report: a hook that panics reaches the caller and leaves both
// consistent. The same Observer may serve many calls at once: its hooks
// must be safe for concurrent use. An Observer must not be modified once
// it is in use.
type Observer struct {
	// AttemptStart is called before an attempt runs. The context it returns
	// is the one the attempt receives (a tracer returns one that carries
	// the attempt's span); returning ctx itself changes nothing. A nil
	// context is treated as ctx.
	AttemptStart func(ctx context.Context, e AttemptStartInfo) context.Context
	// AttemptEnd is called when an attempt has returned, with the context
	// AttemptStart returned for it, once the call has decided what comes
	// next. It is called only for an attempt whose AttemptStart returned:
	// an attempt reported to [Policy.Failed] without [Policy.Begin] has
	// none (the call's other events still come).
	AttemptEnd func(ctx context.Context, e AttemptEndInfo)
	// RetryScheduled is called when another attempt is decided, before the
	// wait starts; it is the event [WithNotify] reports.
	RetryScheduled func(ctx context.Context, e RetryInfo)
	// BudgetRefused is called when the retry budget refused a retry; the
	// call then ends (Done follows).
	BudgetRefused func(ctx context.Context, e BudgetRefusedInfo)
	// BreakerChange is called when an attempt of this call changed the
	// state of the call's breaker: the attempt that tripped it, the first
	// admission after the recovery timeout (BreakerOpen to BreakerHalfOpen), the probe
	// that closed or reopened it. Each change is reported once, to the call
	// that caused it; [BreakerConfig].OnStateChange sees them all.
	BreakerChange func(ctx context.Context, e BreakerChangeInfo)
	// Done is called once when the call is over, successful or not.
	Done func(ctx context.Context, e DoneInfo)
}

// AttemptStartInfo is the event of an attempt about to run.
type AttemptStartInfo struct {
	// Attempt is the attempt's number, from 1; an adapter's resend count
	// is Attempt-1.
	Attempt int
	// MaxAttempts is the policy's attempt limit, 0 when it has none.
	MaxAttempts int
}

// AttemptEndInfo is the event of an attempt that returned.
type AttemptEndInfo struct {
	// Attempt is the attempt's number, from 1.
	Attempt int
	// MaxAttempts is the policy's attempt limit, 0 when it has none.
	MaxAttempts int
	// Err is the error the attempt returned, without a Permanent or After
	// wrapper; nil when it succeeded.
	Err error
	// Duration is the time the attempt ran, as measured by the clock
	// readings the call was given.
	Duration time.Duration
	// Stop is the error that ends the call after this attempt (an
	// [*Error]; see [ReasonOf]), or nil when it succeeded or is retried:
	// a failed attempt (Err != nil) with a nil Stop is followed by another,
	// after the wait of the RetryScheduled event that comes next.
	Stop error
}

// RetryInfo is the event of a retry decided, before its wait: what
// [WithNotify] and [Observer].RetryScheduled receive. It is passed by
// value.
type RetryInfo struct {
	// Attempt is the number of the attempt that failed, from 1.
	Attempt int
	// MaxAttempts is the policy's attempt limit, 0 when it has none.
	MaxAttempts int
	// Err is its error, without a Permanent or After wrapper.
	Err error
	// Wait is the wait before the next attempt.
	Wait time.Duration
	// Hint is the wait the server asked for ([After], or Retry-After in
	// httpx), 0 when it asked for none; Wait is then Hint plus the
	// policy's spread (see After). A hint of zero (After(0, err),
	// "Retry-After: 0") counts as none.
	Hint time.Duration
	// Elapsed is the time since the call's first attempt began.
	Elapsed time.Duration
}

// retryInfo is the event of the retry decided after pr's attempt failed
// with err at clk.
func (c *config) retryInfo(pr *Progress, err error, wait, hint time.Duration, clk *clock) RetryInfo {
	return RetryInfo{Attempt: pr.Attempts, MaxAttempts: c.maxAttempts, Err: strip(err), Wait: wait,
		Hint: hint, Elapsed: clk.now().Sub(pr.Start)}
}

// BudgetRefusedInfo is the event of a retry the budget refused.
type BudgetRefusedInfo struct {
	// Attempt is the number of the attempt that failed, from 1.
	Attempt int
	// Err is its error, without a Permanent or After wrapper.
	Err error
}

// BreakerChangeInfo is the event of a change of the breaker's state.
type BreakerChangeInfo struct {
	From, To BreakerState
}

// DoneInfo is the event of the end of a call.
type DoneInfo struct {
	// Attempts is the number of attempts that ran.
	Attempts int
	// MaxAttempts is the policy's attempt limit, 0 when it has none.
	MaxAttempts int
	// Err is nil when the call succeeded, or the [*Error] it ended with;
	// [ReasonOf] turns it into a word for a log or a metric label.
	Err error
	// Waited is the sum of the waits between the attempts: those decided,
	// except that of a wait in [Do] cut short by the end of the context
	// only the part slept counts.
	Waited time.Duration
	// Elapsed is the time since the call's first attempt began, 0 when
	// none ran.
	Elapsed time.Duration
}

// WithObserver attaches o's hooks to the call; see [Observer]. A later
// WithObserver replaces an earlier one; a nil o removes it. [WithNotify]
// is kept beside it, so a policy can have both.
func WithObserver(o *Observer) Option { return observerOption{o} }

type observerOption struct{ o *Observer }

func (observerOption) isOption() {}

// The engine calls the functions below only when the call has an
// observer. Each runs after the budget and the breaker have recorded what
// it reports.

// observeStart reports the start of the attempt pr has just counted, and
// returns the context to give it. A change of the breaker's state at its
// admission is reported first. If AttemptStart panics while the attempt
// holds a half-open probe slot, the slot is freed (the attempt counts as
// nothing), or the breaker would refuse every later attempt for good.
func (c *config) observeStart(ctx context.Context, pr *Progress, clk *clock) context.Context {
	if c.observer.AttemptEnd != nil {
		pr.began = clk.now().Sub(pr.Start) // a clock reading only for a hook that uses it
	}
	c.observeAdmitted(ctx, pr, clk)
	f := c.observer.AttemptStart
	if f == nil {
		pr.started = true
		return ctx
	}
	e := AttemptStartInfo{Attempt: pr.Attempts, MaxAttempts: c.maxAttempts}
	var actx context.Context
	if pr.held && pr.ticket.probe() {
		actx = c.startProbe(ctx, pr, e, clk)
	} else {
		actx = f(ctx, e)
	}
	pr.started = true
	if actx == nil {
		return ctx
	}
	return actx
}

// startProbe calls AttemptStart for a probe; see observeStart.
func (c *config) startProbe(ctx context.Context, pr *Progress, e AttemptStartInfo, clk *clock) context.Context {
	returned := false
	defer func() {
		if !returned {
			c.report(pr, outcomeNone, clk)
		}
	}()
	actx := c.observer.AttemptStart(ctx, e)
	returned = true
	return actx
}

// observeAdmitted reports a change of the breaker's state at the
// admission of the attempt pr holds; if BreakerChange panics while the
// attempt holds a probe slot, the slot is freed.
func (c *config) observeAdmitted(ctx context.Context, pr *Progress, clk *clock) {
	if !clk.changed {
		return
	}
	if !pr.held || !pr.ticket.probe() {
		c.observeBreaker(ctx, clk)
		return
	}
	returned := false
	defer func() {
		if !returned {
			c.report(pr, outcomeNone, clk)
		}
	}()
	c.observeBreaker(ctx, clk)
	returned = true
}

// observeSucceeded reports the end of a successful attempt and of the call.
func (c *config) observeSucceeded(ctx context.Context, pr *Progress, clk *clock) {
	o := c.observer
	started := pr.started
	pr.started = false
	if o.AttemptEnd != nil && started {
		o.AttemptEnd(ctx, AttemptEndInfo{Attempt: pr.Attempts, MaxAttempts: c.maxAttempts, Duration: clk.now().Sub(pr.Start) - pr.began})
	}
	c.observeBreaker(ctx, clk)
	if o.Done != nil {
		o.Done(ctx, DoneInfo{Attempts: pr.Attempts, MaxAttempts: c.maxAttempts, Waited: pr.waited, Elapsed: clk.now().Sub(pr.Start)})
	}
}

// observeFailed reports the end of a failed attempt and what was decided:
// a retry after wait, or the end of the call with stop. If a hook panics
// once a retry was decided, the budget gets back the retry it granted, as
// when the WithNotify hook panics.
func (c *config) observeFailed(ctx context.Context, pr *Progress, err error, wait, hint time.Duration, stop *Error, timedOut bool, clk *clock) {
	if stop == nil {
		pr.waited += wait
		if c.budget != nil {
			c.observeRetryRefunding(ctx, pr, err, wait, hint, timedOut, clk)
			return
		}
	}
	c.observeDecided(ctx, pr, err, wait, hint, stop, clk)
}

// observeRetryRefunding is observeDecided for a retry granted by a budget.
func (c *config) observeRetryRefunding(ctx context.Context, pr *Progress, err error, wait, hint time.Duration, timedOut bool, clk *clock) {
	if sig, _ := inspect(err); sig != nil && sig.timedOut {
		timedOut = true // TimedOut(err): the cost decide withdrew
	}
	returned := false
	defer func() {
		if !returned {
			c.budget.refund(timedOut)
		}
	}()
	c.observeDecided(ctx, pr, err, wait, hint, nil, clk)
	returned = true
}

func (c *config) observeDecided(ctx context.Context, pr *Progress, err error, wait, hint time.Duration, stop *Error, clk *clock) {
	o := c.observer
	err = strip(err)
	started := pr.started
	pr.started = false
	if o.AttemptEnd != nil && started {
		e := AttemptEndInfo{Attempt: pr.Attempts, MaxAttempts: c.maxAttempts, Err: err, Duration: clk.now().Sub(pr.Start) - pr.began}
		if stop != nil {
			e.Stop = stop
		}
		o.AttemptEnd(ctx, e)
	}
	c.observeBreaker(ctx, clk)
	if stop != nil {
		if o.BudgetRefused != nil && stop.Reason == ErrBudgetExhausted {
			o.BudgetRefused(ctx, BudgetRefusedInfo{Attempt: pr.Attempts, Err: err})
		}
		c.observeDone(ctx, pr, stop, clk)
		return
	}
	if o.RetryScheduled != nil {
		o.RetryScheduled(ctx, c.retryInfo(pr, err, wait, hint, clk))
	}
}

// observeBreaker reports the change of the breaker's state recorded in
// clk, if any, and clears it so that it is reported once.
func (c *config) observeBreaker(ctx context.Context, clk *clock) {
	if !clk.changed {
		return
	}
	clk.changed = false
	if f := c.observer.BreakerChange; f != nil {
		f(ctx, BreakerChangeInfo{From: clk.from, To: clk.to})
	}
}

// observeDone reports the end of a call that failed with e.
func (c *config) observeDone(ctx context.Context, pr *Progress, e *Error, clk *clock) {
	if f := c.observer.Done; f != nil {
		var elapsed time.Duration
		if !pr.Start.IsZero() {
			elapsed = clk.now().Sub(pr.Start)
		}
		f(ctx, DoneInfo{Attempts: e.Attempts, MaxAttempts: c.maxAttempts, Err: e, Waited: pr.waited, Elapsed: elapsed})
	}
}

// ended reports the end of a call that stops with e between attempts (the
// context ended, the breaker refused the next attempt), and returns e.
func (c *config) ended(ctx context.Context, pr *Progress, e *Error, clk *clock) *Error {
	if c.observer != nil {
		c.observeBreaker(ctx, clk)
		c.observeDone(ctx, pr, e, clk)
	}
	return e
}
