package sim

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/retrykit/retry"
)

// Herd is a synchronised outage and the herd at recovery: Clients
// clients each send one caller request at time 0; the server answers every
// attempt with an instant 503 until Outage ends, then admits up to Rate
// attempts per second (a token bucket holding Burst) and answers the
// excess with an instant 503. Each hop takes |N(Hop, Hop/5)|. With
// RetryAfter, the 503s carry a hint: during the outage the time left,
// rounded up to whole seconds (every client told the same instant), and
// 1s when over the rate. Clients retry as their policy says; the run ends
// when all are done or After has passed since the outage.
//
// The herd is the clients still trying after the outage: those whose
// attempts reach the server once it is over. The Result's RecoverySeconds
// is the time from the outage's end until the last of them succeeded
// (Recovered: every one did; not if the recovered server turned one away
// until it gave up, its policy refused it a retry after the outage, or it
// still tried at the horizon). A client whose last attempt met the outage
// gave up because of the outage, not a failed recovery; NothingToRecover
// reports that there was no herd at all. HerdPeak is the most attempts in any
// 100 ms after the outage.
//
// One random stream, PCG seeded with (Seed, 0x68657264), serves the network
// and the policies' jitter.
type Herd struct {
	Clients    int           // 1 to MaxClients
	Outage     time.Duration // in [0, MaxSpan]
	Rate       float64       // attempts admitted per second after the outage, > 0
	Burst      float64       // token bucket size, >= 1
	Hop        time.Duration // mean one-way network time, in [0, MaxSpan]
	RetryAfter bool
	After      time.Duration // simulated after the outage, at most MaxSpan; 0 means 120s
	Bucket     time.Duration // series resolution, at most MaxSpan and MaxBuckets buckets; 0 means 100ms
	Seed       uint64
	MaxEvents  int64 // 0 means DefaultMaxEvents
}

const (
	herdAtServer uint8 = iota
	herdReplyOK
	herdReplyDown
	herdReplyFull
	herdRetry
	herdTick
)

func (s *Herd) check() error {
	switch {
	case s.Clients < 1 || s.Clients > MaxClients:
		return checkCount("Herd.Clients", s.Clients, 1, MaxClients)
	case !(s.Rate > 0) || math.IsInf(s.Rate, 0):
		return fieldError("Herd.Rate", "must be a positive number per second, got %v", s.Rate)
	case !(s.Burst >= 1) || math.IsInf(s.Burst, 0):
		return fieldError("Herd.Burst", "must be >= 1, got %v", s.Burst)
	case s.MaxEvents < 0:
		return fieldError("Herd.MaxEvents", "must not be negative, got %d", s.MaxEvents)
	}
	for _, d := range []struct {
		field string
		d     time.Duration
	}{{"Herd.Outage", s.Outage}, {"Herd.Hop", s.Hop}, {"Herd.After", s.After}, {"Herd.Bucket", s.Bucket}} {
		if err := checkDuration(d.field, d.d); err != nil {
			return err
		}
	}
	return nil
}

