package retry

import (
	"context"
	"log/slog"
	"time"
)

// The end of a copy of a hedged call (hedge_run.go), under the call's
// lock: it wins, loses, or fails; the failure of the last copy running is
// decided as Do's loop decides (decide), that of a copy that others
// outlive by the rule of judge: a stop ends the call, a hint stops the
// hedging, any other failure lets the others run and schedules the next
// hedge (replace: at once the first time since the last retry, then after
// the policy's backoff).

// settle records the end of cp, which returned (v, err).
func (h *hedgeCall[T]) settle(cp *hedgeCopy, v T, err error) {
	c := &h.cfg
	timedOut := cp.tcancel != nil && cp.actx.Err() != nil && cp.cctx.Err() == nil
	beaten := context.Cause(cp.cctx) == errHedgeLost
	h.mu.Lock()
	if err == nil && h.discard != nil && h.state != hedgeRunning {
		h.mu.Unlock()
		h.discard(v) // it lost, and the state never goes back to running
		h.mu.Lock()
	}
	defer h.mu.Unlock()
	defer h.signalIfIdle()
	h.release(cp)
	var clk clock
	if d := c.hedge.adaptive; d != nil {
		// Successes, and copies beaten after running past the delay, which
		// are recorded at their lower bound: dropping the slow copies the
		// hedges cut short would bias the estimate down.
		if lat := clk.now().Sub(cp.start); err == nil || beaten && lat >= d.Delay() {
			d.Observe(lat)
		}
	}
	switch {
	case h.state != hedgeRunning:
		cp.pr.lost = true
		o := outcomeNone
		if err == nil {
			o = outcomeSuccess // the dependency answered
		}
		c.report(&cp.pr, o, &clk)
		h.observeCopyEnd(cp, err, nil, &clk)
	case err == nil:
		h.state, h.v, h.octx = hedgeWon, v, cp.octx
		h.cancelOthers(errHedgeLost)
		h.stopTimer()
		c.report(&cp.pr, outcomeSuccess, &clk)
		if c.budget != nil {
			c.budget.deposit()
		}
		h.observeCopyEnd(cp, nil, nil, &clk)
	default:
		h.last = v
		h.failed(cp, err, timedOut, &clk)
	}
}

// failed records the failure of cp with err, the call still running.
func (h *hedgeCall[T]) failed(cp *hedgeCopy, err error, timedOut bool, clk *clock) {
	c := &h.cfg
	if len(h.running) == 0 && h.pushback == nil {
		// The last copy: decided as Do's loop decides, breaker included.
		h.pr.ticket, h.pr.held = cp.pr.ticket, cp.pr.held
		cp.pr.held = false
		h.decide(cp, err, err, timedOut, clk)
		return
	}
	if h.ctx.Err() != nil {
		c.report(&cp.pr, outcomeNone, clk)
		h.halt(cp, h.pr.stop(err, causeOf(h.ctx), 0), errHedgeEnded)
		h.observeCopyEnd(cp, err, h.stop, clk)
		return
	}
	if h.pushback != nil && context.Cause(cp.cctx) == errHedgePushback {
		// Cancelled by the call for another copy's hint: its failure is the
		// cancellation's (a gRPC CANCELLED, which a policy may stop on), so
		// it is not judged; it counts as nothing, like a copy beaten by a
		// winner, and the decision is the hint's.
		cp.pr.lost = true
		c.report(&cp.pr, outcomeNone, clk)
		if len(h.running) > 0 {
			h.observeCopyEnd(cp, err, nil, clk)
			return
		}
		h.last = h.pbLast
		h.decide(cp, h.pushback, err, h.pbTimed, clk)
		return
	}
	sig, terminal, marked := c.judgeAttempt(&cp.pr, err, timedOut, clk)
	switch {
	case terminal:
		reason := ErrPermanent
		if sig != nil && sig.notIdempotent {
			reason = ErrNotIdempotent
		}
		h.halt(cp, h.pr.stop(err, reason, 0), errHedgeEnded)
		h.observeCopyEnd(cp, err, h.stop, clk)
		return
	case sig != nil && sig.hinted:
		// The server asked to wait: no more hedges; the copies running are
		// cancelled, and the retry waits for the hint.
		if h.pushback == nil {
			h.pushback, h.pbTimed, h.pbLast = err, timedOut || marked, h.last
		}
		h.noHedge = true
		h.stopTimer()
		h.cancelOthers(errHedgePushback)
	}
	if len(h.running) > 0 {
		h.observeCopyEnd(cp, err, nil, clk)
		if !h.noHedge && h.attemptsLeft() {
			h.replace(clk)
		}
		return
	}
	// The decision is the hinted copy's, and so is the call's value if it
	// stops there (a hint beyond the maximum delay, say): an HTTP response
	// with its Retry-After, not the nothing a cancelled copy returned.
	h.last = h.pbLast
	h.decide(cp, h.pushback, err, h.pbTimed, clk)
}

