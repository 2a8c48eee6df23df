package retry

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
)

// Jitter says how the loop randomises each wait so that clients that failed
// together do not retry together: one of [NoJitter], [FullJitter],
// [EqualJitter], [DecorrelatedJitter], or a value of [ProportionalJitter].
// The zero value is NoJitter; the default policy uses FullJitter.
//
// Jitter turns the base delay of retry n (the strategy's delay, already
// capped at the maximum delay) into the wait; the wait is then capped at
// the maximum delay again. Jitter values are comparable and safe to copy
// and to share.
type Jitter struct {
	// mode is one of the jitter… constants below, or proportionalTag
	// with the IEEE-754 bits of the fraction (whose sign bit is always
	// zero) in the low 63 bits. One word, so that WithJitter boxes it
	// into an Option without allocating.
	mode uint64
}

const (
	jitterNone uint64 = iota
	jitterFull
	jitterEqual
	jitterDecorrelated
	jitterInvalid // a ProportionalJitter argument outside [0, 1]

	proportionalTag uint64 = 1 << 63
)

// The jitter modes. They are values, not constants, because Jitter is a
// struct; do not assign to them. A policy reads the mode a Jitter holds,
// never these variables, so an assignment to one does not change the
// policies that use it.
var (
	// NoJitter waits exactly the base delay.
	NoJitter = Jitter{}
	// FullJitter waits a uniform random duration in [0, base].
	FullJitter = Jitter{jitterFull}
	// EqualJitter waits base/2 plus a uniform random duration in [0, base/2].
	EqualJitter = Jitter{jitterEqual}
	// DecorrelatedJitter waits a uniform random duration in
	// [first, 3 × previous wait], capped at the maximum delay, where first is
	// the capped delay of retry 1 and the previous wait before retry 1 is
	// first. Its state lives in each call of Do (or in the engine's
	// [Progress]), never in the policy.
	DecorrelatedJitter = Jitter{jitterDecorrelated}
)

// ProportionalJitter returns a Jitter that multiplies the base delay by a
// uniform random factor in [1−f, 1+f]: ProportionalJitter(0.2) waits between
// 80% and 120% of the base. A fraction outside [0, 1], or NaN, makes the
// policy invalid.
func ProportionalJitter(f float64) Jitter {
	if !(f >= 0 && f <= 1) {
		return Jitter{jitterInvalid}
	}
	return Jitter{proportionalTag | math.Float64bits(f+0)} // +0 turns -0 into 0
}

// String returns "none", "full", "equal", "decorrelated", or
// "proportional:F" (the syntax the retry command accepts).
func (j Jitter) String() string {
	switch j.mode {
	case jitterNone:
		return "none"
	case jitterFull:
		return "full"
	case jitterEqual:
		return "equal"
	case jitterDecorrelated:
		return "decorrelated"
	}
	if j.proportional() {
		return "proportional:" + strconv.FormatFloat(j.fraction(), 'g', -1, 64)
	}
	return "invalid"
}

func (j Jitter) proportional() bool { return j.mode&proportionalTag != 0 }

func (j Jitter) fraction() float64 { return math.Float64frombits(j.mode &^ proportionalTag) }

func (j Jitter) validate() error {
	if j.mode == jitterInvalid {
		return fmt.Errorf("%w: ProportionalJitter fraction must be in [0, 1]", ErrInvalidConfig)
	}
	return nil
}

// apply turns the capped base delay into the wait. prev is the previous wait
// of this call (for DecorrelatedJitter), first the capped delay of retry 1,
// and limit the maximum delay (maxDuration when unlimited).
func (j Jitter) apply(r *lockedRand, base, prev, first, limit time.Duration) time.Duration {
	var d time.Duration
	switch {
	case j.mode == jitterFull:
		d = r.between(0, base)
	case j.mode == jitterEqual:
		half := base / 2
		d = half + r.between(0, base-half)
	case j.mode == jitterDecorrelated:
		d = r.between(first, max(first, satMul3(prev)))
	case j.proportional():
		d = scale(base, r.float64Between(1-j.fraction(), 1+j.fraction()))
	default:
		d = base
	}
	return min(d, limit)
}

// satMul3 returns 3·d, saturating at the largest duration.
func satMul3(d time.Duration) time.Duration {
	if d > maxDuration/3 {
		return maxDuration
	}
	return 3 * d
}

// scale returns d·f for f >= 0, saturating at the largest duration.
func scale(d time.Duration, f float64) time.Duration {
	x := float64(d) * f
	if !(x < float64(maxDuration)) {
		return maxDuration
	}
	return time.Duration(x)
}

// lockedRand serialises access to a caller's *rand.Rand, which is not safe
// for concurrent use. A nil *lockedRand draws from math/rand/v2's global,
// concurrency-safe source.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

// between returns a uniform random duration in [lo, hi]; lo <= hi.
func (l *lockedRand) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	n := uint64(hi-lo) + 1 // cannot overflow: hi-lo <= MaxInt64
	if l == nil {
		return lo + time.Duration(rand.Uint64N(n))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return lo + time.Duration(l.r.Uint64N(n))
}

// float64Between returns a uniform random number in [lo, hi).
func (l *lockedRand) float64Between(lo, hi float64) float64 {
	var u float64
	if l == nil {
		u = rand.Float64()
	} else {
		l.mu.Lock()
		u = l.r.Float64()
		l.mu.Unlock()
	}
	return lo + u*(hi-lo)
}
