package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/retrykit/retry"
)

// Open is an open-loop overload scenario: caller requests keep arriving
// whatever happens to earlier ones (Poisson, Rate per second over the whole
// fleet, each for one of Clients clients chosen at random), and a server of
// Workers workers, each taking Service per request, works through a FIFO
// queue bounded at Queue; a request that finds the queue full gets an
// instant 503. Every hop between a client and the server takes Hop. A
// client gives up on an attempt after Timeout, and its policy decides
// whether and when to retry, but the server still does the work of the
// request once it reaches it (wasted work): that is how queued, timed-out
// work degrades the server's useful capacity.
//
// The Trigger takes capacity away for a while. Once it ends, a policy
// either lets the server drain its queue and recover, or keeps it pinned
// at its queue limit with retries of requests that time out in the queue:
// the metastable failure of Bronson et al. (HotOS'21) and Huang et al.
// (OSDI'22).
//
// Two random streams, PCG seeded with (Seed, 0x6f70656e) for arrivals and
// the choice of client and (Seed, 0x706f6c) for the policy's jitter, are
// consumed in event order; so runs of one seed with different policies see
// the same caller requests.
type Open struct {
	Clients int           // clients sharing the load, > 0; each has its own budget and breaker (Fleet)
	Rate    float64       // caller requests per second over the whole fleet, > 0
	Workers int           // server workers, > 0
	Service time.Duration // work per request per worker, > 0
	Queue   int           // server queue bound (requests waiting, beyond those in service), >= 0
	Hop     time.Duration // one-way network time, >= 0
	Timeout time.Duration // client attempt timeout; 0 means none
	Trigger Trigger
	// After is how long to simulate after the trigger ends; 0 means 120s.
	After time.Duration
	// Bucket is the resolution of the time series; 0 means 1s.
	Bucket    time.Duration
	Seed      uint64
	MaxEvents int64 // stop with an error past this many events; 0 means DefaultMaxEvents
}

// Trigger is what goes wrong in a scenario, from Start for Length.
type Trigger struct {
	Mode   TriggerMode
	Start  time.Duration // >= 0
	Length time.Duration // >= 0; 0 means no trigger
	// Magnitude is, for Slow, the fraction of the server's capacity lost,
	// in (0, 1]: while the trigger lasts each worker works at 1−Magnitude
	// of its speed, on the jobs it was serving when the trigger started as
	// on those it starts, and at full speed again once it ends. Slow with
	// Magnitude 1 is nearly a Stall: work freezes until the trigger ends,
	// where a Stall lets the jobs in service finish and starts none. Other
	// modes ignore Magnitude.
	Magnitude float64
	// RetryAfter makes the server's 503s carry a hint ([retry.After]):
	// during a Reject trigger the time left until it ends, rounded up to
	// whole seconds (every client is told the same instant), and 1s for a
	// full queue.
	RetryAfter bool
}

// TriggerMode is the kind of a [Trigger].
type TriggerMode uint8

const (
	// Stall pauses the workers: requests keep arriving and queueing but
	// none starts (a capacity decrease, OSDI'22's commonest trigger).
	Stall TriggerMode = iota
	// Reject answers every request with an instant 503 that costs the
	// server nothing (a dependency that is down but answers).
	Reject
	// Slow takes Magnitude of the workers' speed away.
	Slow
)

var triggerModes = [...]string{Stall: "stall", Reject: "reject", Slow: "slow"}

// String returns "stall", "reject" or "slow".
func (m TriggerMode) String() string {
	if int(m) < len(triggerModes) {
		return triggerModes[m]
	}
	return fmt.Sprintf("TriggerMode(%d)", uint8(m))
}

// ParseTriggerMode reads the String form of a mode.
func ParseTriggerMode(s string) (TriggerMode, error) {
	for i, n := range triggerModes {
		if n == s {
			return TriggerMode(i), nil
		}
	}
	return 0, fmt.Errorf("%w: sim: unknown trigger mode %q (want stall, reject or slow)", retry.ErrInvalidConfig, s)
}

// Metastable returns the scenario of the metastability checks: 100
// clients sending 700 requests/s in all to 10 workers of 10 ms (capacity
// 1000/s, utilisation 0.7) with a queue of 2000, 5 ms hops, a 200 ms
// attempt timeout, and the workers stalled for 5 s from 10 s on.
func Metastable() Open {
	return Open{
		Clients: 100, Rate: 700, Workers: 10, Service: 10 * time.Millisecond, Queue: 2000,
		Hop: 5 * time.Millisecond, Timeout: 200 * time.Millisecond,
		Trigger: Trigger{Mode: Stall, Start: 10 * time.Second, Length: 5 * time.Second},
	}
}

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

