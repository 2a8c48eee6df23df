package retry

import (
	"context"
	"log/slog"
)

// The end of a hedged call (hedge_run.go), once no copy runs: its result
// and the observer's Done; and the panics of its copies, which cancel the
// others, wait for them, and reach the caller.

// end returns the call's result once no copy runs, and reports Done. When
// a copy panicked on a goroutine of its own, end panics with its value on
// the caller's goroutine.
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
		h.observePanic(ctx, &clk)
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

// observePanic gives back a retry the budget granted that will not begin,
// and reports the end of a call a panic ends.
func (h *hedgeCall[T]) observePanic(ctx context.Context, clk *clock) {
	c := &h.cfg
	if h.granted != 0 {
		c.budget.refund(h.granted == 2)
		h.granted = 0
	}
	if c.observer != nil {
		c.observeDone(ctx, &h.pr, &Error{Attempts: h.pr.Attempts, Reason: errPanicked}, clk)
	}
}

// copyPanicked runs on the goroutine of a hedge whose operation, or a
// hook it ran, panicked with r: it settles the copy as nothing, ends the
// call and cancels the others; the caller panics with r once they end.
// A hook that panics again here is dropped: on this goroutine a panic
// would end the program.
func (h *hedgeCall[T]) copyPanicked(cp *hedgeCopy, r any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	defer h.signalIfIdle()
	if !h.panicked {
		h.panicked, h.panicVal = true, r
	}
	defer func() { _ = recover() }()
	h.abandon(cp)
}

// unwind runs on the caller's goroutine as a panic (of its copy's
// operation, or of a hook) unwinds the call: it settles the caller's copy
// as nothing, cancels the others and waits for them, and reports the end
// of the call. It does not recover: the panic goes on to the caller.
func (h *hedgeCall[T]) unwind(cp *hedgeCopy) {
	func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.panicked = true
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
	h.observePanic(ctx, &clk)
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
	if cp == nil || cp.settled || !h.runs(cp) {
		return
	}
	h.release(cp)
	var clk clock
	c.report(&cp.pr, outcomeNone, &clk)
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
