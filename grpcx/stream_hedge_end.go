package grpcx

import (
	"context"
	"time"

	"github.com/retrykit/retry"
)

// reportLoser reports a copy that lost (cancelled because another won or
// the stream ended, or failed while others ran) as the recipe of
// [retry.Policy.Hedge] says: with Failed under its own cancelled context,
// so that it counts as nothing. It is the one place a losing copy is
// reported, so that another way of reporting it can replace this one.
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

// replace arms the hedge that replaces a copy that failed, non-fatally,
// while others run, as DoHedged does: the first such failure since the
// last retry sends it at once (A6), a later one after the wait a retry
// would take (or when the hedge already due is later); a pushback of the
// server (A6) delays it by the pushback instead.
func (d *driver) replace(pushback time.Duration, pushed bool, judged error) {
	switch {
	case d.noHedge:
	case pushed:
		d.pushDue = time.Now().Add(pushback)
		d.arm(pushback)
	case !d.shortcut:
		d.shortcut = true
		d.arm(0)
	default:
		wait := d.retryWait(judged)
		if d.hedge == nil || d.due.Before(time.Now().Add(wait)) {
			d.arm(wait)
		}
	}
}

// retryWait returns the wait the policy would take before retrying the
// call's latest copy after judged, without a hint: the policy's backoff
// with no effects and no limits (see calls.waits).
func (d *driver) retryWait(judged error) time.Duration {
	now := time.Now()
	return d.s.pol.waits.Failed(context.Background(), retry.Progress{Attempts: d.pr.Attempts, Start: now}, judged, now).Wait
}

// stopHedge disarms the next hedge.
func (d *driver) stopHedge() {
	if d.hedge != nil {
		d.hedge.Stop()
		d.hedge = nil
	}
}
