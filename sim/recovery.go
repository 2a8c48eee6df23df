package sim

import "time"

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

// recoveryWindow is how long every bucket of caller requests must succeed
// on their first attempt before a run counts as recovered.
const recoveryWindow = 5 * time.Second

// recoveredShare is the share of a bucket's caller requests that must
// succeed on their first attempt.
const recoveredShare = 0.99

// recovery returns the first bucket k such that, in each of buckets k to
// k+w−1, at least 99% of the caller requests that arrived in it succeeded
// on their first attempt (a bucket where none arrived passes); false if no
// such window fits. This is the time to recover at the
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
