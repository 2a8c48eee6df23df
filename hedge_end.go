package retry

import (
	"log/slog"
	"runtime"
)

// The end of a hedged call (hedge_run.go), once no copy runs: its result
// and the observer's Done; and the panics of its copies, which cancel the
// others, wait for them, and reach the caller.

// end returns the call's result once no copy runs, and reports Done. When
// a copy panicked on a goroutine of its own, end panics with its value on
// the caller's goroutine; when it called runtime.Goexit, the caller's
// goroutine exits too (as it would have, had the copy run there).
func (h *hedgeCall[T]) end() (T, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := &h.cfg
	h.stopTimer()
	var clk clock
	ctx := h.octx
	if ctx == nil {
		ctx = h.ctx
	}
	if h.panicked {
		h.refundGranted()
		if c.observer != nil {
			c.observeDone(ctx, &h.pr, &Error{Attempts: h.pr.Attempts, Reason: errPanicked}, &clk)
		}
		if h.exited {
			runtime.Goexit()
		}
		panic(h.panicVal)
	}
	if h.state == hedgeWon {
		o := c.observer
		if o != nil && o.Done != nil && (c.logs == nil || h.pr.Attempts > 1 && c.logs.on(ctx, slog.LevelDebug)) {
			o.Done(ctx, DoneInfo{Attempts: h.pr.Attempts, MaxAttempts: c.maxAttempts, Waited: h.pr.waited,
				Elapsed: c.elapsed(&h.pr, &clk), Hedges: int(h.pr.hedges)})
		}
		return h.v, nil
	}
	if c.observer != nil {
		c.observeDone(ctx, &h.pr, h.stop, &clk)
	}
	return h.last, h.stop
}

// refundGranted gives back a retry the budget granted that will not
// begin.
func (h *hedgeCall[T]) refundGranted() {
	if h.granted != 0 {
		h.cfg.budget.refund(h.granted == 2)
		h.granted = 0
	}
}

// copyPanicked runs on the goroutine of a hedge whose operation, or a
// hook it ran, panicked with r (or called runtime.Goexit: exited): it
// settles the copy as nothing, ends the call and cancels the others; the
// caller panics with r (or exits) once they end. A hook that panics again
// here is dropped: on this goroutine a panic would end the program.
func (h *hedgeCall[T]) copyPanicked(cp *hedgeCopy, r any, exited bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	defer h.signalIfIdle()
	if !h.panicked {
		h.panicked, h.panicVal, h.exited = true, r, exited
	}
	defer func() { _ = recover() }()
	h.abandon(cp)
}

// unwind runs on the caller's goroutine as a panic (of its copy's
// operation, or of a hook) or runtime.Goexit unwinds the call: it settles
// the caller's copy as nothing, cancels the others and waits for them,
// gives back a retry the budget granted, and, as Do's unwound does, reports
// the end of the call when the caller's copy was running (its start
// reported, its end not): not when a hook between attempts (Done,
// AttemptStart) panicked, so that a Done hook that panics runs once. It
// does not recover: the panic goes on to the caller.
func (h *hedgeCall[T]) unwind(cp *hedgeCopy) {
	var running bool
	func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.panicked = true
		running = cp.pr.started
		h.abandon(cp)
	}()
	h.await(func() bool { return len(h.running) == 0 })
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopTimer()
	var clk clock
	ctx := h.octx
	if ctx == nil {
		ctx = h.ctx
	}
	h.refundGranted()
	if running && h.cfg.observer != nil {
		h.cfg.observeDone(ctx, &h.pr, &Error{Attempts: h.pr.Attempts, Reason: errPanicked}, &clk)
	}
}

// abandon settles cp, if it still runs, as an attempt that counts as
// nothing (its probe slot is freed), ends the call and cancels the other
// copies.
func (h *hedgeCall[T]) abandon(cp *hedgeCopy) {
	c := &h.cfg
	if h.state == hedgeRunning {
		h.state = hedgeStopped
		h.stop = &Error{Attempts: h.pr.Attempts, Reason: errPanicked}
	}
	h.cancelOthers(errHedgeEnded)
	h.stopTimer()
	if cp == nil {
		return
	}
	var clk clock
	if !cp.settled && h.runs(cp) {
		h.release(cp)
		c.report(&cp.pr, outcomeNone, &clk)
	}
	// The end of a copy that ran, unless reported: a classifier that
	// panicked in settle leaves it unreported, as in Do.
	if c.observer != nil && cp.pr.started {
		if cp.octx == nil {
			cp.octx = h.ctx
		}
		c.observeEnd(cp.octx, &cp.pr, errPanicked, &Error{Attempts: h.pr.Attempts, Reason: errPanicked}, &clk)
	}
}

// runs reports whether cp is among the copies running.
func (h *hedgeCall[T]) runs(cp *hedgeCopy) bool {
	for _, r := range h.running {
		if r == cp {
			return true
		}
	}
	return false
}
