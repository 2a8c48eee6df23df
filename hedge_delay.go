package retry

import (
	"fmt"
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// The adaptive hedge delay: a quantile of recent latencies, in bounded
// memory, lock-free.

// A HedgeDelay learns a hedge delay from the latencies of a dependency's
// calls: the q-quantile (such as the 95th percentile) of the most recent
// ones. Attach it to a policy with [WithAdaptiveHedge], whose calls feed
// it, through [DoHedged] or the decision engine ([Policy.Hedge]): the
// latency of every attempt that succeeds, and that of a copy cancelled
// because another won, once it ran for the delay (a lower bound of its
// latency: dropping the slow copies the hedges cut short would bias the
// delay down); failures are not fed. [HedgeDelay.Observe] feeds it by
// hand, for latencies no policy with it sees.
//
// Choose q so that 1−q is above the share of calls that are slow (those
// a hedge should rescue): when more than 1−q of the calls outlast the
// delay, the q-quantile falls among the losers' lower bounds, which are
// the delay itself, and the delay stays where it is instead of coming
// down to the fast calls' latencies (at p95 with 6% of calls slow, a
// delay learned high early holds there). A [Budget] on the same policy
// bounds what such a delay costs.
//
// The estimator counts latencies in log-linear buckets, 32 per power of
// two from 1.024µs to 18.3 minutes (shorter latencies count as the
// first bucket, longer ones as the last): the delay it reports is the
// middle of the bucket that holds the q-quantile of the latencies it
// counts, within 1/64 (1.6%) of that latency. It counts the latest
// Window to 2×Window latencies, in two windows of Window latencies each
// (Window is 1024, or 10/(1−q) when that is larger): when a window fills,
// the oldest is dropped, so a shift of the distribution is followed after
// one to two windows of new latencies. Until it has seen WarmUp latencies
// (10/(1−q), at least 64: enough that ten of them lie above the quantile)
// it reports the initial delay. The delay is computed again every
// Window/16 latencies, by the goroutine whose latency completes the
// count, and [HedgeDelay.Delay] reads it with one atomic load.
//
// Its memory is fixed (three windows of 960 uint32 counters: 11,576
// bytes in all). A HedgeDelay
// is safe for concurrent use: Observe and Delay take no lock (atomic
// additions and loads). Share one among the calls to one dependency. The
// zero HedgeDelay is not usable: make one with [NewHedgeDelay].
type HedgeDelay struct {
	q       float64
	initial time.Duration
	window  uint64 // latencies per window
	warm    uint64 // latencies before the estimate replaces initial
	every   uint64 // latencies between two estimates
	count   atomic.Uint64
	// est is the latest estimate and the count it was made at, in one
	// word (count<<delayCodeBits | code; code 0 is the initial delay, i+1
	// the middle of bucket i), so that an estimate made late, by a
	// goroutine preempted while it read the windows, never replaces a
	// newer one.
	est     atomic.Uint64
	buckets [3][delayBuckets]atomic.Uint32
}

const (
	delaySubBits  = 5  // 32 buckets per power of two
	delayMinShift = 10 // the first bucket ends at 2^10 ns
	delayOctaves  = 30 // up to 2^40 ns, 18.3 minutes
	delayBuckets  = delayOctaves << delaySubBits
	delayWindow   = 1024 // latencies per window, at least
	delayMinWarm  = 64
	delayCodeBits = 10 // an estimate's code: 0, or a bucket's index + 1
)

// NewHedgeDelay returns an estimator of the quantile q of recent
// latencies, in (0, 1) (0.95 for the 95th percentile), which reports
// initial until it has seen enough latencies (see [HedgeDelay]). A q
// outside (0, 1), NaN, or an initial delay that is not positive returns
// an error wrapping [ErrInvalidConfig].
func NewHedgeDelay(q float64, initial time.Duration) (*HedgeDelay, error) {
	switch {
	case math.IsNaN(q) || q <= 0 || q >= 1:
		return nil, fmt.Errorf("%w: NewHedgeDelay: the quantile must be in (0, 1), got %v", ErrInvalidConfig, q)
	case initial <= 0:
		return nil, fmt.Errorf("%w: NewHedgeDelay: the initial delay must be positive, got %v", ErrInvalidConfig, initial)
	}
	tail := math.Ceil(10/(1-q) - 1e-9) // 10/(1-0.9) is 100.00000000000001
	if tail > 1<<30 {
		return nil, fmt.Errorf("%w: NewHedgeDelay: the quantile %v is too close to 1 (at most 1 - 1e-8)", ErrInvalidConfig, q)
	}
	d := &HedgeDelay{q: q, initial: initial, warm: max(uint64(tail), delayMinWarm)}
	d.window = max(d.warm, delayWindow)
	d.every = max(d.window/16, 1)
	return d, nil
}

// valid reports whether d was made by NewHedgeDelay.
func (d *HedgeDelay) valid() bool { return d.window > 0 }

// Observe records a latency. A negative one is ignored. It is safe for
// concurrent use and takes no lock.
func (d *HedgeDelay) Observe(latency time.Duration) {
	if latency < 0 || d == nil || !d.valid() {
		return
	}
	n := d.count.Add(1) - 1
	epoch := n / d.window
	if n%d.window == 0 {
		d.clear(int((epoch + 1) % 3)) // the oldest window: the next to fill
	}
	d.buckets[epoch%3][delayBucket(latency)].Add(1)
	if n+1 >= d.warm && ((n+1)%d.every == 0 || n+1 == d.warm) {
		d.update(n + 1)
	}
}

// update estimates the quantile once n latencies have been observed and
// publishes it, unless an estimate made at a later count is already
// published, or the windows changed under the reading (a window cleared
// for reuse while it was summed: then a later estimate will come).
func (d *HedgeDelay) update(n uint64) {
	code, ok := d.estimate(n)
	if !ok {
		return
	}
	next := n<<delayCodeBits | code
	for {
		cur := d.est.Load()
		if cur>>delayCodeBits >= n || d.est.CompareAndSwap(cur, next) {
			return
		}
	}
}

// Delay returns the current hedge delay: the initial delay until the
// warm-up is over, then the estimate of the quantile. It is one atomic
// load.
func (d *HedgeDelay) Delay() time.Duration {
	if d == nil {
		return 0
	}
	code := d.est.Load() & (1<<delayCodeBits - 1)
	if code == 0 {
		return d.initial
	}
	return delayMiddle(int(code - 1))
}

// clear zeroes window w.
func (d *HedgeDelay) clear(w int) {
	for i := range d.buckets[w] {
		d.buckets[w][i].Store(0)
	}
}

// estimate returns the code (see HedgeDelay.est) of the quantile of the
// latencies counted in the current and the previous windows, once n have
// been observed; ok is false when the counts changed so much while it
// read them that the rank was never reached.
func (d *HedgeDelay) estimate(n uint64) (code uint64, ok bool) {
	epoch := n / d.window
	cur := &d.buckets[epoch%3]
	var prev *[delayBuckets]atomic.Uint32
	if epoch > 0 {
		prev = &d.buckets[(epoch+2)%3]
	}
	var total uint64
	for i := range cur {
		total += uint64(cur[i].Load())
		if prev != nil {
			total += uint64(prev[i].Load())
		}
	}
	if total == 0 {
		return 0, true
	}
	rank := uint64(math.Ceil(d.q * float64(total)))
	rank = min(max(rank, 1), total)
	var seen uint64
	for i := range cur {
		seen += uint64(cur[i].Load())
		if prev != nil {
			seen += uint64(prev[i].Load())
		}
		if seen >= rank {
			return uint64(i) + 1, true
		}
	}
	return 0, false
}

// delayBucket returns the bucket of latency l: the position of its
// leading bit above 2^10 ns, then the 5 bits that follow it.
func delayBucket(l time.Duration) int {
	v := uint64(l)
	if v < 1<<delayMinShift {
		return 0
	}
	top := bits.Len64(v) - 1 // v is in [2^top, 2^(top+1))
	octave := top - delayMinShift
	if octave >= delayOctaves {
		return delayBuckets - 1
	}
	sub := int(v>>(top-delaySubBits)) & (1<<delaySubBits - 1)
	return octave<<delaySubBits | sub
}

// delayMiddle returns the middle of bucket i.
func delayMiddle(i int) time.Duration {
	octave, sub := i>>delaySubBits, i&(1<<delaySubBits-1)
	width := uint64(1) << (octave + delayMinShift - delaySubBits)
	lo := uint64(1)<<(octave+delayMinShift) + uint64(sub)*width
	return time.Duration(lo + width/2)
}