func (s *Open) check() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: sim: Open.%s "+format, append([]any{retry.ErrInvalidConfig, field}, args...)...)
	}
	switch {
	case s.Clients <= 0:
		return bad("Clients", "must be > 0, got %d", s.Clients)
	case !(s.Rate > 0) || math.IsInf(s.Rate, 0):
		return bad("Rate", "must be a positive number of requests per second, got %v", s.Rate)
	case s.Workers <= 0:
		return bad("Workers", "must be > 0 (the server needs capacity), got %d", s.Workers)
	case s.Service <= 0:
		return bad("Service", "must be > 0, got %v", s.Service)
	case s.Queue < 0:
		return bad("Queue", "must not be negative, got %d", s.Queue)
	case s.Hop < 0:
		return bad("Hop", "must not be negative, got %v", s.Hop)
	case s.Timeout < 0:
		return bad("Timeout", "must not be negative, got %v", s.Timeout)
	case s.After < 0 || s.After > maxSpan:
		return bad("After", "must be in [0, %v], got %v", maxSpan, s.After)
	case s.Bucket < 0:
		return bad("Bucket", "must not be negative, got %v", s.Bucket)
	case s.MaxEvents < 0:
		return bad("MaxEvents", "must not be negative, got %d", s.MaxEvents)
	}
	return s.Trigger.check("Open.Trigger")
}

func (t *Trigger) check(name string) error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: sim: %s.%s "+format, append([]any{retry.ErrInvalidConfig, name, field}, args...)...)
	}
	switch {
	case t.Mode > Slow:
		return bad("Mode", "is unknown (%d)", t.Mode)
	case t.Start < 0 || t.Start > maxSpan:
		return bad("Start", "must be in [0, %v], got %v", maxSpan, t.Start)
	case t.Length < 0 || t.Length > maxSpan:
		return bad("Length", "must be in [0, %v], got %v", maxSpan, t.Length)
	case t.Mode == Slow && !(t.Magnitude > 0 && t.Magnitude <= 1):
		return bad("Magnitude", "must be in (0, 1] for a slow trigger, got %v", t.Magnitude)
	}
	return nil
}

// Event kinds of an Open run.
const (
	openArrive    uint8 = iota // the next caller request arrives
	openRetry                  // a call's wait is over: its next attempt starts
	openAtServer               // an attempt reaches the server
	openDone                   // a worker finishes a request
	openReplyOK                // a success reaches the client
	openReplyDown              // a 503 of the trigger reaches the client
	openReplyFull              // a 503 of a full queue reaches the client
	openTimeout                // a client's attempt timeout fires
	openTick                   // a bucket ends
	openResume                 // the trigger ends
)

// The FIFO lanes of an Open run's queue: events a fixed delay ahead.
const (
	laneHop     = iota // a network hop
	laneTimeout        // an attempt timeout
	laneWork           // a worker's service time (the heap takes the others)
)

// call is one caller request in flight.
type call struct {
	pr     retry.Progress
	start  int64  // when it arrived
	client int32  // who makes it
	gen    uint32 // the running attempt; bumps when one starts
	live   bool   // an attempt is running
	first  bool   // the running attempt is the first
}

// job is a request the server holds: which call and attempt it serves.
type job struct {
	ref int32
	gen uint32
}

// openRun is the state of one run.
type openRun struct {
	s       *Open
	r       *rand.Rand
	q       queue
	clients []client
	calls   []call
	free    []int32
	fifo    []job // ring buffer of the server queue
	head    int
	n       int
	busy    int

	trigStart, trigEnd, horizon, bucket int64
	m                                   metrics
}

