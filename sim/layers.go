package sim

import (
	"math/rand/v2"
	"time"

	"github.com/retrykit/retry"
)

// MaxLayers is the deepest stack [Layers] simulates: attempts multiply
// per layer (A^L), so a deeper one is a mistake or a very long run.
const MaxLayers = 8

// Layers is a stack of Depth services, each of which calls the one below
// it with the fleet's policy (each layer a client of its own, with its own
// budget and breaker when the Fleet gives them), the lowest one calling a
// dependency. Requests caller requests arrive at the top one Gap after the
// other, whether or not earlier ones have ended: calls overlap in time.
// Each hop takes Hop. The dependency fails an attempt with probability
// FailRate, and every attempt while it is down (from Trigger.Start for
// Trigger.Length); a layer whose own call below failed fails its attempt.
// Retries at every layer multiply: in a total outage with A attempts per
// layer the dependency sees A^Depth attempts per caller request (Google
// SRE, "Addressing Cascading Failures").
//
// The run ends when every call has ended, except those whose policy waits
// beyond about 146 years of virtual time: they never retry, and their
// caller requests count as neither succeeded nor failed.
//
// One random stream, PCG seeded with (Seed, 0x6c61796572), serves the
// failures and the policies' jitter.
type Layers struct {
	Depth     int           // retrying layers, 1 to MaxLayers
	Requests  int           // caller requests, 1 to the event limit
	Gap       time.Duration // between caller requests, >= 0; (Requests−1)·Gap at most MaxSpan
	Hop       time.Duration // one way, in [0, MaxSpan]
	FailRate  float64       // probability that the dependency fails an attempt, in [0, 1]
	Trigger   Trigger       // Mode is ignored: the dependency is down
	Seed      uint64
	MaxEvents int64 // stop with an error past this many events; 0 means DefaultMaxEvents
}

// LayersResult counts what every layer did.
type LayersResult struct {
	Requests  int64   `json:"requests"`  // caller requests
	Succeeded int64   `json:"succeeded"` // of those, successful
	Attempts  []int64 `json:"attempts"`  // attempts made by layer 1 (the top) to Depth; the last reach the dependency
	// Amplification is attempts reaching the dependency per caller request.
	Amplification float64 `json:"amplification"`
}

// Event kinds of a Layers run.
const (
	layArrive  uint8 = iota // the next caller request reaches the top layer
	layAttempt              // a call's next attempt starts (its first, or after its wait)
	layReach                // a call's attempt reaches the layer below or the dependency
	layReply                // the answer to a call's attempt reaches it; gen 1 is success
)

// layCall is one call of one layer in flight: the top layer's are caller
// requests, the others are made by an attempt of the call above.
type layCall struct {
	pr     retry.Progress // before Begin: what the next attempt starts from
	next   retry.Progress // the running attempt's
	layer  int32
	parent int32 // the call whose attempt this is; -1 for a caller request
}

type layersRun struct {
	s      *Layers
	r      *rand.Rand
	layers []client
	q      queue
	calls  []layCall
	free   []int32
	res    LayersResult
}

// Run simulates the stack with the fleet. Every call is driven through one
// event queue, so that calls overlapping in time reach each layer's policy,
// budget and breaker in time order.
func (s Layers) Run(f Fleet) (LayersResult, error) { return s.run(f, MaxPending) }

func (s *Layers) check() error {
	limit := cmpOr(s.MaxEvents, DefaultMaxEvents)
	switch {
	case s.Depth < 1 || s.Depth > MaxLayers:
		return checkCount("Layers.Depth", s.Depth, 1, MaxLayers)
	case s.Requests < 1 || int64(s.Requests) > limit:
		return fieldError("Layers.Requests", "must be in [1, %d], the event limit (each caller request is an event), got %d", limit, s.Requests)
	case s.Gap < 0:
		return fieldError("Layers.Gap", "must not be negative, got %v", s.Gap)
	case s.Requests > 1 && s.Gap > MaxSpan/time.Duration(s.Requests-1):
		return fieldError("Layers.Gap", "of %v spreads %d caller requests over more than a run spans (%v)", s.Gap, s.Requests, MaxSpan)
	case !(s.FailRate >= 0 && s.FailRate <= 1):
		return fieldError("Layers.FailRate", "must be in [0, 1], got %v", s.FailRate)
	case s.MaxEvents < 0:
		return fieldError("Layers.MaxEvents", "must not be negative, got %d", s.MaxEvents)
	}
	if err := checkDuration("Layers.Hop", s.Hop); err != nil {
		return err
	}
	return s.Trigger.check("Layers.Trigger")
}

