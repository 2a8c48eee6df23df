package sim

import (
	"errors"
	"math"
	"time"

	"github.com/retrykit/retry"
)

// arrive starts a user request and its fan-out, and schedules the next.
func (t *tailRun) arrive(now int64) {
	t.arrived++
	if t.arrived < t.s.Requests {
		gap := t.r.ExpFloat64() / t.s.Rate * 1e9
		t.q.push(now+int64(min(gap, float64(MaxSpan))), tailArrive, -1, 0)
	}
	var ri int32
	if n := len(t.freeReq); n > 0 {
		ri, t.freeReq = t.freeReq[n-1], t.freeReq[:n-1]
	} else {
		t.reqs = append(t.reqs, tailReq{})
		ri = int32(len(t.reqs) - 1)
	}
	t.reqs[ri] = tailReq{start: now, left: int32(t.s.FanOut), brown: t.brownout(now)}
	t.res.Requests++
	for range t.s.FanOut {
		t.call(ri, now)
	}
}

// call starts one call of user request ri.
func (t *tailRun) call(ri int32, now int64) {
	var ref int32
	if n := len(t.free); n > 0 {
		ref, t.free = t.free[n-1], t.free[:n-1]
	} else {
		t.calls = append(t.calls, tailCall{})
		ref = int32(len(t.calls) - 1)
	}
	c := &t.calls[ref]
	*c = tailCall{start: now, req: ri, gen: c.gen + 1, brown: t.brownout(now)}
	t.res.Calls++
	t.cur.Calls++
	if c.brown {
		t.brownCalls++
	}
	_, pr, err := t.c.p.Begin(bg, retry.Progress{}, vt(now))
	if err != nil {
		t.res.Failed++
		t.end(ref, now)
		return
	}
	t.send(ref, pr, now)
	if t.h.enabled() {
		c.delay = int64(t.h.Delay)
		if t.est != nil {
			c.delay = t.est.delayNs()
		}
		t.q.push(later(now, time.Duration(c.delay)), tailHedge, ref, c.gen<<3)
	}
}

// send sends the call's next copy, admitted as pr.
func (t *tailRun) send(ref int32, pr retry.Progress, now int64) {
	c := &t.calls[ref]
	k := c.copies
	c.pr[k] = pr
	c.sent[k] = now
	c.copies++
	c.out++
	t.res.Attempts++
	t.cur.Attempts++
	if c.brown {
		t.brownAttempts++
	}
	t.q.pushLane(laneHop, now+int64(t.s.Hop), tailAtServer, ref, c.gen<<3|uint32(k))
}

// hedge asks the policy to admit one more copy of the call, and sends it.
// Policy.Hedge admits it as DoHedged admits a hedge: the attempt limit,
// a retry's cost from the budget, the breaker.
func (t *tailRun) hedge(ref int32, now int64) {
	c := &t.calls[ref]
	if int(c.copies) >= t.max {
		return // every copy allowed is in flight: none ends before the call
	}
	_, pr, err := t.c.p.Hedge(bg, c.pr[c.copies-1], vt(now))
	if err != nil {
		t.res.Refused++
		if errors.Is(err, retry.ErrBudgetExhausted) {
			t.res.RefusedBudget++
		}
		return
	}
	t.res.Hedges++
	t.send(ref, pr, now)
	if int(c.copies) < t.max {
		t.q.push(later(now, time.Duration(c.delay)), tailHedge, ref, c.gen<<3)
	}
}

// serve puts a worker on copy j.gen&7 of call j.ref.
func (t *tailRun) serve(j job, now int64) {
	t.busy++
	c := &t.calls[j.ref]
	c.svc[j.gen&7] = now
	d := t.service(now)
	t.busyNs += float64(d)
	t.q.pushLane(laneWork, now+d, tailDone, j.ref, j.gen)
}

// service draws the service time of an attempt starting at now.
func (t *tailRun) service(now int64) int64 {
	// The normal draw is clamped to ±8σ, so that a service time is bounded
	// (check makes the bound fit MaxSpan); beyond that lies 1e-15 of it.
	z := max(min(t.r.NormFloat64(), 8), -8)
	d := float64(t.s.Median) * math.Exp(t.s.Sigma*z)
	if t.s.Stragglers > 0 && t.r.Float64() < t.s.Stragglers {
		d *= t.s.SlowMin + t.r.Float64()*(t.s.SlowMax-t.s.SlowMin)
	}
	if t.brownout(now) {
		d *= t.s.Slowdown
	}
	return max(int64(d), 1)
}