// Run simulates the scenario with the fleet.
func (s Open) Run(f Fleet) (Result, error) {
	if err := s.check(); err != nil {
		return Result{}, err
	}
	bucketSet := s.Bucket != 0
	s.After = cmpOr(s.After, 120*time.Second)
	s.Bucket = cmpOr(s.Bucket, time.Second)
	if err := checkSpan("Open", s.Trigger.Start+s.Trigger.Length+s.After, s.Bucket, bucketSet); err != nil {
		return Result{}, err
	}
	o := &openRun{s: &s, r: rand.New(rand.NewPCG(s.Seed, 0x6f70656e))}
	var err error
	if o.clients, err = f.clients(s.Clients, rand.New(rand.NewPCG(s.Seed, 0x706f6c))); err != nil {
		return Result{}, err
	}
	o.trigStart = int64(s.Trigger.Start)
	o.trigEnd = o.trigStart + int64(s.Trigger.Length)
	o.horizon = o.trigEnd + int64(s.After)
	o.bucket = int64(s.Bucket)
	o.fifo = make([]job, s.Queue)
	o.m.init(o.horizon, o.bucket, o.trigStart, o.trigEnd)
	limit := uint64(cmpOr(s.MaxEvents, DefaultMaxEvents))

	o.q.push(o.interarrival(0), openArrive, -1, 0)
	o.q.push(o.bucket, openTick, -1, 0)
	if s.Trigger.Length > 0 {
		o.q.push(o.trigEnd, openResume, -1, 0)
	}
	for o.q.len() > 0 && o.q.first().at < o.horizon {
		if o.q.done >= limit {
			return Result{}, eventLimit(int64(limit), o.q.first().at)
		}
		o.step(o.q.pop())
	}
	res := Result{Scenario: "open", Seed: s.Seed, Series: o.m.series}
	o.m.sum.InFlight = int64(len(o.calls) - len(o.free))
	o.m.sum.Refused = fleetRefused(o.clients)
	o.m.sum.Clients = s.Clients
	o.m.sum.Events = int64(o.q.done)
	res.Summary = o.m.summarise(s.Rate)
	return res, nil
}

func (o *openRun) interarrival(now int64) int64 {
	return now + int64(o.r.ExpFloat64()/o.s.Rate*float64(time.Second))
}

// inTrigger reports whether the trigger is on at t.
func (o *openRun) inTrigger(t int64) bool { return t >= o.trigStart && t < o.trigEnd }

func (o *openRun) step(e event) {
	now := e.at
	switch e.kind {
	case openArrive:
		o.q.push(o.interarrival(now), openArrive, -1, 0)
		o.arrive(now)
	case openRetry:
		o.attempt(e.ref, now)
	case openAtServer:
		o.atServer(job{e.ref, e.gen}, now)
	case openDone:
		o.done(job{e.ref, e.gen}, now)
	case openReplyOK, openReplyDown, openReplyFull:
		o.reply(e, now)
	case openTimeout:
		c := &o.calls[e.ref]
		if c.live && c.gen == e.gen {
			o.failed(e.ref, errTimedOut, now)
		}
	case openTick:
		o.tick(now)
		o.q.push(now+o.bucket, openTick, -1, 0)
	case openResume:
		for o.busy < o.s.Workers && o.n > 0 {
			o.serveNext(now)
		}
	}
}

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

func (o *openRun) atServer(j job, now int64) {
	o.m.offered(now, o.calls[j.ref].first && o.calls[j.ref].gen == j.gen)
	switch {
	case o.s.Trigger.Mode == Reject && o.inTrigger(now):
		o.q.pushLane(laneHop, now+int64(o.s.Hop), openReplyDown, j.ref, j.gen)
	case o.busy < o.s.Workers && o.n == 0 && !o.stalled(now):
		o.start(j, now)
	case o.n < len(o.fifo):
		o.fifo[(o.head+o.n)%len(o.fifo)] = j
		o.n++
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
			if done := t + int64(math.Ceil(float64(work)/speed)); done <= o.trigEnd {
				return done
			}
			work -= int64(float64(o.trigEnd-t) * speed)
		}
		t = o.trigEnd
	}
	return t + work
}

func (o *openRun) serveNext(now int64) {
	j := o.fifo[o.head]
	o.head = (o.head + 1) % len(o.fifo)
	o.n--
	o.start(j, now)
}

func (o *openRun) done(j job, now int64) {
	o.busy--
	c := &o.calls[j.ref]
	useful := c.live && c.gen == j.gen
	o.m.served(now, useful)
	if useful {
		o.q.pushLane(laneHop, now+int64(o.s.Hop), openReplyOK, j.ref, j.gen)
	}
	if o.n > 0 && !o.stalled(now) {
		o.serveNext(now)
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

// ceilSeconds rounds ns up to whole seconds, as a Retry-After header does.
func ceilSeconds(ns int64) int64 {
	s := int64(time.Second)
	return (max(ns, 0) + s - 1) / s * s
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
	o.q.push(now+int64(v.Wait), openRetry, ref, 0)
}

// end closes a caller request and frees its slot.
func (o *openRun) end(ref int32, now int64, ok bool) {
	c := &o.calls[ref]
	c.live = false
	c.pr = retry.Progress{}
	o.m.finished(now, now-c.start, ok)
	o.free = append(o.free, ref)
}

// tick closes the bucket that ends at now.
func (o *openRun) tick(now int64) {
	o.m.close(now, o.n, fleetTokens(o.clients, now), fleetNotClosed(o.clients, now))
}
