package sim

import "time"

// herdBucket is the width of the herd-peak buckets.
const herdBucket = int64(100 * time.Millisecond)

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
	arrivedAfter     int64 // caller requests arriving from the trigger's end on

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

func (m *metrics) inTrigger(t int64) bool { return t >= m.trigStart && t < m.trigEnd }

func (m *metrics) logical(now int64) {
	if now >= m.trigEnd {
		m.arrivedAfter++
	}
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

// current returns when the bucket being filled ends.
func (m *metrics) current() int64 { return int64(len(m.series)+1) * m.bucket }

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
	s.Bucket = seconds(m.bucket)
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
	// Recovery is measured on the requests arriving after the trigger.
	s.NothingToRecover = m.arrivedAfter == 0
	s.RecoverySeconds = -1
	if k, ok := recovery(m.cohort, m.cohortOK, int(max(int64(recoveryWindow)/m.bucket, 1))); ok && !s.NothingToRecover {
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
