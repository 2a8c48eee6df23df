package sim

import (
	"errors"
	"math"
	"math/rand/v2"
	"time"

	"github.com/retrykit/retry"
)

// OCC is the calibration scenario of Marc Brooker's "Exponential Backoff
// And Jitter" (AWS Architecture Blog, 2015), ported event for event from
// his simulator: Clients clients, all started at time 0, each update one
// row of a remote database once with optimistic concurrency control. An
// attempt is four network hops, each |N(10 ms, 2 ms)|: read the row's
// version, the reply, write with the version read, the reply. The write
// succeeds, and bumps the version, only if nobody wrote in between;
// otherwise the client's policy decides the wait, and the next attempt
// starts one hop plus that wait later. Only writes count as calls.
//
// One random stream, PCG seeded with (Seed, 0x9e3779b97f4a7c15), serves the
// network and the policy, consumed in event order as in Brooker's code.
type OCC struct {
	Clients   int    // contending clients, 1 to MaxClients
	Trials    int    // runs averaged; 0 means 100, as Brooker's table
	Seed      uint64 // seed of the random stream
	MaxEvents int64  // stop with an error past this many events; 0 means DefaultMaxEvents
}

// OCCResult is the mean over the trials of an [OCC] run.
type OCCResult struct {
	Clients int           `json:"clients"`
	Trials  int           `json:"trials"`
	Calls   float64       `json:"calls"`   // writes per trial, Brooker's "calls"
	Time    time.Duration `json:"time_ns"` // time of the last success, Brooker's "time"
	Peak    float64       `json:"peak"`    // most writes in one 10 ms bucket after 200 ms, per trial
	GaveUp  float64       `json:"gave_up"` // clients per trial whose policy stopped before they wrote
}

// errConflict is the failed OCC write: someone else wrote first.
var errConflict = errors.New("sim: write conflict (version changed)")

const (
	occRead uint8 = iota
	occReadReply
	occWrite
	occWriteReply
)

type occClient struct {
	c       client
	pr      retry.Progress
	version int64
	done    bool
}

// Run simulates the scenario with the fleet's policy.
func (s OCC) Run(f Fleet) (OCCResult, error) {
	switch {
	case s.Clients < 1 || s.Clients > MaxClients:
		return OCCResult{}, checkCount("OCC.Clients", s.Clients, 1, MaxClients)
	case s.Trials < 0:
		return OCCResult{}, fieldError("OCC.Trials", "must not be negative, got %d", s.Trials)
	case s.MaxEvents < 0:
		return OCCResult{}, fieldError("OCC.MaxEvents", "must not be negative, got %d", s.MaxEvents)
	}
	if s.Trials == 0 {
		s.Trials = 100
	}
	limit := cmpOr(s.MaxEvents, DefaultMaxEvents)
	r := rand.New(rand.NewPCG(s.Seed, 0x9e3779b97f4a7c15))
	res := OCCResult{Clients: s.Clients, Trials: s.Trials}
	var q queue
	cl := make([]occClient, s.Clients)
	var total time.Duration
	var calls, peaks, gaveUp int64
	buckets := map[int64]int64{}
	for range s.Trials {
		cs, err := f.clients(s.Clients, r)
		if err != nil {
			return OCCResult{}, err
		}
		for i := range cl {
			cl[i] = occClient{c: cs[i]}
		}
		clear(buckets)
		q = queue{done: q.done} // drop waits to the end of time left by the trial before
		var version, last int64
		hop := func() int64 { return int64(math.Abs(r.NormFloat64()*2+10) * float64(time.Millisecond)) }
		for i := range cl {
			_, pr, err := cl[i].c.p.Begin(bg, retry.Progress{}, vt(0))
			if err != nil {
				gaveUp++
				continue
			}
			cl[i].pr = pr
			q.push(hop(), occRead, int32(i), 0)
		}
		for q.len() > 0 && q.first().at < never {
			if err := q.check(limit); err != nil {
				return OCCResult{}, err
			}
			e := q.pop()
			c := &cl[e.ref]
			now := e.at
			last = now
			switch e.kind {
			case occRead:
				if e.gen == 1 { // a retry starts: ask for admission now
					_, pr, err := c.c.p.Begin(bg, c.pr, vt(now))
					if err != nil {
						gaveUp++
						continue
					}
					c.pr = pr
				}
				c.version = version
				q.push(now+hop(), occReadReply, e.ref, 0)
			case occReadReply:
				q.push(now+hop(), occWrite, e.ref, 0)
			case occWrite:
				calls++
				if now >= 200*int64(time.Millisecond) {
					buckets[now/int64(10*time.Millisecond)]++
				}
				if c.version == version {
					version++
					c.done = true
				}
				q.push(now+hop(), occWriteReply, e.ref, 0)
			case occWriteReply:
				if c.done {
					c.c.p.Succeeded(bg, c.pr, vt(now))
					continue
				}
				h := hop()
				v := c.c.p.Failed(bg, c.pr, errConflict, vt(now))
				if v.Err != nil {
					gaveUp++
					continue
				}
				c.pr = v.Next
				q.push(later(now+h, v.Wait), occRead, e.ref, 1)
			}
		}
		total += time.Duration(last)
		var peak int64
		for _, n := range buckets {
			peak = max(peak, n)
		}
		peaks += peak
	}
	n := float64(s.Trials)
	res.Calls = float64(calls) / n
	res.Time = total / time.Duration(s.Trials)
	res.Peak = float64(peaks) / n
	res.GaveUp = float64(gaveUp) / n
	return res, nil
}
