package grpcx

import (
	"context"
	"errors"
	"time"

	"github.com/retrykit/retry"
)

// driver is the state of a hedged stream's driver goroutine, which alone
// asks the engine for copies and reports them, following the recipe of
// [retry.Policy.Hedge].
type driver struct {
	s         *hedgedStream
	pr        retry.Progress // the latest copy's: the call's count of copies
	running   []*hcopy       // copies begun whose outcome has not arrived
	over      bool           // the stream committed or ended
	noHedge   bool           // no further hedge: Hedge refused, or the server said not to retry
	shortcut  bool           // a copy failed while others ran since the last retry: the engine's next Wait is a retry's
	lastRaw   error          // the latest failure, for an error that has none
	pushStop  bool           // a copy's server said not to retry: no hedge, and no retry after the last copy
	pushDue   time.Time      // a copy's server asked to wait until then before the next copy
	cancelled bool           // the caller's context ended
	begun     bool           // the first copy was asked for
	handling  *hcopy         // the copy whose outcome the driver handled last (see panicked)

	hedge *time.Timer // the next hedge, when armed
	due   time.Time   // when it is due
	again *time.Timer // the next retry, while waiting for it
}

// drive runs the hedged stream's copies until it commits or ends and
// every copy has been reported.
func (s *hedgedStream) drive() {
	s.driveOn(&driver{s: s})
}

// driveOn runs the driver's loop until every copy was reported, going on
// after a panic it recovered (see guard).
func (s *hedgedStream) driveOn(d *driver) {
	for d.loop() != loopDone {
	}
	d.stopTimers()
	close(s.driven)
}

// loop is the driver's loop; guard recovers a panic in it.
func (d *driver) loop() (out loopOutcome) {
	returned := false
	defer d.guard(&returned, &out)
	s := d.s
	if !d.begun {
		d.begun = true
		d.begin()
	}
	done := s.ctx.Done()
	if d.cancelled {
		done = nil
	}
	for !d.over || len(d.running) > 0 {
		select {
		case ev := <-s.events:
			d.outcome(ev)
		case <-timerC(d.hedge):
			d.hedge = nil
			d.sendHedge()
		case <-timerC(d.again):
			d.again = nil
			d.begin()
		case <-s.wake:
			if s.isPanicked() {
				d.panicked()
			} else {
				d.bound()
			}
		case <-done:
			done, d.cancelled = nil, true // the copies end with the context and report it
			if !d.over && len(d.running) == 0 {
				d.end(&retry.Error{Attempts: d.pr.Attempts, Last: d.lastRaw, Reason: context.Cause(s.ctx)})
			}
		}
	}
	s.onFinishEnd()
	returned = true
	return loopDone
}

// timerC returns t's channel, nil (never ready) for no timer.
func timerC(t *time.Timer) <-chan time.Time {
	if t == nil {
		return nil
	}
	return t.C
}

func (d *driver) stopTimers() {
	if d.hedge != nil {
		d.hedge.Stop()
		d.hedge = nil
	}
	if d.again != nil {
		d.again.Stop()
		d.again = nil
	}
}

// begin starts the first copy of the call or of a retry, as
// [retry.Policy.Begin] admits it.
func (d *driver) begin() {
	if d.final() {
		d.end(d.s.unreplayableEnd(d.pr.Attempts, d.lastRaw))
		return
	}
	_, pr, err := d.s.pol.policy.Begin(d.s.ctx, d.pr, time.Now())
	if err != nil {
		var e *retry.Error
		if errors.As(err, &e) && e.Last == nil {
			e.Last = d.lastRaw // the engine keeps no errors
		}
		d.end(err)
		return
	}
	d.shortcut, d.pushDue = false, time.Time{}
	d.send(pr)
}

// sendHedge sends a hedge, if one may go: while a copy runs, fewer than
// MaxInFlight do, and the engine admits it. A refusal ends the hedging.
func (d *driver) sendHedge() {
	if d.over || d.noHedge || len(d.running) == 0 || len(d.running) >= d.s.pol.policy.MaxInFlight() || d.final() {
		return
	}
	_, pr, err := d.s.pol.policy.Hedge(d.s.ctx, d.pr, time.Now())
	if err != nil {
		d.noHedge = true
		return
	}
	d.send(pr)
}

// send starts copy pr and arms the next hedge, due HedgeAfter after it.
func (d *driver) send(pr retry.Progress) {
	d.pr = pr
	d.running = append(d.running, d.s.start(pr))
	if !d.noHedge {
		d.arm(d.s.pol.policy.HedgeAfter())
	}
}

// arm makes the next hedge due after wait.
func (d *driver) arm(wait time.Duration) {
	if d.hedge != nil {
		d.hedge.Stop()
	}
	d.due = time.Now().Add(wait)
	d.hedge = time.NewTimer(wait)
}

// final reports whether the stream can start no new copy.
func (d *driver) final() bool {
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	return d.s.final
}

// outcome handles the first outcome of copy ev.c.
func (d *driver) outcome(ev copyEvent) {
	c := ev.c
	d.drop(c)
	d.handling = c
	s := d.s
	if s.isPanicked() {
		reportLoser(s, c, ev.err)
		d.panicked()
		return
	}
	s.mu.Lock()
	lost := d.over || (s.target != nil && s.target != c) || (s.final && s.target == nil)
	expired := c.expired
	s.mu.Unlock()
	if lost {
		reportLoser(s, c, ev.err)
		d.settle()
		return
	}
	err := ev.err
	if (ev.headers || ended(err)) && !expired {
		d.commit(c, err)
		return
	}
	if ev.headers || ended(err) {
		err = errExpired // the attempt timeout came first: the response is dropped
	}
	d.failed(c, err, ev.unsent)
}

// drop removes c from the copies running.
func (d *driver) drop(c *hcopy) {
	for i, r := range d.running {
		if r == c {
			d.running = append(d.running[:i], d.running[i+1:]...)
			return
		}
	}
}

// commit commits the stream to c, whose headers arrived or which ended
// with OK (err io.EOF): it is reported a success, every other copy is
// cancelled, and no further copy starts.
func (d *driver) commit(c *hcopy, err error) {
	s := d.s
	s.mu.Lock()
	c.live = true
	c.stopTimer()
	if ended(err) {
		c.end = err
	}
	s.won, s.final, s.live = c, true, nil
	s.mu.Unlock()
	_ = s.pol.policy.Succeeded(s.ctx, c.pr, time.Now())
	d.over = true
	d.stopTimers()
	for _, r := range d.running {
		r.cancel(errHedgeLost)
	}
	c.kick() // its sender finishes the log, then the caller sends on it
	s.opened()
	close(s.decided)
	s.onFinishWon()
}