// run is Run with a bound on the events held at once.
func (s Layers) run(f Fleet, pending int) (LayersResult, error) {
	if err := s.check(); err != nil {
		return LayersResult{}, err
	}
	l := &layersRun{s: &s, r: rand.New(rand.NewPCG(s.Seed, 0x6c61796572))}
	l.q.maxPending = pending
	limit := cmpOr(s.MaxEvents, DefaultMaxEvents)
	var err error
	if l.layers, err = f.clients(s.Depth, l.r); err != nil {
		return LayersResult{}, err
	}
	l.res.Attempts = make([]int64, s.Depth)
	l.q.push(0, layArrive, -1, 0)
	for l.q.len() > 0 && l.q.first().at < never {
		if err := l.q.check(limit); err != nil {
			return LayersResult{}, err
		}
		l.step(l.q.pop())
	}
	l.res.Amplification = float64(l.res.Attempts[s.Depth-1]) / float64(l.res.Requests)
	return l.res, nil
}

func (l *layersRun) step(e event) {
	now := e.at
	switch e.kind {
	case layArrive:
		if l.res.Requests++; l.res.Requests < int64(l.s.Requests) {
			l.q.push(now+int64(l.s.Gap), layArrive, -1, 0)
		}
		l.q.push(now, layAttempt, l.newCall(0, -1), 0)
	case layAttempt:
		l.attempt(e.ref, now)
	case layReach:
		c := &l.calls[e.ref]
		if below := c.layer + 1; int(below) < len(l.layers) {
			l.q.push(now, layAttempt, l.newCall(below, e.ref), 0)
			break
		}
		t := l.s.Trigger
		down := now >= int64(t.Start) && now < int64(t.Start+t.Length)
		fail := down || (l.s.FailRate > 0 && l.r.Float64() < l.s.FailRate)
		l.q.push(now+int64(l.s.Hop), layReply, e.ref, b2u(!fail))
	case layReply:
		c := &l.calls[e.ref]
		p := l.layers[c.layer].p
		if e.gen == 1 {
			p.Succeeded(bg, c.next, vt(now))
			l.end(e.ref, now, true)
			break
		}
		v := p.Failed(bg, c.next, ErrUnavailable, vt(now))
		if v.Err != nil {
			l.end(e.ref, now, false)
			break
		}
		c.pr = v.Next
		l.q.push(later(now, v.Wait), layAttempt, e.ref, 0)
	}
}

// attempt asks the call's layer to admit its next attempt at now and sends
// it to the layer below.
func (l *layersRun) attempt(ref int32, now int64) {
	c := &l.calls[ref]
	_, next, err := l.layers[c.layer].p.Begin(bg, c.pr, vt(now))
	if err != nil {
		l.end(ref, now, false)
		return
	}
	c.next = next
	l.res.Attempts[c.layer]++
	l.q.push(now+int64(l.s.Hop), layReach, ref, 0)
}

// newCall starts a call of the layer for parent and returns its slot.
func (l *layersRun) newCall(layer, parent int32) int32 {
	c := layCall{layer: layer, parent: parent}
	if n := len(l.free); n > 0 {
		ref := l.free[n-1]
		l.free = l.free[:n-1]
		l.calls[ref] = c
		return ref
	}
	l.calls = append(l.calls, c)
	return int32(len(l.calls) - 1)
}

// end closes a call: its answer travels up to the attempt that made it, or
// a caller request is counted.
func (l *layersRun) end(ref int32, now int64, ok bool) {
	parent := l.calls[ref].parent
	l.calls[ref] = layCall{}
	l.free = append(l.free, ref)
	if parent >= 0 {
		l.q.push(now+int64(l.s.Hop), layReply, parent, b2u(ok))
		return
	}
	if ok {
		l.res.Succeeded++
	}
}

// b2u is 1 for true and 0 for false.
func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}
