package sim

import (
	"math"
	"time"
)

// MaxFanOut is the widest fan-out of a [Tail] user request.
const MaxFanOut = 10_000

// Tail is the latency-tail scenario of Dean and Barroso's "The Tail at
// Scale" (CACM 2013): user requests arrive (Poisson, Rate per second) and
// each fans out to FanOut calls at once; a user request is as slow as its
// slowest call. One client makes every call, with the fleet's policy (its
// own budget and breaker when the Fleet gives them), and may hedge them
// ([Hedge]). The calls go to a server of Workers workers and one FIFO
// queue without bound, Hop away each way.
//
// An attempt's service time is heavy-tailed: lognormal with median Median
// and shape Sigma, and with probability Stragglers a straggler, that many
// times longer again, the factor uniform in [SlowMin, SlowMax]. Each
// attempt draws its own: a straggler is a property of one attempt (a
// pause, a busy replica), not of the request, so a hedge of a straggling
// call usually runs at the body's speed.
//
// From BrownoutStart for BrownoutLength every attempt a worker starts
// takes Slowdown times its draw: the dependency is slow for everyone.
//
// Every attempt succeeds. The server does the work of every copy it
// receives, the losers' included: a client's cancellation does not reach
// it (as a timed-out request in [Open]), so a hedge costs the server what
// a request costs. A hedge is admitted by the client's policy as
// [retry.DoHedged] admits one, through [retry.Policy.Hedge] (the run
// derives a policy that hedges with [retry.Policy.With], keeping the
// client's budget and breaker): the policy's attempt limit counts it, a
// budget charges it RetryCost, and a breaker admits it (giving the budget
// its tokens back when it refuses); the winner is reported with Succeeded
// (the budget's deposit, the breaker's success) and the cancelled losers
// with Failed under a done context, which counts them as nothing.
//
// Two random streams, PCG seeded with (Seed, 0x7461696c) for arrivals and
// service times and (Seed, 0x706f6c) for the policy's jitter, are consumed
// in event order.
type Tail struct {
	Requests int           // user requests, 1 up to what the event limit processes
	FanOut   int           // calls per user request, 1 to MaxFanOut
	Rate     float64       // user requests per second, > 0
	Workers  int           // server workers, 1 to MaxPending
	Median   time.Duration // median service time of the lognormal body, in (0, MaxSpan]
	Sigma    float64       // shape of the body's lognormal, in [0, 4]
	// Stragglers is the probability that an attempt straggles, in [0, 1].
	Stragglers float64
	// SlowMin and SlowMax bound a straggler's factor, 1 <= SlowMin <=
	// SlowMax <= 1e6; a straggler takes its body draw times a factor
	// uniform in [SlowMin, SlowMax].
	SlowMin, SlowMax float64
	Hop              time.Duration // one-way network time, in [0, MaxSpan]
	// BrownoutStart and BrownoutLength place the brownout, in [0,
	// MaxSpan]; a zero BrownoutLength means none.
	BrownoutStart, BrownoutLength time.Duration
	// Slowdown multiplies the service time of the attempts started during
	// the brownout, in [1, 1e6]; 0 means 1.
	Slowdown float64
	// Bucket is the resolution of the time series, at most MaxSpan and
	// making at most MaxBuckets buckets over the run; 0 means 1s.
	Bucket    time.Duration
	Seed      uint64
	MaxEvents int64 // stop with an error past this many events; 0 means DefaultMaxEvents
}

// LatencyTail returns the scenario of the hedging checks: 20,000 user
// requests of 100 calls each, 125 per second, on 100 workers whose service
// time is lognormal (median 2 ms, σ 0.5: mean 2.3 ms, p95 4.6 ms, p99.9
// 9.4 ms) with 0.1% stragglers 10 to 100 times slower (mean 2.4 ms in all,
// a utilisation of 0.30), no hop and no brownout.
func LatencyTail() Tail {
	return Tail{Requests: 20_000, FanOut: 100, Rate: 125, Workers: 100, Median: 2 * time.Millisecond, Sigma: 0.5,
		Stragglers: 0.001, SlowMin: 10, SlowMax: 100}
}

