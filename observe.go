package retry

import (
	"context"
	"log/slog"
	"time"
)

// The delivery of the observer's events. The attempt step (step.go) says
// when each fires, and calls these only when the call has an observer;
// each runs after the budget and the breaker have recorded what it
// reports, and guards what a panicking hook would otherwise leave behind
// (a half-open probe slot, a retry the budget granted).

// observeStart reports the start of the attempt pr has just counted, and
// returns the context to give it. A change of the breaker's state at its
// admission is reported first. If AttemptStart panics while the attempt
// holds a half-open probe slot, the slot is freed (the attempt counts as
// nothing), or the breaker would refuse every later attempt for good.
func (c *config) observeStart(ctx context.Context, pr *Progress, clk *clock) context.Context {
	if c.observer.AttemptEnd != nil {
		pr.began = clk.since(pr.Start) // a clock reading only for a hook that uses it
	}
	c.observeAdmitted(ctx, pr, clk)
	f := c.observer.AttemptStart
	if f == nil {
		pr.started = true
		return ctx
	}
	e := AttemptStartInfo{Attempt: pr.Attempts, MaxAttempts: c.maxAttempts, Hedge: pr.hedge}
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
	c.observeEnd(ctx, pr, nil, nil, clk)
	c.observeBreaker(ctx, clk)
	if o.Done != nil && (c.logs == nil || pr.Attempts > 1 && c.logs.on(ctx, slog.LevelDebug)) {
		o.Done(ctx, DoneInfo{Attempts: pr.Attempts, MaxAttempts: c.maxAttempts, Waited: pr.waited, Elapsed: c.elapsed(pr, clk), Hedges: int(pr.hedges)})
	}
}

// observeFailed reports the end of a failed attempt and what was decided:
// a retry after wait, or the end of the call with stop. If a hook panics
// once a retry was decided, the budget gets back the retry it granted, as
// when the WithNotify hook panics.
func (c *config) observeFailed(ctx context.Context, pr *Progress, err error, wait, hint time.Duration, stop *Error, timedOut bool, clk *clock) {
	if stop == nil {
		pr.waited = time.Duration(satAdd(int64(pr.waited), int64(wait)))
		if c.budget != nil {
			c.observeRetryRefunding(ctx, pr, err, wait, hint, timedOut, clk)
			return
		}
	}
	c.observeDecided(ctx, pr, err, wait, hint, stop, clk)
}

// observeRetryRefunding is observeDecided for a retry granted by a budget.
func (c *config) observeRetryRefunding(ctx context.Context, pr *Progress, err error, wait, hint time.Duration, timedOut bool, clk *clock) {
	if _, _, marked := inspect(err); marked {
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
	if stop != nil {
		c.observeEnd(ctx, pr, err, stop, clk)
	} else {
		c.observeEnd(ctx, pr, err, nil, clk)
	}
	c.observeBreaker(ctx, clk)
	if stop != nil {
		if o.BudgetRefused != nil && stop.Reason == ErrBudgetExhausted {
			o.BudgetRefused(ctx, BudgetRefusedInfo{Attempt: pr.Attempts, Err: err})
		}
		c.observeDone(ctx, pr, stop, clk)
		return
	}
	if o.RetryScheduled != nil && c.logs.on(ctx, slog.LevelDebug) {
		o.RetryScheduled(ctx, c.retryInfo(pr, err, wait, hint, clk))
	}
}

// observeEnd reports the end of the attempt pr holds, if its start was
// reported: it failed with err (nil when it succeeded), and stop is the
// error that ends the call after it (nil when it succeeded or is retried).
func (c *config) observeEnd(ctx context.Context, pr *Progress, err, stop error, clk *clock) {
	started := pr.started
	pr.started = false
	if f := c.observer.AttemptEnd; f != nil && started {
		f(ctx, AttemptEndInfo{Attempt: pr.Attempts, MaxAttempts: c.maxAttempts, Err: err,
			Duration: max(clk.since(pr.Start)-pr.began, 0), Stop: stop, Hedge: pr.hedge, Lost: pr.lost})
	}
}

// retryInfo is the event of the retry decided after pr's attempt failed
// with err at clk.
func (c *config) retryInfo(pr *Progress, err error, wait, hint time.Duration, clk *clock) RetryInfo {
	return RetryInfo{Attempt: pr.Attempts, MaxAttempts: c.maxAttempts, Err: strip(err), Wait: wait,
		Hint: hint, Elapsed: c.elapsed(pr, clk)}
}

// elapsed is the time since the call's start at clk, 0 when the start was
// not recorded (a call with an observer of LogTo's alone, which needs no
// clock).
func (c *config) elapsed(pr *Progress, clk *clock) time.Duration {
	if pr.Start.IsZero() {
		return 0
	}
	return clk.since(pr.Start)
}

// observeBreaker reports the change of the breaker's state recorded in
// clk, if any, and clears it so that it is reported once.
func (c *config) observeBreaker(ctx context.Context, clk *clock) {
	if !clk.changed {
		return
	}
	clk.changed = false
	if f := c.observer.BreakerChange; f != nil && c.logs.on(ctx, slog.LevelInfo) {
		f(ctx, BreakerChangeInfo{From: clk.from, To: clk.to})
	}
}

// observeDone reports the end of a call that failed with e.
func (c *config) observeDone(ctx context.Context, pr *Progress, e *Error, clk *clock) {
	if f := c.observer.Done; f != nil && c.logs.on(ctx, slog.LevelWarn) {
		f(ctx, DoneInfo{Attempts: e.Attempts, MaxAttempts: c.maxAttempts, Err: e, Waited: pr.waited, Elapsed: c.elapsed(pr, clk), Hedges: int(pr.hedges)})
	}
}
