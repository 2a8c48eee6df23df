package sim

import (
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
	Clients int           // clients sharing the load, 1 to MaxClients; each has its own budget and breaker (Fleet)
	Rate    float64       // caller requests per second over the whole fleet, > 0; at most the event limit over the run
	Workers int           // server workers, 1 to MaxPending
	Service time.Duration // work per request per worker, in (0, MaxSpan]
	Queue   int           // server queue bound (requests waiting, beyond those in service), 0 to MaxQueue
	Hop     time.Duration // one-way network time, in [0, MaxSpan]
	Timeout time.Duration // client attempt timeout, at most MaxSpan; 0 means none
	Trigger Trigger
	// After is how long to simulate after the trigger ends, at most
	// MaxSpan; 0 means 120s.
	After time.Duration
	// Bucket is the resolution of the time series, at most MaxSpan and
	// making at most MaxBuckets buckets; 0 means 1s.
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

// prepare checks the scenario's fields, fills in the defaults of After and
// Bucket, and checks that the run fits its bounds: its time buckets, and
// the caller requests its event limit can process.
func (s *Open) prepare() error {
	if err := s.check(); err != nil {
		return err
	}
	bucketSet := s.Bucket != 0
	s.After = cmpOr(s.After, 120*time.Second)
	s.Bucket = cmpOr(s.Bucket, time.Second)
	horizon := s.Trigger.Start + s.Trigger.Length + s.After
	if err := checkSpan("Open", horizon, s.Bucket, bucketSet); err != nil {
		return err
	}
	limit := cmpOr(s.MaxEvents, DefaultMaxEvents)
	if n := s.Rate * horizon.Seconds(); n > float64(limit) {
		return fieldError("Open.Rate", "%g brings about %.3g caller requests over a run of %v, more than the event limit (%d) processes: lower the rate, shorten the run or raise the limit",
			s.Rate, n, horizon, limit)
	}
	return nil
}

func (s *Open) check() error {
	switch {
	case s.Clients < 1 || s.Clients > MaxClients:
		return checkCount("Open.Clients", s.Clients, 1, MaxClients)
	case !(s.Rate > 0) || math.IsInf(s.Rate, 0):
		return fieldError("Open.Rate", "must be a positive number of requests per second, got %v", s.Rate)
	case s.Workers < 1 || s.Workers > MaxPending:
		return checkCount("Open.Workers", s.Workers, 1, MaxPending)
	case s.Service <= 0 || s.Service > MaxSpan:
		return fieldError("Open.Service", "must be in (0, %v], got %v", MaxSpan, s.Service)
	case s.Queue < 0 || s.Queue > MaxQueue:
		return checkCount("Open.Queue", s.Queue, 0, MaxQueue)
	case s.MaxEvents < 0:
		return fieldError("Open.MaxEvents", "must not be negative, got %d", s.MaxEvents)
	}
	for _, d := range []struct {
		field string
		d     time.Duration
	}{{"Open.Hop", s.Hop}, {"Open.Timeout", s.Timeout}, {"Open.After", s.After}, {"Open.Bucket", s.Bucket}} {
		if err := checkDuration(d.field, d.d); err != nil {
			return err
		}
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
	queued  jobs // the server's queue
	busy    int  // workers serving a job

	trigStart, trigEnd, horizon, bucket int64
	m                                   metrics
}

// Run simulates the scenario with the fleet.
func (s Open) Run(f Fleet) (Result, error) { return s.run(f, MaxPending) }

// run is Run with a bound on the events held at once.
func (s Open) run(f Fleet, pending int) (Result, error) {
	if err := s.prepare(); err != nil {
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
	o.m.init(o.horizon, o.bucket, o.trigStart, o.trigEnd)
	o.q.maxPending = pending
	o.queued.bound = s.Queue
	limit := cmpOr(s.MaxEvents, DefaultMaxEvents)

	o.q.push(o.interarrival(0), openArrive, -1, 0)
	o.q.push(o.bucket, openTick, -1, 0)
	if s.Trigger.Length > 0 {
		o.q.push(o.trigEnd, openResume, -1, 0)
	}
	for o.q.len() > 0 && o.q.first().at < o.horizon {
		if err := o.q.check(limit); err != nil {
			return Result{}, err
		}
		o.step(o.q.pop())
	}
	if end := o.m.current(); end <= o.horizon {
		o.tick(end) // the last whole bucket, ending at the horizon
	}
	res := Result{Scenario: "open", Seed: s.Seed, Series: o.m.series}
	o.m.sum.InFlight = int64(len(o.calls) - len(o.free))
	o.m.sum.Refused = fleetRefused(o.clients)
	o.m.sum.Clients = s.Clients
	o.m.sum.Events = int64(o.q.done)
	res.Summary = o.m.summarise(s.Rate)
	return res, nil
}

// interarrival returns when the caller request after one arriving at now
// arrives: at the horizon (that is, never) when the draw lands beyond it,
// so that a tiny rate cannot overflow virtual time.
func (o *openRun) interarrival(now int64) int64 {
	gap := o.r.ExpFloat64() / o.s.Rate * float64(time.Second)
	if gap >= float64(o.horizon-now) {
		return o.horizon
	}
	return now + int64(gap)
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
		for o.busy < o.s.Workers && o.queued.n > 0 {
			o.serveNext(now)
		}
	}
}

// tick closes the bucket that ends at now.
func (o *openRun) tick(now int64) {
	o.m.close(now, o.queued.n, fleetTokens(o.clients, now), fleetNotClosed(o.clients, now))
}
