package retry

import (
	"context"
	"fmt"
	"time"
)

// Do's blocking driver: one call's loop over the attempt step (step.go),
// with what only a driver that blocks needs: the waits, the attempt
// timeout, the probe slot of an attempt that panics, and the events of a
// call that a panic unwinds.

// loop is the state of one call of Do: the engine's progress and what
// only a blocking driver needs, the timer and the attempt's context. It
// lives on Do's stack.
type loop struct {
	ctx    context.Context
	pr     Progress
	hint   time.Duration      // the latest attempt's hint, for the error of a cut-short wait
	timer  *time.Timer        // created on the first non-zero wait, then reused
	cancel context.CancelFunc // of the running attempt's context, if any
	actx   context.Context    // the running attempt's context, if any
	octx   context.Context    // the context the attempt step returned (the observer's AttemptStart's)
	// With an observer and a budget: the retry the budget granted has not
	// begun yet (1, or 2 at the timeout cost). If an admission
	// BreakerChange or AttemptStart hook panics before it begins, the
	// budget gets it back (see unwound), as when the notify hook panics.
	granted int8
}

// do runs the whole loop, the first attempt included.
//
// The configuration is passed beside the loop, not stored in it: escape
// analysis does not tell fields apart, and the context leaks, so a config
// pointer kept in the loop would move an options-built config to the heap.
func do[T any](ctx context.Context, op func(context.Context) (T, error), cfg *config) (T, error) {
	var last T
	l := loop{ctx: ctx}
	if e := l.valid(cfg, op == nil); e != nil {
		return last, e
	}
	if cfg.hedge.max > 1 {
		return last, &Error{Reason: errNeedsDoHedged}
	}
	if cfg.attemptTimeout > 0 {
		defer l.endAttempt() // an op that panics still has its context released
	}
	if cfg.observer != nil {
		defer l.unwound(cfg) // an op that panics still has its end observed
	}
	var clk clock
	actx, e := l.begin(cfg, nil, &clk)
	if e != nil {
		return last, e
	}
	var v T
	var err error
	if l.pr.held && l.pr.ticket.probe() {
		v, err = callProbe(cfg.breaker, cfg.rand, &l.pr, op, actx)
	} else {
		v, err = op(actx)
	}
	if err == nil {
		l.succeeded(cfg)
		return v, nil
	}
	return retryAfter(&l, cfg, op, v, err)
}

// retryAfter continues a call whose latest attempt returned (last, err),
// err != nil: it decides, waits and tries again until the loop ends.
func retryAfter[T any](l *loop, cfg *config, op func(context.Context) (T, error), last T, err error) (T, error) {
	for {
		actx, e := l.failed(cfg, err)
		if e != nil {
			return last, e
		}
		var v T
		var opErr error
		if l.pr.held && l.pr.ticket.probe() {
			v, opErr = callProbe(cfg.breaker, cfg.rand, &l.pr, op, actx)
		} else {
			v, opErr = op(actx)
		}
		if opErr == nil {
			l.succeeded(cfg)
			return v, nil
		}
		last, err = v, opErr
	}
}

// valid checks the call's configuration and arguments.
func (l *loop) valid(cfg *config, nilOp bool) *Error {
	switch {
	case cfg.err != nil:
		return &Error{Reason: cfg.err}
	case l.ctx == nil:
		return &Error{Reason: fmt.Errorf("%w: nil context", ErrInvalidConfig)}
	case nilOp:
		return &Error{Reason: fmt.Errorf("%w: nil operation", ErrInvalidConfig)}
	}
	return nil
}

// begin takes the attempt step's begin for the next attempt, whose
// predecessor, if any, failed with last, and returns the context to give
// op: the step's, with the attempt timeout, if any.
func (l *loop) begin(c *config, last error, clk *clock) (context.Context, *Error) {
	if c.count(l.ctx, &l.pr, clk) {
		return l.timeout(c, l.ctx)
	}
	ctx, e := c.begin(l.ctx, &l.pr, last, l.hint, clk)
	if e != nil {
		l.release()
		l.granted = 0 // a retry that does not begin is not refunded
		return nil, e
	}
	if c.observer != nil {
		l.octx, l.granted = ctx, 0 // the hooks after the attempt get its context
	}
	return l.timeout(c, ctx)
}

// timeout returns the context of an attempt that runs with ctx: ctx, or a
// child of it with the attempt timeout.
func (l *loop) timeout(c *config, ctx context.Context) (context.Context, *Error) {
	if c.attemptTimeout <= 0 {
		return ctx, nil
	}
	l.actx, l.cancel = context.WithTimeout(ctx, c.attemptTimeout)
	return l.actx, nil
}

