package sim

import (
	"time"

	"github.com/retrykit/retry"
)

// arrive starts a new caller request.
func (o *openRun) arrive(now int64) {
	o.m.logical(now)
	var ref int32
	if n := len(o.free); n > 0 {
		ref = o.free[n-1]
		o.free = o.free[:n-1]
	} else {
		o.calls = append(o.calls, call{})
		ref = int32(len(o.calls) - 1)
	}
	c := &o.calls[ref]
	*c = call{start: now, client: int32(o.r.IntN(len(o.clients))), gen: c.gen, first: true}
	o.attempt(ref, now)
}

// attempt asks the client's policy to admit the call's next attempt at now
// and sends it.
func (o *openRun) attempt(ref int32, now int64) {
	c := &o.calls[ref]
	_, pr, err := o.clients[c.client].p.Begin(bg, c.pr, vt(now))
	if err != nil {
		o.end(ref, now, false)
		return
	}
	c.pr = pr
	c.gen++
	c.live = true
	o.m.sent(now, c.first)
	o.q.pushLane(laneHop, now+int64(o.s.Hop), openAtServer, ref, c.gen)
	if o.s.Timeout > 0 {
		o.q.pushLane(laneTimeout, now+int64(o.s.Timeout), openTimeout, ref, c.gen)
	}
}

func (o *openRun) reply(e event, now int64) {
	c := &o.calls[e.ref]
	if !c.live || c.gen != e.gen {
		return // the client gave up on this attempt already
	}
	switch e.kind {
	case openReplyOK:
		c.live = false
		if c.first {
			o.m.firstTryOK(c.start)
		}
		o.clients[c.client].p.Succeeded(bg, c.pr, vt(now))
		o.end(e.ref, now, true)
	case openReplyDown:
		err := ErrUnavailable
		if o.s.Trigger.RetryAfter {
			left := o.trigEnd - (now - int64(o.s.Hop))
			err = retry.After(time.Duration(ceilSeconds(left)), err)
		}
		o.failed(e.ref, err, now)
	case openReplyFull:
		err := ErrOverloaded
		if o.s.Trigger.RetryAfter {
			err = retry.After(time.Second, err)
		}
		o.failed(e.ref, err, now)
	}
}

// failed reports the running attempt's failure to the policy and acts on
// its verdict.
func (o *openRun) failed(ref int32, err error, now int64) {
	c := &o.calls[ref]
	c.live = false
	v := o.clients[c.client].p.Failed(bg, c.pr, err, vt(now))
	if v.Err != nil {
		o.end(ref, now, false)
		return
	}
	c.pr = v.Next
	c.first = false
	o.q.push(later(now, v.Wait), openRetry, ref, 0)
}

// end closes a caller request and frees its slot.
func (o *openRun) end(ref int32, now int64, ok bool) {
	c := &o.calls[ref]
	c.live = false
	c.pr = retry.Progress{}
	o.m.finished(now, now-c.start, ok)
	o.free = append(o.free, ref)
}
