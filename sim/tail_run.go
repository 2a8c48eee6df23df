package sim

import (
	"context"
	"math"
	"math/rand/v2"
	"time"

	"github.com/retrykit/retry"
)

// cancelled is the done context the losers of a hedged call are reported
// with: the engine counts their attempts as nothing.
var cancelled = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// Event kinds of a Tail run.
const (
	tailArrive   uint8 = iota // the next user request arrives
	tailHedge                 // a call's hedge delay has passed
	tailAtServer              // a copy reaches the server
	tailDone                  // a worker finishes a copy
	tailReply                 // a copy's answer reaches the client
	tailTick                  // a bucket ends
)

// tailCall is one call of a fan-out in flight. Its slot is freed once it
// has ended and the server has finished every copy of it; its hedge and
// reply events carry gen·8 + the copy, so that those of an earlier call in
// the same slot are ignored.
type tailCall struct {
	pr     [MaxCopies]retry.Progress // the copies' admissions
	start  int64
	delay  int64 // between two hedges
	req    int32 // the user request
	gen    uint32
	svc    [MaxCopies]int64 // when each copy's service started
	sent   [MaxCopies]int64 // when each copy was sent
	copies uint8            // copies sent
	out    uint8            // copies the server has not finished
	done   bool
	brown  bool // started during the brownout
}

// tailReq is one user request in flight.
type tailReq struct {
	start int64
	left  int32 // calls not yet ended
	brown bool
}

type tailRun struct {
	s       *Tail
	h       Hedge
	max     int // copies in flight at most
	r       *rand.Rand
	c       client
	est     delaySource // an adaptive Hedge's delay; nil for a fixed one
	q       queue
	calls   []tailCall
	free    []int32
	reqs    []tailReq
	freeReq []int32
	queued  jobs
	busy    int
	arrived int
	ended   int64 // user requests ended

	brownStart, brownEnd, bucket int64
	busyNs, wastedNs             float64
	last                         int64
	reqHist, callHist, brownHist logHist
	cur                          TailSample
	reqSum                       float64
	reqN                         int64
	brownCalls, brownAttempts    int64
	res                          TailResult
}

// Run simulates the scenario with the fleet's policy, hedging as h says.
func (s Tail) Run(f Fleet, h Hedge) (TailResult, error) { return s.run(f, h, MaxPending, nil) }

// run is Run with a bound on pending events and, for an adaptive h, the
// delay to use (nil: the simulator's own, newDelayEstimate).
func (s Tail) run(f Fleet, h Hedge, pending int, est delaySource) (TailResult, error) {
	if err := s.check(); err != nil {
		return TailResult{}, err
	}
	if err := h.check(); err != nil {
		return TailResult{}, err
	}
	bucketSet := s.Bucket != 0
	s.Bucket = cmpOr(s.Bucket, time.Second)
	s.Slowdown = cmpOr(s.Slowdown, 1)
	arrivals := time.Duration(math.Min(float64(s.Requests)/s.Rate*float64(time.Second), float64(MaxSpan)))
	if err := checkSpan("Tail", arrivals, s.Bucket, bucketSet); err != nil {
		return TailResult{}, err
	}
	cs, err := f.clients(1, rand.New(rand.NewPCG(s.Seed, 0x706f6c)))
	if err != nil {
		return TailResult{}, err
	}
	if h.enabled() {
		// The engine admits hedges only for a policy that hedges; the
		// delay is the run's own (fixed, or its estimator's), so the
		// policy's is never read. Made by With, it keeps the client's
		// budget and breaker.
		if cs[0].p, err = cs[0].p.With(retry.WithHedge(0, cmpOr(h.MaxInFlight, 2))); err != nil {
			return TailResult{}, err
		}
	}
	t := &tailRun{s: &s, h: h, max: cmpOr(h.MaxInFlight, 2), r: rand.New(rand.NewPCG(s.Seed, 0x7461696c)), c: cs[0],
		reqHist: newLogHist(), callHist: newLogHist(), brownHist: newLogHist(),
		brownStart: int64(s.BrownoutStart), brownEnd: int64(s.BrownoutStart + s.BrownoutLength), bucket: int64(s.Bucket)}
	if h.Quantile > 0 {
		t.est = est
		if est == nil {
			t.est = newDelayEstimate(h)
		}
	}
	t.q.maxPending = pending
	t.queued.bound = MaxQueue
	t.res = TailResult{Seed: s.Seed, Hedge: h.String()}
	limit := cmpOr(s.MaxEvents, DefaultMaxEvents)
	t.q.push(0, tailArrive, -1, 0)
	t.q.push(t.bucket, tailTick, -1, 0)
	// The run ends when every user request has ended and the workers are
	// idle: hedge delays still pending then belong to calls that ended.
	for t.q.len() > 0 && (t.ended < int64(s.Requests) || t.busy > 0 || t.queued.n > 0) {
		if err := t.q.check(limit); err != nil {
			return TailResult{}, err
		}
		if t.queued.n == MaxQueue {
			return TailResult{}, &LimitError{Pending: true, Limit: MaxQueue, At: time.Duration(t.q.first().at)}
		}
		t.step(t.q.pop())
	}
	t.finish()
	return t.res, nil
}

func (t *tailRun) brownout(at int64) bool { return at >= t.brownStart && at < t.brownEnd }

func (t *tailRun) step(e event) {
	now := e.at
	if e.kind != tailTick {
		t.last = max(t.last, now)
	}
	switch e.kind {
	case tailArrive:
		t.arrive(now)
	case tailHedge:
		if c := &t.calls[e.ref]; c.gen == e.gen>>3 && !c.done {
			t.hedge(e.ref, now)
		}
	case tailAtServer:
		if t.busy < t.s.Workers {
			t.serve(job{e.ref, e.gen}, now)
		} else {
			t.queued.push(job{e.ref, e.gen})
			t.res.MaxQueue = max(t.res.MaxQueue, t.queued.n)
		}
	case tailDone:
		t.busy--
		t.finished(e.ref, int(e.gen&7), now)
		if t.queued.n > 0 {
			t.serve(t.queued.pop(), now)
		}
	case tailReply:
		if c := &t.calls[e.ref]; c.gen == e.gen>>3 && !c.done {
			t.won(e.ref, int(e.gen&7), now)
		}
	case tailTick:
		t.tick(now)
		if t.ended < int64(t.s.Requests) || t.busy > 0 || t.queued.n > 0 {
			t.q.push(now+t.bucket, tailTick, -1, 0)
		}
	}
}
