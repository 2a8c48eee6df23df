package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/retrykit/retry"
)

// herdBucket is the width of the herd-peak buckets.
const herdBucket = int64(100 * time.Millisecond)

// The latency histogram: 1 ms bins up to a minute, then 100 ms bins up to
// an hour; longer latencies count in the last bin.
const (
	latencyFine = 60_000                          // ms covered by 1 ms bins
	latencyBins = latencyFine + 3_540_000/100 + 1 // and by 100 ms bins, to an hour
)

// latencyBin returns the bin of a latency in ms.
func latencyBin(ms int64) int {
	if ms < latencyFine {
		return int(ms)
	}
	return min(latencyFine+int((ms-latencyFine)/100), latencyBins-1)
}

// latencyEdge returns the upper edge of bin i, in ms.
func latencyEdge(i int) float64 {
	if i < latencyFine {
		return float64(i + 1)
	}
	return float64(latencyFine + (i-latencyFine+1)*100)
}

// metrics accumulates a run's counts. Its memory is bounded by the length
// of the run in buckets, never by the number of requests.
type metrics struct {
	bucket, trigStart, trigEnd, horizon int64

	cur    Sample // the open bucket, as counts
	series []Sample
	herd   peak    // attempts per 100 ms after the trigger ended
	herd10 peak    // and per 10 ms
	lat    []int64 // successful requests' latency, 1 ms bins
	latAll []int64 // every ended request's time to its outcome, the same bins

	// Caller requests arriving in each bucket from the trigger's end on
	// (buckets aligned at the trigger's end), and of those, the ones that
	// succeeded on their first attempt: the cohorts of the time to recover.
	cohort, cohortOK []int64

	trigLogical, trigAttempts int64
	sum                       Summary
}

func (m *metrics) init(horizon, bucket, trigStart, trigEnd int64) {
	m.bucket, m.trigStart, m.trigEnd, m.horizon = bucket, trigStart, trigEnd, horizon
	m.series = make([]Sample, 0, horizon/bucket+1)
	m.herd = peak{width: herdBucket, idx: -1}
	m.herd10 = peak{width: herdBucket / 10, idx: -1}
	m.lat = make([]int64, latencyBins)
	m.latAll = make([]int64, latencyBins)
	m.cohort = make([]int64, (horizon-trigEnd)/bucket)
	m.cohortOK = make([]int64, len(m.cohort))
}

// cohortOf returns the recovery bucket of a request that arrived at t, or
// -1 before the trigger's end or past the last whole bucket.
func (m *metrics) cohortOf(t int64) int {
	if t < m.trigEnd {
		return -1
	}
	if i := (t - m.trigEnd) / m.bucket; i < int64(len(m.cohort)) {
		return int(i)
	}
	return -1
}

// firstTryOK counts a caller request that arrived at start and succeeded
// on its first attempt.
func (m *metrics) firstTryOK(start int64) {
	if i := m.cohortOf(start); i >= 0 {
		m.cohortOK[i]++
	}
}

// peak tracks the most events in any bucket of width, from events counted
// in time order, in constant memory.
type peak struct {
	width, idx, n, max int64
}

// add counts an event at t, nanoseconds after the peak's origin.
func (p *peak) add(t int64) {
	if i := t / p.width; i != p.idx {
		p.idx, p.n = i, 0
	}
	p.n++
	p.max = max(p.max, p.n)
}

// MaxBuckets is the most time buckets a run's series may hold: a finer
// Bucket or a longer run is an error, not an exhausted memory.
const MaxBuckets = 1_000_000

// maxSpan bounds every duration that places events on a run's timeline
// (trigger start and length, the time after it), so that their sum stays
// far from overflowing.
const maxSpan = 100_000 * time.Hour

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
	return fmt.Errorf("%w: sim: %s.%s makes %d time buckets of %v over a run of %v, more than MaxBuckets (%d): raise Bucket or shorten After",
		retry.ErrInvalidConfig, scenario, field, n, bucket, horizon, MaxBuckets)
}

func (m *metrics) inTrigger(t int64) bool { return t >= m.trigStart && t < m.trigEnd }

func (m *metrics) logical(now int64) {
	m.sum.Logical++
	if i := m.cohortOf(now); i >= 0 {
		m.cohort[i]++
	}
	if m.inTrigger(now) {
		m.trigLogical++
	}
}

// sent counts an attempt leaving its client.
func (m *metrics) sent(now int64, first bool) {
	if first {
		m.sum.FirstTry++
	}
}

// offered counts an attempt reaching the server.
func (m *metrics) offered(now int64, first bool) {
	m.sum.Attempts++
	m.cur.Offered++
	if first {
		m.cur.FirstTry++
	}
	if m.inTrigger(now) {
		m.trigAttempts++
	}
	if now >= m.trigEnd {
		m.herd.add(now - m.trigEnd)
		m.herd10.add(now - m.trigEnd)
	}
}

func (m *metrics) served(now int64, useful bool) {
	m.sum.Served++
	m.cur.Served++
	if !useful {
		m.sum.Wasted++
	}
}

