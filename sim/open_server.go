package sim

import (
	"errors"
	"math"
	"time"

	"github.com/retrykit/retry"
)

// Errors the simulated server and client see; every one is retryable.
var (
	// ErrUnavailable is the server's 503 during a Reject trigger.
	ErrUnavailable = errors.New("sim: 503 service unavailable")
	// ErrOverloaded is the server's 503 when its queue is full.
	ErrOverloaded = errors.New("sim: 503 overloaded (queue full)")
	// ErrTimeout is a client giving up on an attempt after its timeout.
	// The policy is told through [retry.TimedOut], as a caller that
	// enforces its own attempt timeout tells it: the attempt is retried
	// whatever the classifiers say, and a budget charges it TimeoutCost.
	ErrTimeout = errors.New("sim: attempt timed out")
)

// errTimedOut is ErrTimeout as reported to the policy, made once so that
// a timeout costs no allocation.
var errTimedOut = retry.TimedOut(ErrTimeout)

// job is a request the server holds: which call and attempt it serves.
type job struct {
	ref int32
	gen uint32
}

// jobs is the server's FIFO queue of at most bound jobs: a ring buffer that
// grows by doubling as it fills, so that its memory follows what it holds
// rather than its bound.
type jobs struct {
	ring    []job
	head, n int
	bound   int
}

// push appends j; the queue must hold fewer than bound jobs.
func (q *jobs) push(j job) {
	if q.n == len(q.ring) {
		grown := make([]job, min(max(2*len(q.ring), 64), q.bound))
		for i := range q.n {
			grown[i] = q.ring[(q.head+i)%len(q.ring)]
		}
		q.ring, q.head = grown, 0
	}
	q.ring[(q.head+q.n)%len(q.ring)] = j
	q.n++
}

// pop removes and returns the oldest job; the queue must not be empty.
func (q *jobs) pop() job {
	j := q.ring[q.head]
	q.head = (q.head + 1) % len(q.ring)
	q.n--
	return j
}

func (o *openRun) atServer(j job, now int64) {
	o.m.offered(now, o.calls[j.ref].first && o.calls[j.ref].gen == j.gen)
	switch {
	case o.s.Trigger.Mode == Reject && o.inTrigger(now):
		o.q.pushLane(laneHop, now+int64(o.s.Hop), openReplyDown, j.ref, j.gen)
	case o.busy < o.s.Workers && o.queued.n == 0 && !o.stalled(now):
		o.start(j, now)
	case o.queued.n < o.queued.bound:
		o.queued.push(j)
	default:
		o.q.pushLane(laneHop, now+int64(o.s.Hop), openReplyFull, j.ref, j.gen)
	}
}

// stalled reports whether the workers are paused at t.
func (o *openRun) stalled(t int64) bool {
	return o.s.Trigger.Mode == Stall && o.inTrigger(t)
}

// start puts a worker on j.
func (o *openRun) start(j job, now int64) {
	o.busy++
	at := now + int64(o.s.Service)
	if o.s.Trigger.Mode == Slow {
		at = o.finish(now, int64(o.s.Service))
	}
	o.q.pushLane(laneWork, at, openDone, j.ref, j.gen)
}

// finish returns when work ns of full-speed work started at now ends under
// a Slow trigger: the worker runs at 1−Magnitude of its speed while the
// trigger lasts, whenever the job started, and at full speed before and
// after it (Magnitude 1 freezes the work until the trigger ends).
func (o *openRun) finish(now, work int64) int64 {
	t := now
	if t < o.trigStart {
		if t+work <= o.trigStart {
			return t + work
		}
		work -= o.trigStart - t
		t = o.trigStart
	}
	if t < o.trigEnd {
		if speed := 1 - o.s.Trigger.Magnitude; speed > 0 {
			// Compared as floats: at a tiny speed the time needed
			// overflows an int64.
			if need := math.Ceil(float64(work) / speed); need <= float64(o.trigEnd-t) {
				return t + int64(need)
			}
			work -= int64(float64(o.trigEnd-t) * speed)
		}
		t = o.trigEnd
	}
	return t + work
}

func (o *openRun) serveNext(now int64) {
	o.start(o.queued.pop(), now)
}

func (o *openRun) done(j job, now int64) {
	o.busy--
	c := &o.calls[j.ref]
	useful := c.live && c.gen == j.gen
	o.m.served(now, useful)
	if useful {
		o.q.pushLane(laneHop, now+int64(o.s.Hop), openReplyOK, j.ref, j.gen)
	}
	if o.queued.n > 0 && !o.stalled(now) {
		o.serveNext(now)
	}
}

// ceilSeconds rounds ns up to whole seconds, as a Retry-After header does.
func ceilSeconds(ns int64) int64 {
	s := int64(time.Second)
	return (max(ns, 0) + s - 1) / s * s
}