// Run simulates the herd with the fleet.
func (s Herd) Run(f Fleet) (Result, error) {
	if err := s.check(); err != nil {
		return Result{}, err
	}
	bucketSet := s.Bucket != 0
	s.After = cmpOr(s.After, 120*time.Second)
	s.Bucket = cmpOr(s.Bucket, 100*time.Millisecond)
	if err := checkSpan("Herd", s.Outage+s.After, s.Bucket, bucketSet); err != nil {
		return Result{}, err
	}
	r := rand.New(rand.NewPCG(s.Seed, 0x68657264))
	cs, err := f.clients(s.Clients, r)
	if err != nil {
		return Result{}, err
	}
	var (
		q       queue
		m       metrics
		prs     = make([]retry.Progress, s.Clients)
		end     = int64(s.Outage)
		horizon = end + int64(s.After)
		bucket  = int64(s.Bucket)
		tokens  = s.Burst
		last    = end
		left    = s.Clients
		lastOK  int64
		lost    int // clients that gave up after the outage, turned away or refused a retry
		reached int // attempts reaching the server after the outage
		limit   = cmpOr(s.MaxEvents, DefaultMaxEvents)
	)
	m.init(horizon, bucket, 0, end)
	hop := func() int64 {
		return int64(math.Abs(r.NormFloat64()*float64(s.Hop)/5 + float64(s.Hop)))
	}
	send := func(i int32, now int64) {
		_, pr, err := cs[i].p.Begin(bg, prs[i], vt(now))
		if err != nil {
			m.finished(now, now, false)
			left--
			lost += b2i(now >= end)
			return
		}
		prs[i] = pr
		m.sent(now, pr.Attempts == 1)
		q.push(now+hop(), herdAtServer, i, uint32(pr.Attempts))
	}
	for i := range cs {
		m.logical(0)
		send(int32(i), 0)
	}
	q.push(bucket, herdTick, -1, 0)
	for q.len() > 0 && q.first().at < horizon && left > 0 {
		if err := q.check(limit); err != nil {
			return Result{}, err
		}
		e := q.pop()
		now := e.at
		switch e.kind {
		case herdAtServer:
			m.offered(now, e.gen == 1)
			reached += b2i(now >= end)
			switch {
			case now < end:
				q.push(now+hop(), herdReplyDown, e.ref, 0)
			default:
				tokens = min(s.Burst, tokens+seconds(now-last)*s.Rate)
				last = now
				if tokens >= 1 {
					tokens--
					m.served(now, true)
					q.push(now+hop(), herdReplyOK, e.ref, 0)
				} else {
					q.push(now+hop(), herdReplyFull, e.ref, 0)
				}
			}
		case herdReplyOK:
			cs[e.ref].p.Succeeded(bg, prs[e.ref], vt(now))
			m.finished(now, now, true)
			left--
			lastOK = now
		case herdReplyDown, herdReplyFull:
			err := ErrUnavailable
			if e.kind == herdReplyFull {
				err = ErrOverloaded
			}
			if s.RetryAfter {
				d := time.Second
				if e.kind == herdReplyDown {
					d = time.Duration(ceilSeconds(end - (now - int64(s.Hop))))
				}
				err = retry.After(d, err)
			}
			v := cs[e.ref].p.Failed(bg, prs[e.ref], err, vt(now))
			if v.Err != nil {
				m.finished(now, now, false)
				left--
				lost += b2i(e.kind == herdReplyFull) // turned away by the recovered server
				continue
			}
			prs[e.ref] = v.Next
			q.push(later(now, v.Wait), herdRetry, e.ref, 0)
		case herdRetry:
			send(e.ref, now)
		case herdTick:
			m.close(now, 0, fleetTokens(cs, now), fleetNotClosed(cs, now))
			q.push(now+bucket, herdTick, -1, 0)
		}
	}
	if end := m.current(); end <= horizon {
		// The bucket of the last event: the run may end before the
		// horizon, when every client is done.
		m.close(end, 0, fleetTokens(cs, end), fleetNotClosed(cs, end))
	}
	res := Result{Scenario: "herd", Seed: s.Seed, Series: m.series}
	m.sum.InFlight = int64(left)
	m.sum.Refused = fleetRefused(cs)
	m.sum.Clients = s.Clients
	m.sum.Events = int64(q.done)
	res.Summary = m.summarise(0)
	res.Summary.NothingToRecover = reached == 0 && lost == 0
	res.Summary.Recovered = left == 0 && lost == 0 && !res.Summary.NothingToRecover
	res.Summary.RecoverySeconds = -1
	if res.Summary.Recovered {
		res.Summary.RecoverySeconds = roundMs(seconds(max(lastOK-end, 0)))
	}
	return res, nil
}

// b2i is 1 for true and 0 for false.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
