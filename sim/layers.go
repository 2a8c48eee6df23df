package sim

import (
	"fmt"
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
// dependency. Requests caller requests arrive at the top one after the
// other, Gap apart. Each hop takes Hop. The dependency fails an attempt
// with probability FailRate, and every attempt while it is down (from
// Trigger.Start for Trigger.Length); a layer whose own call below failed
// fails its attempt. Retries at every layer multiply: in a total outage
// with A attempts per layer the dependency sees A^Depth attempts per
// caller request (Google SRE, "Addressing Cascading Failures").
//
// One random stream, PCG seeded with (Seed, 0x6c61796572), serves the
// failures and the policies' jitter.
type Layers struct {
	Depth     int           // retrying layers, 1 to MaxLayers
	Requests  int           // caller requests, > 0
	Gap       time.Duration // between caller requests, >= 0
	Hop       time.Duration // one way, >= 0
	FailRate  float64       // probability that the dependency fails an attempt, in [0, 1]
	Trigger   Trigger       // Mode is ignored: the dependency is down
	Seed      uint64
	MaxEvents int64 // stop with an error past this many attempts; 0 means DefaultMaxEvents
}

// LayersResult counts what every layer did.
type LayersResult struct {
	Requests  int64   `json:"requests"`  // caller requests
	Succeeded int64   `json:"succeeded"` // of those, successful
	Attempts  []int64 `json:"attempts"`  // attempts made by layer 1 (the top) to Depth; the last reach the dependency
	// Amplification is attempts reaching the dependency per caller request.
	Amplification float64 `json:"amplification"`
}

type layersRun struct {
	s      *Layers
	r      *rand.Rand
	layers []client
	res    LayersResult
	limit  int64
	n      int64
}

// Run simulates the stack with the fleet.
func (s Layers) Run(f Fleet) (LayersResult, error) {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: sim: Layers.%s "+format, append([]any{retry.ErrInvalidConfig, field}, args...)...)
	}
	switch {
	case s.Depth < 1 || s.Depth > MaxLayers:
		return LayersResult{}, bad("Depth", "must be in [1, %d], got %d", MaxLayers, s.Depth)
	case s.Requests <= 0:
		return LayersResult{}, bad("Requests", "must be > 0, got %d", s.Requests)
	case s.Gap < 0:
		return LayersResult{}, bad("Gap", "must not be negative, got %v", s.Gap)
	case s.Hop < 0:
		return LayersResult{}, bad("Hop", "must not be negative, got %v", s.Hop)
	case !(s.FailRate >= 0 && s.FailRate <= 1):
		return LayersResult{}, bad("FailRate", "must be in [0, 1], got %v", s.FailRate)
	case s.MaxEvents < 0:
		return LayersResult{}, bad("MaxEvents", "must not be negative, got %d", s.MaxEvents)
	}
	if err := s.Trigger.check("Layers.Trigger"); err != nil {
		return LayersResult{}, err
	}
	l := &layersRun{s: &s, r: rand.New(rand.NewPCG(s.Seed, 0x6c61796572)), limit: cmpOr(s.MaxEvents, DefaultMaxEvents)}
	var err error
	if l.layers, err = f.clients(s.Depth, l.r); err != nil {
		return LayersResult{}, err
	}
	l.res.Attempts = make([]int64, s.Depth)
	var now int64
	for range s.Requests {
		ok, _, err := l.call(0, now)
		if err != nil {
			return LayersResult{}, err
		}
		l.res.Requests++
		if ok {
			l.res.Succeeded++
		}
		now += int64(s.Gap)
	}
	l.res.Amplification = float64(l.res.Attempts[s.Depth-1]) / float64(l.res.Requests)
	return l.res, nil
}

// call runs one call of layer i starting at now, with its retries, and
// returns whether it succeeded and when it ended.
func (l *layersRun) call(i int, now int64) (bool, int64, error) {
	c := l.layers[i]
	var pr retry.Progress
	for {
		_, next, err := c.p.Begin(bg, pr, vt(now))
		if err != nil {
			return false, now, nil
		}
		if l.n++; l.n > l.limit {
			return false, now, eventLimit(l.limit, now)
		}
		l.res.Attempts[i]++
		ok, end, err := l.below(i, now+int64(l.s.Hop))
		if err != nil {
			return false, now, err
		}
		now = end + int64(l.s.Hop)
		if ok {
			c.p.Succeeded(bg, next, vt(now))
			return true, now, nil
		}
		v := c.p.Failed(bg, next, ErrUnavailable, vt(now))
		if v.Err != nil {
			return false, now, nil
		}
		pr = v.Next
		now += int64(v.Wait)
	}
}

// below is what layer i's attempt reaching the next hop at now gets.
func (l *layersRun) below(i int, now int64) (bool, int64, error) {
	if i+1 < len(l.layers) {
		return l.call(i+1, now)
	}
	t := l.s.Trigger
	down := now >= int64(t.Start) && now < int64(t.Start+t.Length)
	fail := down || (l.s.FailRate > 0 && l.r.Float64() < l.s.FailRate)
	return !fail, now, nil
}
