package retry

import "time"

// The hedged call's one timer (it starts the hedges, and ends the waits
// between retries) and the caller's waits on it (hedge_run.go).

// armTimer sets the call's one timer to fire after d. Every run it
// schedules is counted in fires, so that the call waits for a run that
// its Stop came too late for: a Reset of a pending timer moves the run
// already counted. The arming's due time is kept: a run of an older
// arming (one that fired as the call re-armed) may still come, and only a
// run at or after the due time of the arming in force acts, once
// (takeFire).
func (h *hedgeCall[T]) armTimer(d time.Duration) {
	h.armed, h.due = true, time.Now().Add(d)
	if h.timer == nil {
		h.fires.Add(1)
		h.timer = time.AfterFunc(d, h.fire)
		return
	}
	if !h.timer.Reset(d) {
		h.fires.Add(1)
	}
}

// stopTimer cancels the timer's pending run, if any.
func (h *hedgeCall[T]) stopTimer() {
	if h.timer != nil && h.timer.Stop() {
		h.fires.Done()
	}
	h.sleeping, h.armed = false, false
}

// takeFire reports whether a run of the timer is the one of the arming in
// force (none acted for it yet, and its due time has come), and takes it.
// A run that fired for an older arming, and took the lock only after the
// call re-armed (the last copy failed as a hedge's delay ended, and the
// retry's wait began), returns false: it must neither end the new wait
// nor start a hedge early.
func (h *hedgeCall[T]) takeFire() bool {
	if !h.armed || time.Now().Before(h.due) {
		return false
	}
	h.armed = false
	return true
}

// signal leaves a token for the caller, if none is waiting. Before the
// first hedge or wait there is no channel, and nobody to wake.
func (h *hedgeCall[T]) signal() {
	if h.wake == nil {
		return
	}
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// await blocks the caller until cond holds under the lock.
func (h *hedgeCall[T]) await(cond func() bool) {
	for {
		h.mu.Lock()
		ok, wake := cond(), h.wake
		h.mu.Unlock()
		if ok {
			return
		}
		<-wake // some copy still runs, so a hedge made the channel
	}
}

// sleep waits before the retry decided, cut short by the end of the
// caller's context; then it returns nil, or the *Error that ends the call.
func (h *hedgeCall[T]) sleep() *Error {
	h.mu.Lock()
	if h.wait <= 0 {
		h.mu.Unlock()
		return nil
	}
	var from time.Time
	if h.cfg.observer != nil {
		from = time.Now()
	}
	h.sleeping = true
	if h.wake == nil {
		h.wake = make(chan struct{}, 1)
	}
	h.armTimer(h.wait)
	h.mu.Unlock()
	for {
		select {
		case <-h.wake: // made above, under the lock
			h.mu.Lock()
			done := !h.sleeping
			h.mu.Unlock()
			if !done {
				continue
			}
			return nil
		case <-h.ctx.Done():
		}
		break
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopTimer()
	h.granted = 0 // a retry cut short is not refunded
	var end clock
	if h.cfg.observer != nil {
		h.pr.waited -= max(h.wait-max(end.now().Sub(from), 0), 0)
	}
	return h.cfg.ended(h.ctx, &h.pr, h.pr.stop(h.lastErr, causeOf(h.ctx), h.hint), &end)
}