// finished counts a caller request that ended after latency.
func (m *metrics) finished(now, latency int64, ok bool) {
	m.latAll[latencyBin(latency/int64(time.Millisecond))]++
	if !ok {
		m.sum.Failed++
		m.cur.Failed++
		return
	}
	m.sum.Succeeded++
	m.cur.Goodput++
	m.lat[latencyBin(latency/int64(time.Millisecond))]++
}

// close ends the bucket that ends at now.
func (m *metrics) close(now int64, queued int, tokens float64, open int) {
	s := m.cur
	per := float64(time.Second) / float64(m.bucket)
	s.T = seconds(now - m.bucket)
	s.Offered *= per
	s.FirstTry *= per
	s.Served *= per
	s.Goodput *= per
	s.Failed *= per
	s.Queue, s.Tokens, s.BreakersOpen = queued, tokens, open
	m.series = append(m.series, s)
	m.cur = Sample{}
}

// summarise computes the derived figures; rate is the arrival rate, the
// baseline when no bucket before the trigger can give one.
func (m *metrics) summarise(rate float64) Summary {
	s := m.sum
	s.Horizon, s.TriggerEnd, s.TriggerLength = seconds(m.horizon), seconds(m.trigEnd), seconds(m.trigEnd-m.trigStart)
	if s.FirstTry > 0 {
		s.Amplification = float64(s.Attempts) / float64(s.FirstTry)
	}
	for _, b := range m.series {
		if b.FirstTry > 0 {
			s.AmplificationPeak = max(s.AmplificationPeak, b.Offered/b.FirstTry)
		}
	}
	if m.trigLogical > 0 {
		s.AmplificationTrigger = float64(m.trigAttempts) / float64(m.trigLogical)
	}
	if s.Horizon > 0 {
		s.Goodput = float64(s.Succeeded) / s.Horizon
	}
	if n := s.Succeeded + s.Failed; n > 0 {
		s.SuccessRate = float64(s.Succeeded) / float64(n)
	}
	s.LatencyP50, s.LatencyP90, s.LatencyP99 = percentile(m.lat, s.Succeeded, 0.5), percentile(m.lat, s.Succeeded, 0.9), percentile(m.lat, s.Succeeded, 0.99)
	ended := s.Succeeded + s.Failed
	s.OutcomeP50, s.OutcomeP90, s.OutcomeP99 = percentile(m.latAll, ended, 0.5), percentile(m.latAll, ended, 0.9), percentile(m.latAll, ended, 0.99)
	s.HerdPeak, s.HerdPeak10ms = m.herd.max, m.herd10.max
	s.BaselineGoodput = m.baseline(rate)
	s.RecoverySeconds = -1
	if k, ok := recovery(m.cohort, m.cohortOK, int(max(int64(recoveryWindow)/m.bucket, 1))); ok {
		s.Recovered, s.RecoverySeconds = true, roundMs(seconds(int64(k)*m.bucket))
	}
	return s
}

// baseline is the mean goodput of the whole buckets before the trigger,
// the first excepted (the fleet is warming up); rate if there are none.
func (m *metrics) baseline(rate float64) float64 {
	var sum float64
	n := 0
	for i, b := range m.series {
		end := int64(i+1) * m.bucket
		if i == 0 || end > m.trigStart {
			continue
		}
		sum += b.Goodput
		n++
	}
	if n == 0 {
		return rate
	}
	return sum / float64(n)
}

// recoveryWindow is how long every bucket of caller requests must succeed
// on their first attempt before a run counts as recovered.
const recoveryWindow = 5 * time.Second

// recoveredShare is the share of a bucket's caller requests that must
// succeed on their first attempt.
const recoveredShare = 0.99

// recovery returns the first bucket k such that, in each of buckets k to
// k+w−1, at least 99% of the caller requests that arrived in it succeeded
// on their first attempt (a bucket where none arrived passes); false if no
// such window fits. This is the R of the simulation spec, at the
// resolution of the buckets: every bucket must pass, so one bad bucket
// cannot hide in an average.
func recovery(n, ok []int64, w int) (int, bool) {
	run := 0 // buckets passing in a row, ending at i
	for i := range n {
		if float64(ok[i]) >= recoveredShare*float64(n[i]) {
			run++
		} else {
			run = 0
		}
		if run == w {
			return i - w + 1, true
		}
	}
	return 0, false
}

// percentile returns the p-quantile of the n latencies counted in h, in
// ms (the upper edge of its bin: 1 ms wide below a minute, 100 ms to an
// hour), or 0 when n is 0. Beyond an hour it returns the hour.
func percentile(h []int64, n int64, p float64) float64 {
	if n == 0 {
		return 0
	}
	rank := int64(math.Ceil(p * float64(n)))
	var acc int64
	for i, c := range h {
		acc += c
		if acc >= rank {
			return latencyEdge(i)
		}
	}
	return latencyEdge(latencyBins - 1)
}

// roundMs rounds seconds to whole milliseconds.
func roundMs(s float64) float64 { return math.Round(s*1000) / 1000 }