// Brownout returns [LatencyTail] with a brownout: from 40 s to 100 s every
// attempt takes 2.5 times as long (a utilisation of 0.75 without hedges,
// 1.5 if every call is hedged once).
func Brownout() Tail {
	t := LatencyTail()
	t.BrownoutStart, t.BrownoutLength, t.Slowdown = 40*time.Second, 60*time.Second, 2.5
	return t
}

// MeanService returns the mean service time of an attempt outside a
// brownout: the lognormal's mean, exp(σ²/2) times the median, times 1 +
// Stragglers·((SlowMin+SlowMax)/2 − 1).
func (s Tail) MeanService() time.Duration {
	body := float64(s.Median) * math.Exp(s.Sigma*s.Sigma/2)
	return time.Duration(body * (1 + s.Stragglers*((s.SlowMin+s.SlowMax)/2-1)))
}

// Utilisation returns the fraction of the workers' time the calls' first
// attempts need outside a brownout: Rate·FanOut·MeanService/Workers.
func (s Tail) Utilisation() float64 {
	return s.Rate * float64(s.FanOut) * s.MeanService().Seconds() / float64(s.Workers)
}

func (s *Tail) check() error {
	limit := cmpOr(s.MaxEvents, DefaultMaxEvents)
	switch {
	case s.FanOut < 1 || s.FanOut > MaxFanOut:
		return checkCount("Tail.FanOut", s.FanOut, 1, MaxFanOut)
	case s.Requests < 1 || float64(s.Requests)*float64(s.FanOut) > float64(limit):
		return fieldError("Tail.Requests", "must be at least 1, and make at most the event limit (%d) of calls at FanOut %d, got %d", limit, s.FanOut, s.Requests)
	case !(s.Rate > 0) || math.IsInf(s.Rate, 0):
		return fieldError("Tail.Rate", "must be a positive number of user requests per second, got %v", s.Rate)
	case float64(s.Requests)/s.Rate > MaxSpan.Seconds():
		return fieldError("Tail.Rate", "of %g spreads %d user requests over more than a run spans (%v)", s.Rate, s.Requests, MaxSpan)
	case s.Workers < 1 || s.Workers > MaxPending:
		return checkCount("Tail.Workers", s.Workers, 1, MaxPending)
	case s.Median <= 0 || s.Median > MaxSpan:
		return fieldError("Tail.Median", "must be in (0, %v], got %v", MaxSpan, s.Median)
	case !(s.Sigma >= 0 && s.Sigma <= 4):
		return fieldError("Tail.Sigma", "must be in [0, 4], got %v", s.Sigma)
	case !(s.Stragglers >= 0 && s.Stragglers <= 1):
		return fieldError("Tail.Stragglers", "must be in [0, 1], got %v", s.Stragglers)
	case !(s.SlowMin >= 1 && s.SlowMin <= 1e6):
		return fieldError("Tail.SlowMin", "must be in [1, 1e6], got %v", s.SlowMin)
	case !(s.SlowMax >= s.SlowMin && s.SlowMax <= 1e6):
		return fieldError("Tail.SlowMax", "must be in [%v, 1e6] (from the least factor up), got %v", s.SlowMin, s.SlowMax)
	case s.Slowdown != 0 && !(s.Slowdown >= 1 && s.Slowdown <= 1e6):
		return fieldError("Tail.Slowdown", "must be in [1, 1e6], or 0 for 1, got %v", s.Slowdown)
	case s.MaxEvents < 0:
		return fieldError("Tail.MaxEvents", "must not be negative, got %d", s.MaxEvents)
	}
	for _, d := range []struct {
		field string
		d     time.Duration
	}{{"Tail.Hop", s.Hop}, {"Tail.BrownoutStart", s.BrownoutStart}, {"Tail.BrownoutLength", s.BrownoutLength}, {"Tail.Bucket", s.Bucket}} {
		if err := checkDuration(d.field, d.d); err != nil {
			return err
		}
	}
	// The longest service time a run can draw (its normal draw is clamped
	// at 8σ) must fit MaxSpan.
	if worst := float64(s.Median) * math.Exp(8*s.Sigma) * s.SlowMax * cmpOr(s.Slowdown, 1); worst > float64(MaxSpan) {
		return fieldError("Tail.Median", "of %v with Sigma %g, SlowMax %g and Slowdown %g makes service times beyond a run's span (%v)",
			s.Median, s.Sigma, s.SlowMax, cmpOr(s.Slowdown, 1), MaxSpan)
	}
	return nil
}

