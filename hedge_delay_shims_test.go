package retry

import "time"

// HedgeDelayObserved returns the latencies d counts, by the middle of
// their bucket (the estimator keeps nothing finer): what the tests of the
// engine compare with what DoHedged observes.
func HedgeDelayObserved(d *HedgeDelay) map[time.Duration]int {
	seen := map[time.Duration]int{}
	for w := range d.buckets {
		for i := range d.buckets[w] {
			if n := d.buckets[w][i].Load(); n > 0 {
				seen[delayMiddle(i)] += int(n)
			}
		}
	}
	return seen
}