// replace schedules the hedge that replaces a copy that failed, in a way
// the policy would retry, while others run. The first such failure since
// the call's last retry (or its start) shortcuts the hedge delay: the next
// hedge starts at once, as in gRPC's A6. Every later one waits what a
// retry would wait (the policy's backoff for the attempts begun, without
// a hint), or for the hedge already due, if that is later: two copies that
// fail in turn cannot keep each other going without a pause, even with no
// limit on attempts. When that wait would end past the elapsed limit, no
// more hedges are sent: the copies running end, and the decision on the
// last stops the call with ErrMaxElapsed (unless one succeeds).
func (h *hedgeCall[T]) replace(clk *clock) {
	c := &h.cfg
	if !h.shortcut {
		h.shortcut = true
		h.armTimer(0)
		return
	}
	wait := c.wait(h.pr.Attempts, h.pr.Prev)
	if c.maxElapsed > 0 && satAdd(int64(clk.since(h.pr.Start)), int64(wait)) >= int64(c.maxElapsed) {
		h.noHedge = true
		h.stopTimer()
		return
	}
	if h.armed && !h.due.Before(time.Now().Add(wait)) {
		return // the hedge already due comes no sooner
	}
	h.armTimer(wait)
}

// decide takes the retry decision once no copy runs: on derr (the last
// copy's error, or a copy's hinted error), after cp failed with err.
func (h *hedgeCall[T]) decide(cp *hedgeCopy, derr, err error, timedOut bool, clk *clock) {
	c := &h.cfg
	var zero T
	h.pushback, h.pbLast = nil, zero
	wait, hint, stop := c.decide(h.ctx, &h.pr, derr, timedOut, clk)
	h.lastErr, h.hint = derr, hint
	if stop != nil {
		h.halt(cp, stop, errHedgeEnded)
	} else {
		h.wait = wait
		if c.observer != nil && c.budget != nil {
			h.granted = 1
			if _, _, marked := inspect(derr); timedOut || marked {
				h.granted = 2
			}
		}
	}
	o := c.observer
	if o == nil {
		return
	}
	if stop != nil {
		h.observeCopyEnd(cp, err, stop, clk)
	} else {
		h.pr.waited = time.Duration(satAdd(int64(h.pr.waited), int64(wait)))
		h.observeCopyEnd(cp, err, nil, clk)
	}
	switch {
	case stop != nil && stop.Reason == ErrBudgetExhausted && o.BudgetRefused != nil:
		o.BudgetRefused(cp.octx, BudgetRefusedInfo{Attempt: cp.pr.Attempts, Err: strip(derr)})
	case stop == nil && o.RetryScheduled != nil && c.logs.on(cp.octx, slog.LevelDebug):
		o.RetryScheduled(cp.octx, c.retryInfo(&h.pr, derr, wait, hint, clk))
	}
}

// halt ends the call with stop, decided at cp's end, and cancels the
// copies still running with cause.
func (h *hedgeCall[T]) halt(cp *hedgeCopy, stop *Error, cause error) {
	h.state, h.stop, h.octx = hedgeStopped, stop, cp.octx
	h.cancelOthers(cause)
	h.stopTimer()
}

// observeCopyEnd reports the end of cp (AttemptEnd), and a change of the
// breaker's state its outcome caused.
func (h *hedgeCall[T]) observeCopyEnd(cp *hedgeCopy, err error, stop *Error, clk *clock) {
	c := &h.cfg
	if c.observer == nil {
		return
	}
	if stop != nil {
		c.observeEnd(cp.octx, &cp.pr, strip(err), stop, clk)
	} else {
		c.observeEnd(cp.octx, &cp.pr, strip(err), nil, clk)
	}
	c.observeBreaker(cp.octx, clk)
}

// release ends cp's contexts and counts it no longer running.
func (h *hedgeCall[T]) release(cp *hedgeCopy) {
	cp.settled = true
	if cp.tcancel != nil {
		cp.tcancel()
	}
	if cp.cancel != nil {
		cp.cancel(errHedgeReturned)
	}
	for i, r := range h.running {
		if r == cp {
			last := len(h.running) - 1
			h.running[i], h.running[last] = h.running[last], nil
			h.running = h.running[:last]
			break
		}
	}
}

// cancelOthers cancels every copy running with cause.
func (h *hedgeCall[T]) cancelOthers(cause error) {
	for _, r := range h.running {
		if r.cancel != nil {
			r.cancel(cause)
		}
	}
}

// signalIfIdle wakes the caller once no copy runs.
func (h *hedgeCall[T]) signalIfIdle() {
	if len(h.running) == 0 {
		h.signal()
	}
}
