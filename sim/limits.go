package sim

import (
	"math"
	"time"
)

// The bounds of a run. A scenario whose fields ask for more is refused with
// a [*FieldError] before anything is allocated; a run whose work in flight
// grows past MaxPending, or that processes more events than its limit,
// stops with a [*LimitError]. Together they bound a run's memory, whatever
// its fields, to about 550 MB at worst, as measured (see the package
// documentation, Cost).
const (
	// MaxClients is the largest fleet: a client costs about 25 bytes, and
	// about 700 with its own budget and breaker (Fleet.Budget,
	// Fleet.Breaker).
	MaxClients = 100_000
	// MaxQueue is the largest server queue of an [Open] scenario. The
	// queue's memory, 8 bytes a request, grows with what it holds, not
	// with its bound.
	MaxQueue = 1_000_000
	// MaxPending is the most events a run holds scheduled at once: every
	// request in flight has at least one (its next hop, timeout or retry),
	// except those waiting in a server's queue, so this bounds the requests
	// in flight with the queue. A request in flight costs 200 to 500 bytes
	// (a Layers run stopped at this bound holds 550 MB).
	MaxPending = 1_000_000
	// MaxBuckets is the most time buckets a run's series may hold (a
	// bucket costs about 100 bytes): a finer Bucket or a longer run is an
	// error, not an exhausted memory.
	MaxBuckets = 1_000_000
	// MaxSpan bounds every duration of a scenario that places events on its
	// timeline (the trigger's start and length, the time after it, hops,
	// service and timeouts, buckets), so that virtual time never overflows.
	MaxSpan = 100_000 * time.Hour
	// DefaultMaxEvents bounds a run when its MaxEvents is 0: about a
	// minute of simulation on a slow machine.
	DefaultMaxEvents = 500_000_000
)

// checkSpan reports a run of horizon whose series of bucket would hold
// more than MaxBuckets buckets. scenario names the struct; bucketSet says
// whether the caller chose Bucket (the error names it) or took the default
// (the error names After).
func checkSpan(scenario string, horizon, bucket time.Duration, bucketSet bool) error {
	n := int64(horizon / bucket)
	if n <= MaxBuckets {
		return nil
	}
	field := "After"
	if bucketSet {
		field = "Bucket"
	}
	return fieldError(scenario+"."+field, "makes %d time buckets of %v over a run of %v, more than a run holds (%d): use coarser buckets or a shorter run",
		n, bucket, horizon, MaxBuckets)
}

// checkDuration reports a duration field outside [0, MaxSpan].
func checkDuration(field string, d time.Duration) error {
	if d < 0 || d > MaxSpan {
		return fieldError(field, "must be in [0, %v], got %v", MaxSpan, d)
	}
	return nil
}

// checkCount reports a count field outside [lo, hi].
func checkCount(field string, n, lo, hi int) error {
	if n < lo || n > hi {
		return fieldError(field, "must be in [%d, %d], got %d", lo, hi, n)
	}
	return nil
}

// check returns the error of a run that has processed limit events or
// holds more than its bound of events at once (MaxPending unless
// maxPending is set); the loop of every scenario asks it before
// each event.
func (q *queue) check(limit int64) error {
	switch {
	case q.done >= uint64(limit):
		return &LimitError{Limit: limit, At: time.Duration(q.first().at)}
	case q.n > cmpOr(q.maxPending, MaxPending):
		return &LimitError{Pending: true, Limit: int64(cmpOr(q.maxPending, MaxPending)), At: time.Duration(q.first().at)}
	}
	return nil
}

// never is the virtual instant no run reaches, about 146 years from its
// start: every horizon ends before it, and an event scheduled at it is left
// in the queue.
const never = math.MaxInt64 / 2

// later returns the virtual instant d after now, or never if that is later:
// a wait the policy chose may be as long as a Duration holds, and adding it
// must not wrap around to the past.
func later(now int64, d time.Duration) int64 {
	if int64(d) >= never-now {
		return never
	}
	return now + int64(d)
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
