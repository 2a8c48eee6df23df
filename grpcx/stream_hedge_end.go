package grpcx

import (
	"context"
	"time"
)

// reportLoser reports a copy that lost (cancelled because another won,
// or the stream ended, was bound to another copy or panicked) as the
// recipe of [retry.Policy.Hedge] says: with Failed under its own
// cancelled context, so that it counts as nothing; after a copy won or
// stopped the call, the engine marks it lost (AttemptEndInfo.Lost).
func reportLoser(s *hedgedStream, c *hcopy, err error) {
	c.release(errHedgeLost)
	if err == nil || ended(err) {
		err = context.Cause(c.ctx) // a response that came too late is no success
	}
	_ = s.pol.policy.Failed(c.ctx, c.pr, err, time.Now())
}

// decide takes the engine's decision on the failure of copy c, the last
// of the call's copies to be reported: reported under the caller's
// context, the engine decides on the call's count of copies, and its
// verdict ends the call or retries it after its wait; the retry hedges
// again.
func (d *driver) decide(c *hcopy, raw, judged error) {
	s := d.s
	v := s.pol.policy.Failed(s.ctx, c.pr, judged, time.Now())
	c.release(nil)
	s.mu.Lock()
	s.last = c
	s.mu.Unlock()
	d.pr = v.Next
	switch {
	case v.Err != nil:
		d.end(v.Err)
	case d.final():
		d.end(s.unreplayableEnd(v.Next.Attempts, raw))
	default:
		// A6: a pushback on a copy delays the next copy, a retry too.
		d.stopHedge()
		d.again = time.NewTimer(max(v.Wait, time.Until(d.pushDue)))
	}
}

// end ends the call without a commit: err is what the caller receives.
// The copies running are cancelled, and reported as they end.
func (d *driver) end(err error) {
	if d.over {
		return
	}
	d.over = true
	d.stopTimers()
	s := d.s
	s.mu.Lock()
	s.end, s.final, s.live, s.sent, s.size = err, true, nil, nil, 0
	s.mu.Unlock()
	for _, r := range d.running {
		r.cancel(errHedgeLost)
	}
	s.opened()
	close(s.decided)
}

// bound handles a stream that became unreplayable (see
// hedgedStream.bind): no further hedge; and when no copy runs (a retry
// was waiting), the call ends, since a retry would replay nothing.
func (d *driver) bound() {
	if d.over {
		return
	}
	d.noHedge = true
	d.stopHedge()
	d.settle()
}

// settle ends the call when no copy runs and none is due: every copy was
// lost to the stream becoming unreplayable with none open.
func (d *driver) settle() {
	if !d.over && len(d.running) == 0 && d.again == nil {
		d.end(d.s.unreplayableEnd(d.pr.Attempts, d.lastRaw))
	}
}

// replace arms the hedge that replaces a copy that failed, in a way the
// engine lets the others go on, while others run: after wait, the
// engine's Verdict.Wait (DoHedged's rule: 0, at once, for the first such
// failure since the last retry (A6); the wait a retry would take for a
// later one, or when the hedge already due goes, if that is later); a
// pushback of the server (A6) delays it by the pushback instead.
func (d *driver) replace(pushback time.Duration, pushed bool, wait time.Duration) {
	if pushed {
		// A6: it delays the next copy, a retry too, even when no hedge
		// follows.
		if due := time.Now().Add(pushback); due.After(d.pushDue) {
			d.pushDue = due
		}
	}
	first := !d.shortcut
	d.shortcut = true // as the engine counts it (its Wait is a retry's from now on)
	switch {
	case d.noHedge:
	case pushed:
		d.arm(pushback)
	case first, d.hedge == nil, d.due.Before(time.Now().Add(wait)):
		d.arm(wait)
	}
}

// stopHedge disarms the next hedge.
func (d *driver) stopHedge() {
	if d.hedge != nil {
		d.hedge.Stop()
		d.hedge = nil
	}
}
