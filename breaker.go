package retry

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// BreakerState is the state of a [Breaker].
type BreakerState uint8

const (
	// BreakerClosed: attempts run, and the breaker counts their failures.
	BreakerClosed BreakerState = iota
	// BreakerOpen: attempts fail fast with ErrCircuitOpen, without running.
	BreakerOpen
	// BreakerHalfOpen: the recovery timeout has passed; a few probe attempts run
	// to find out whether the dependency is back.
	BreakerHalfOpen
)

// String returns "closed", "open" or "half-open".
func (s BreakerState) String() string {
	switch s {
	case BreakerClosed:
		return "closed"
	case BreakerOpen:
		return "open"
	case BreakerHalfOpen:
		return "half-open"
	}
	return "BreakerState(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText returns the word String returns, so that a State reads as
// "open" rather than 1 in JSON and in log/slog's JSON handler.
func (s BreakerState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// A Breaker is a circuit breaker: it stops calling a dependency that keeps
// failing, then probes it before trusting it again. Attach one to calls of
// [Do] with [WithBreaker], or guard a single call with [Breaker.Run].
//
// It counts attempts, not calls of Do: every attempt asks the breaker for
// admission, and reports its outcome. While [BreakerClosed], every attempt runs; a
// failure counts toward the rules of [BreakerConfig], a success resets the
// count of failures in a row. Once a rule trips, the circuit is [BreakerOpen]: every
// attempt fails fast with [ErrCircuitOpen] without running. Once the
// recovery timeout has passed, the circuit is [BreakerHalfOpen] (State reports it
// at once, before any attempt): at most HalfOpenProbes attempts run at a
// time as probes and the others fail fast; HalfOpenProbes successes in a
// row close the circuit, and any probe failure opens it again. A probe
// holds its slot until it reports, or at most ProbeLease: once every slot
// is held and ProbeLease has passed since the latest probe was admitted,
// the next attempt starts the half-open period over as its first probe,
// and the forfeited probes' reports change nothing (see
// [BreakerConfig].ProbeLease), so an admission whose report never comes
// cannot hold the circuit half-open for good.
//
// Only a failure that the call's policy would retry counts as a failure: a
// [Permanent] error, an error its classifiers call terminal, or a success
// all mean the dependency answered, and count as successes. An
// [NotIdempotent] error, which stops the retries only because retrying is
// unsafe, counts as a failure. An attempt
// ended by the caller's own context counts as nothing (it frees its probe
// slot, if it was a probe).
//
// A Breaker measures time from the first instant it needs one: the wall
// clock under [Do] and [Breaker.Run], or the instants a caller passes to
// [Policy.Begin] and [Policy.Failed]. One Breaker serves one timeline: share
// it between Do and a caller that passes time.Now(), never with a
// simulator's virtual clock.
//
// The zero Breaker is not usable: make one with [NewBreaker]. A Breaker is
// safe for concurrent use and meant to be shared by every call to one
// dependency, across policies and goroutines. It owns no goroutine or
// timer: time is read lazily when an attempt asks for admission. The closed
// path is lock-free, and with the consecutive rule alone a successful
// attempt reads no clock and writes no shared memory, unless it is the
// first success after a failure (it sets the count of failures in a row
// back to zero); state changes take a short lock.
type Breaker struct {
	// The first 64 bytes are what every attempt reads and, in a closed
	// period, nothing writes: the state word, written only when the state
	// changes or a half-open probe comes and goes, and the configuration.
	// The second line holds the failure counts, written by failures and by
	// the first success after one; the rest is written only by the
	// failure-rate rule and by trips. NewBreaker allocates exactly 320
	// bytes, a size class whose objects start on a 64-byte boundary, so the
	// lines are separate wherever the allocator puts the Breaker.
	st          atomic.Uint64 // kind, probes in flight, probe successes and generation; see kindOf
	threshold   int64         // failures in a row that open; 0: rule off. Immutable, as are the fields below
	recovery    int64         // nanoseconds
	maxRecovery int64         // nanoseconds; 0: no lengthening
	probes      uint64        // at least 1
	rate        float64
	width       int64 // nanoseconds per bucket; 0: failure-rate rule off
	minCalls    uint64

	fails    atomic.Int64  // failures in a row in the current closed period
	failures atomic.Uint64 // every failure recorded, for Stats
	_        [48]byte

	openUntil atomic.Int64  // instant on tl at which an open circuit turns half-open
	latest    atomic.Uint64 // the latest failure-rate bucket period recorded
	rejected  atomic.Uint64
	opened    atomic.Uint64
	buckets   [windowBuckets]atomic.Uint64 // the failure-rate window; see recordWindow

	mu    sync.Mutex // serialises state changes
	trips int        // under mu: times opened since the circuit was last closed

	hook     func(from, to BreakerState) // immutable
	tl       timeline                    // instants in nanoseconds since the first the breaker was given
	lease    int64                       // nanoseconds a probe holds its slot unreported; immutable
	leaseEnd atomic.Int64                // instant on tl at which the probes in flight are forfeited; written under pmu
	pmu      sync.Mutex                  // serialises half-open admissions; see admitProbe
	_        [24]byte
}

// BreakerStats counts what a [Breaker] did since it was made. It is a
// snapshot, returned by value. Successes are not counted: counting them
// would make every successful call write to memory shared by all callers.
type BreakerStats struct {
	Failures uint64 // attempts whose outcome was recorded as a failure
	Rejected uint64 // attempts refused with ErrCircuitOpen
	Opened   uint64 // times the circuit opened (from BreakerClosed or BreakerHalfOpen)
}

// NewBreaker returns a closed breaker configured by c, or an error wrapping
// [ErrInvalidConfig] when a value is negative or out of range.
func NewBreaker(c BreakerConfig) (*Breaker, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	b := &Breaker{
		threshold:   int64(c.FailureThreshold),
		recovery:    int64(c.RecoveryTimeout),
		maxRecovery: int64(c.MaxRecoveryTimeout),
		probes:      uint64(c.HalfOpenProbes),
		hook:        c.OnStateChange,
	}
	if b.threshold == 0 && c.FailureRate == 0 {
		b.threshold = DefaultFailureThreshold
	}
	if b.recovery == 0 {
		b.recovery = int64(DefaultRecoveryTimeout)
	}
	if b.probes == 0 {
		b.probes = DefaultHalfOpenProbes
	}
	b.lease = cmpOr(int64(c.ProbeLease), b.recovery)
	if c.FailureRate > 0 {
		b.rate = c.FailureRate
		b.width = int64(cmpOr(c.Window, DefaultWindow)) / windowBuckets
		b.minCalls = uint64(cmpOr(c.MinimumCalls, DefaultMinimumCalls))
	}
	if c.Control != nil {
		c.Control(BreakerControl{b})
	}
	return b, nil
}

// State returns the state of the circuit now. An open circuit whose
// recovery timeout has passed is reported BreakerHalfOpen, even before the next
// attempt records the change. It is safe to call from any goroutine, and
// from OnStateChange; it reads the clock only while the circuit is open.
// A nil Breaker, which [WithBreaker] takes as no breaker, is BreakerClosed.
func (b *Breaker) State() BreakerState {
	if b == nil {
		return BreakerClosed
	}
	if kindOf(b.st.Load()) != BreakerOpen {
		return kindOf(b.st.Load())
	}
	return b.StateAt(time.Now())
}

// StateAt is [Breaker.State] at instant t, for callers that drive the
// breaker on their own clock (see [Policy.Begin]); time is measured from
// the first instant the breaker was given, and an earlier t counts as that
// one. It changes nothing. A nil Breaker is BreakerClosed.
func (b *Breaker) StateAt(t time.Time) BreakerState {
	if b == nil {
		return BreakerClosed
	}
	k := kindOf(b.st.Load())
	if k == BreakerOpen && b.tl.since(t) >= b.openUntil.Load() {
		return BreakerHalfOpen
	}
	return k
}

// Stats returns the breaker's counters. It is safe to call from any
// goroutine, and from OnStateChange; the counters are read one after the
// other, not as one atomic snapshot. A nil Breaker has zero counters.
func (b *Breaker) Stats() BreakerStats {
	if b == nil {
		return BreakerStats{}
	}
	return BreakerStats{Failures: b.failures.Load(), Rejected: b.rejected.Load(), Opened: b.opened.Load()}
}

// WithBreaker makes every attempt of the call ask b for admission, and
// report its outcome to b; see [Breaker]. An attempt the breaker refuses
// ends the call with reason [ErrCircuitOpen]: with Attempts 0 and no last
// error when it was the first. A nil b removes an earlier breaker; a
// Breaker not made by [NewBreaker] is invalid.
func WithBreaker(b *Breaker) Option { return breakerOption{b} }

type breakerOption struct{ b *Breaker }

func (breakerOption) isOption() {}

func (c *config) setBreaker(b *Breaker) {
	c.breaker = b
	if b != nil && !b.valid() {
		c.fail("WithBreaker: the Breaker was not made by NewBreaker")
	}
}
