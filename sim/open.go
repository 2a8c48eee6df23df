package sim

import (
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

// tick closes the bucket that ends at now.
func (o *openRun) tick(now int64) {
	o.m.close(now, o.n, fleetTokens(o.clients, now), fleetNotClosed(o.clients, now))
}
