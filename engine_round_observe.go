package retry

import (
	"context"
	"log/slog"
	"time"
)

// What the observer hears of the reports of a hedged call's copies
// (engine_round.go), as DoHedged tells it (hedge_copy.go, hedge_end.go).

// observeCopy reports the end of a copy of a hedged call that does not
// decide it (AttemptEnd, marked Lost for a loser), a change of the
// breaker's state, and the call's Done if this report makes it.
func (c *config) observeCopy(octx context.Context, pr *Progress, err error, l leaving, clk *clock) {
	o := c.observer
	if o == nil {
		return
	}
	c.observeEnd(octx, pr, err, nil, clk)
	c.observeBreaker(octx, clk)
	ctx := octx
	if l.wctx != nil {
		ctx = l.wctx // DoHedged's Done gets the winner's context
	}
	if l.done && l.stop != nil {
		pr.hedges = l.hedges // the call's, as DoHedged's Done of a stop has them
		c.observeDone(ctx, pr, l.stop, clk)
		return
	}
	if l.done && o.Done != nil && (c.logs == nil || l.attempts > 1 && c.logs.on(ctx, slog.LevelDebug)) {
		o.Done(ctx, DoneInfo{Attempts: l.attempts, MaxAttempts: c.maxAttempts, Waited: pr.waited,
			Elapsed: c.elapsed(pr, clk), Hedges: int(l.hedges)})
	}
}

// observeLast is observeFailed for the last copy of a hedged call, number
// copyNo, whose failure with err decided on the call's counts (pr's): as
// DoHedged reports it, AttemptEnd and BudgetRefused name the copy,
// RetryScheduled and Done the call's count. If a hook panics once a retry
// was decided, the budget gets back the retry it granted.
func (c *config) observeLast(ctx context.Context, pr *Progress, copyNo int, err error, wait, hint time.Duration, stop *Error, clk *clock) {
	if stop != nil || c.budget == nil {
		c.observeLastDecided(ctx, pr, copyNo, err, wait, hint, stop, clk)
		return
	}
	returned := false
	defer func() {
		if !returned {
			_, _, marked := inspect(err) // TimedOut(err): the cost decide withdrew
			c.budget.refund(marked)
		}
	}()
	c.observeLastDecided(ctx, pr, copyNo, err, wait, hint, nil, clk)
	returned = true
}

func (c *config) observeLastDecided(ctx context.Context, pr *Progress, copyNo int, err error, wait, hint time.Duration, stop *Error, clk *clock) {
	o := c.observer
	if stop == nil {
		pr.waited = time.Duration(satAdd(int64(pr.waited), int64(wait)))
	}
	err = strip(err)
	n := pr.Attempts
	pr.Attempts = copyNo
	if stop != nil {
		c.observeEnd(ctx, pr, err, stop, clk)
	} else {
		c.observeEnd(ctx, pr, err, nil, clk)
	}
	pr.Attempts = n
	c.observeBreaker(ctx, clk)
	if stop != nil {
		if o.BudgetRefused != nil && stop.Reason == ErrBudgetExhausted {
			o.BudgetRefused(ctx, BudgetRefusedInfo{Attempt: copyNo, Err: err})
		}
		c.observeDone(ctx, pr, stop, clk)
		return
	}
	if o.RetryScheduled != nil && c.logs.on(ctx, slog.LevelDebug) {
		o.RetryScheduled(ctx, c.retryInfo(pr, err, wait, hint, clk))
	}
}