// finished is the server finishing copy k of the call at now: its answer
// goes back, unless the call has ended, when its work was wasted.
func (t *tailRun) finished(ref int32, k int, now int64) {
	c := &t.calls[ref]
	c.out--
	if !c.done {
		t.q.pushLane(laneHop, now+int64(t.s.Hop), tailReply, ref, c.gen<<3|uint32(k))
		return
	}
	t.wastedNs += float64(now - c.svc[k])
	if c.out == 0 {
		t.free = append(t.free, ref)
	}
}

// won ends the call with copy k's answer at now: the policy hears of the
// winner's success, and the other copies in flight are cancelled, which
// the engine counts as nothing.
func (t *tailRun) won(ref int32, k int, now int64) {
	c := &t.calls[ref]
	t.c.p.Succeeded(bg, c.pr[k], vt(now))
	for i := range int(c.copies) {
		if i != k {
			t.c.p.Failed(cancelled, c.pr[i], cancelled.Err(), vt(now))
		}
	}
	if k > 0 {
		t.res.Wins++
	}
	lat := now - c.start
	t.callHist.add(lat)
	if t.est != nil {
		t.est.won(c, k, now)
	}
	t.end(ref, now)
}

// end closes the call at now and, with its last call, its user request.
func (t *tailRun) end(ref int32, now int64) {
	c := &t.calls[ref]
	c.done = true
	ri := c.req
	if c.out == 0 {
		t.free = append(t.free, ref)
	}
	r := &t.reqs[ri]
	if r.left--; r.left > 0 {
		return
	}
	t.ended++
	lat := now - r.start
	t.reqHist.add(lat)
	if r.brown {
		t.brownHist.add(lat)
	}
	t.reqSum += float64(lat)
	t.reqN++
	t.freeReq = append(t.freeReq, ri)
}

// tick closes the bucket that ends at now.
func (t *tailRun) tick(now int64) {
	if len(t.res.Series) >= MaxBuckets {
		return
	}
	w := seconds(t.bucket)
	s := TailSample{T: seconds(now - t.bucket), Calls: t.cur.Calls / w, Attempts: t.cur.Attempts / w,
		Queue: t.queued.n, Brownout: t.brownout(now - t.bucket)}
	if t.cur.Calls > 0 {
		s.Load = math.Round(t.cur.Attempts/t.cur.Calls*1e4) / 1e4
	}
	if t.reqN > 0 {
		s.MeanMs = ms3(t.reqSum / float64(t.reqN))
	}
	t.res.Series = append(t.res.Series, s)
	t.cur = TailSample{}
	t.reqSum, t.reqN = 0, 0
}

// finish fills in the result's summary.
func (t *tailRun) finish() {
	r := &t.res
	if r.Calls > 0 {
		r.ExtraPercent = math.Round(1e4*float64(r.Hedges)/float64(r.Calls)) / 1e2
		r.Load = math.Round(1e4*float64(r.Attempts)/float64(r.Calls)) / 1e4
	}
	if t.brownCalls > 0 {
		r.BrownoutLoad = math.Round(1e4*float64(t.brownAttempts)/float64(t.brownCalls)) / 1e4
	}
	if t.last > 0 {
		r.Utilisation = math.Round(1e4*t.busyNs/(float64(t.last)*float64(t.s.Workers))) / 1e4
	}
	if t.busyNs > 0 {
		r.Wasted = math.Round(1e4*t.wastedNs/t.busyNs) / 1e2
	}
	r.RequestP50, r.RequestP99, r.RequestP999 = ms3(t.reqHist.quantile(0.5, nil)), ms3(t.reqHist.quantile(0.99, nil)), ms3(t.reqHist.quantile(0.999, nil))
	r.CallP50, r.CallP99, r.CallP999 = ms3(t.callHist.quantile(0.5, nil)), ms3(t.callHist.quantile(0.99, nil)), ms3(t.callHist.quantile(0.999, nil))
	r.BrownoutP99 = ms3(t.brownHist.quantile(0.99, nil))
}