// TailResult is what one [Tail] run measured. Latencies are in
// milliseconds, to three significant figures (the upper edge of a 1%-wide
// bin); shares are percentages.
type TailResult struct {
	Label string `json:"label"` // what the run shows, for tables and charts
	Seed  uint64 `json:"seed"`
	Hedge string `json:"hedge"` // the Hedge, as its String

	Requests int64 `json:"requests"` // user requests, every one ended
	Calls    int64 `json:"calls"`    // calls made, FanOut per user request
	Attempts int64 `json:"attempts"` // attempts sent: the calls' first and their hedges
	Hedges   int64 `json:"hedges"`   // further copies sent
	// Refused counts hedges the policy did not admit (attempt limit,
	// budget, breaker); RefusedBudget those of them its budget refused.
	Refused       int64 `json:"refused"`
	RefusedBudget int64 `json:"refused_budget"`
	Failed        int64 `json:"failed"` // calls whose first attempt the policy refused (a breaker)
	// Wins counts the calls a hedge won.
	Wins int64 `json:"wins"`

	// ExtraPercent is 100·Hedges/Calls: the extra requests hedging sent.
	ExtraPercent float64 `json:"extra_pct"`
	// Load is the attempts per call: 1 without hedges.
	Load float64 `json:"load"`
	// BrownoutLoad is Load over the calls that started during the brownout
	// (0 without one).
	BrownoutLoad float64 `json:"brownout_load"`
	// Utilisation is the fraction of the workers' time spent serving,
	// losers included, from the first arrival to the last answer.
	Utilisation float64 `json:"utilisation"`
	// Wasted is the percentage of the workers' busy time spent on copies
	// whose call had already ended when they finished.
	Wasted float64 `json:"wasted_pct"`

	RequestP50  float64 `json:"request_p50_ms"` // user requests: the slowest of their calls
	RequestP99  float64 `json:"request_p99_ms"`
	RequestP999 float64 `json:"request_p999_ms"`
	CallP50     float64 `json:"call_p50_ms"` // single calls: the first copy to answer
	CallP99     float64 `json:"call_p99_ms"`
	CallP999    float64 `json:"call_p999_ms"`
	// BrownoutP99 is the p99 of the user requests that started during the
	// brownout (0 without one).
	BrownoutP99 float64 `json:"brownout_p99_ms"`
	// MaxQueue is the longest the server's queue was.
	MaxQueue int `json:"max_queue"`

	Series []TailSample `json:"series"`
}

// TailSample is one bucket of a Tail run's time series.
type TailSample struct {
	T        float64 `json:"t"`        // start of the bucket, seconds
	Calls    float64 `json:"calls"`    // calls started per second
	Attempts float64 `json:"attempts"` // attempts sent per second
	Load     float64 `json:"load"`     // Attempts / Calls, 0 when no call started
	Queue    int     `json:"queue"`    // server queue at the bucket's end
	MeanMs   float64 `json:"mean_ms"`  // mean latency of the user requests ending in the bucket
	Brownout bool    `json:"brownout"` // the bucket starts during the brownout
}