func (l *loop) succeeded(c *config) {
	l.endAttempt()
	l.release()
	var clk clock
	c.succeeded(l.octx, &l.pr, &clk)
}

// failed takes the attempt step's failed for the attempt that failed with
// err: it returns the *Error that ends the call, or waits as decided and
// begins the next attempt.
func (l *loop) failed(c *config, err error) (context.Context, *Error) {
	timedOut := l.cancel != nil && l.endAttempt()
	var clk clock
	wait, hint, e := c.failed(l.ctx, l.octx, &l.pr, err, timedOut, &clk)
	if e != nil {
		l.release()
		return nil, e
	}
	if c.observer != nil && c.budget != nil {
		l.granted = 1
		if _, _, marked := inspect(err); timedOut || marked {
			l.granted = 2
		}
	}
	l.hint = hint
	if wait > 0 {
		if e := l.wait(c, err, wait, &clk); e != nil {
			return nil, e
		}
		clk = clock{} // time has moved on
	}
	if c.count(l.ctx, &l.pr, &clk) {
		return l.timeout(c, l.ctx)
	}
	return l.begin(c, err, &clk)
}

// wait waits d before the attempt that follows the one that failed with
// err. When the caller's context ends first, it reports the end of the
// call and returns its *Error.
func (l *loop) wait(c *config, err error, d time.Duration, clk *clock) *Error {
	// With an observer that measures time: when the wait began, since the
	// start.
	measure := c.observer != nil && !l.pr.Start.IsZero()
	var from time.Duration
	if measure {
		from = clk.since(l.pr.Start)
	}
	if l.sleep(d) {
		return nil
	}
	l.release()
	l.granted = 0 // a retry cut short is not refunded
	var end clock
	if measure {
		// Done reports the part of the wait that was slept.
		slept := end.since(l.pr.Start) - from
		l.pr.waited -= max(d-max(slept, 0), 0)
	}
	return c.ended(l.ctx, &l.pr, l.pr.stop(err, causeOf(l.ctx), l.hint), &end)
}

// sleep waits d, cut short by the end of the caller's context, and reports
// whether it waited d. When both are ready, the next attempt's step finds
// the context's end. It uses at most one timer per call.
func (l *loop) sleep(d time.Duration) bool {
	if l.timer == nil {
		l.timer = time.NewTimer(d)
	} else {
		l.timer.Reset(d)
	}
	select {
	case <-l.timer.C:
		return true
	case <-l.ctx.Done():
		return false
	}
}

func (l *loop) release() {
	if l.timer != nil {
		l.timer.Stop()
	}
}

// endAttempt releases the attempt's context and reports whether the
// attempt hit its own timeout (and not the caller's deadline).
func (l *loop) endAttempt() (timedOut bool) {
	if l.cancel == nil {
		return false
	}
	timedOut = l.actx.Err() != nil && l.ctx.Err() == nil
	l.cancel()
	l.cancel, l.actx = nil, nil
	return timedOut
}

// unwound runs as a call with an observer unwinds. After a panic of an
// admission BreakerChange or AttemptStart hook on a retry, the budget gets
// back the retry it granted. When the operation (or a classifier) panicked
// while the attempt ran, its start was reported and its end was not,
// which no return leaves behind: unwound reports the end of the attempt
// and of the call. It does not recover: the panic goes on to the caller. A
// tracer's span is thus ended, with an error and the reason "panic" (see
// [ReasonOf]).
func (l *loop) unwound(c *config) {
	if l.granted != 0 {
		c.budget.refund(l.granted == 2)
		l.granted = 0
	}
	if !l.pr.started {
		return
	}
	e := &Error{Attempts: l.pr.Attempts, Reason: errPanicked}
	var clk clock
	c.observeEnd(l.octx, &l.pr, errPanicked, e, &clk)
	c.observeDone(l.octx, &l.pr, e, &clk)
}

// callProbe calls op for an attempt that holds a half-open probe slot, and
// frees the slot if op panics: such an attempt counts as nothing. Without
// it, a panic would keep the slot taken, and a breaker with one probe would
// refuse every later attempt for good. Only probes pay for the deferred
// call. Do and [Breaker.Run] both call their probes through it.
func callProbe[T any](b *Breaker, rnd *lockedRand, pr *Progress, op func(context.Context) (T, error), ctx context.Context) (v T, err error) {
	returned := false
	defer func() {
		if !returned {
			var clk clock
			b.report(pr, outcomeNone, &clk, rnd)
		}
	}()
	v, err = op(ctx)
	returned = true
	return v, err
}
