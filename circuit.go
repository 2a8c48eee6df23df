package retry

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// State is the state of a [Breaker].
type State uint8

const (
	// Closed: attempts run, and the breaker counts their failures.
	Closed State = iota
	// Open: attempts fail fast with ErrCircuitOpen, without running.
	Open
	// HalfOpen: the recovery timeout has passed; a few probe attempts run
	// to find out whether the dependency is back.
	HalfOpen
)

// String returns "closed", "open" or "half-open".
func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText returns the word String returns, so that a State reads as
// "open" rather than 1 in JSON and in log/slog's JSON handler.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Default values of a [BreakerConfig]: the consecutive rule opens after
// DefaultFailureThreshold failures in a row; an open circuit turns
// half-open after DefaultRecoveryTimeout, and lets DefaultHalfOpenProbes
// probes through at a time; the failure-rate rule, when on, measures over
// DefaultWindow and waits for DefaultMinimumCalls attempts in it.
const (
	DefaultFailureThreshold = 5
	DefaultRecoveryTimeout  = 30 * time.Second
	DefaultHalfOpenProbes   = 1
	DefaultWindow           = time.Minute
	DefaultMinimumCalls     = 10
)

// BreakerConfig configures a [Breaker]. A zero field takes the default
// stated beside it; negative values are invalid.
//
// A breaker opens on either of two rules. The consecutive rule opens it
// after FailureThreshold failures in a row. The failure-rate rule, on when
// FailureRate > 0, opens it when at least FailureRate of the attempts
// recorded over the last Window failed, once the window holds at least
// MinimumCalls attempts, so that one failure in a quiet minute does not trip
// it. With FailureRate set, the consecutive rule applies only if
// FailureThreshold is set too.
type BreakerConfig struct {
	// FailureThreshold is the number of failures in a row that opens the
	// circuit. Default 5, or off when FailureRate is set.
	FailureThreshold int
	// RecoveryTimeout is how long the circuit stays open before it lets
	// probes through (half-open). Default 30s.
	RecoveryTimeout time.Duration
	// HalfOpenProbes is the number of probes that may run at once in the
	// half-open state, and the number of successes in a row that close the
	// circuit. Default 1, at most 65535.
	HalfOpenProbes int

	// FailureRate, in (0, 1], turns on the failure-rate rule. Default 0: off.
	FailureRate float64
	// Window is the rolling period over which the failure rate is measured,
	// kept as 10 buckets of Window/10 that expire one at a time. Default 1m;
	// only with FailureRate.
	Window time.Duration
	// MinimumCalls is the number of attempts the window must hold before
	// the failure-rate rule can open the circuit. Default 10; only with
	// FailureRate.
	MinimumCalls int

	// MaxRecoveryTimeout, when set, lengthens the open time on repeated
	// trips: after a probe fails, the circuit stays open for the previous
	// open time doubled, capped at MaxRecoveryTimeout and jittered to
	// between half and all of that (never less than RecoveryTimeout). The
	// first trip after the circuit was closed always uses RecoveryTimeout.
	// Default 0: every trip uses RecoveryTimeout. It must not be below
	// RecoveryTimeout.
	MaxRecoveryTimeout time.Duration

	// OnStateChange, if not nil, is called at every change of state. It is
	// called synchronously by the goroutine that causes the change, while
	// the breaker holds its transition lock, so calls never overlap and
	// arrive in order; it must be quick and must not run an attempt through
	// the same breaker (State and Stats are fine). If it panics, the panic
	// reaches the caller whose attempt caused the change, which has
	// happened; the breaker stays usable. The change from Open to
	// HalfOpen is recorded by the first attempt that asks for admission
	// after the recovery timeout, not at the instant the timeout passes.
	OnStateChange func(from, to State)
}

// A Breaker is a circuit breaker: it stops calling a dependency that keeps
// failing, then probes it before trusting it again. Attach one to calls of
// [Do] with [WithBreaker], or guard a single call with [Breaker.Run].
//
// It counts attempts, not calls of Do: every attempt asks the breaker for
// admission, and reports its outcome. While Closed, every attempt runs; a
// failure counts toward the rules of [BreakerConfig], a success resets the
// count of failures in a row. Once a rule trips, the circuit is Open: every
// attempt fails fast with [ErrCircuitOpen] without running. Once the
// recovery timeout has passed, the circuit is HalfOpen (State reports it
// at once, before any attempt): at most HalfOpenProbes attempts run at a
// time as probes and the others fail fast; HalfOpenProbes successes in a
// row close the circuit, and any probe failure opens it again.
//
// Only a failure that the call's policy would retry counts as a failure: a
// [Permanent] error, an error its classifiers call terminal, or a success
// all mean the dependency answered, and count as successes. An attempt
// ended by the caller's own context counts as nothing (it frees its probe
// slot, if it was a probe).
//
// The zero Breaker is not usable: make one with [NewBreaker]. A Breaker is
// safe for concurrent use and meant to be shared by every call to one
// dependency, across policies and goroutines. It owns no goroutine or
// timer: time is read lazily when an attempt asks for admission. The closed
// path is lock-free, and with the consecutive rule alone a successful
// attempt reads no clock and writes no shared memory; state changes take a
// short lock.
type Breaker struct {
	st    atomic.Uint64 // kind, probes in flight, probe successes and generation; see packState
	fails atomic.Int64  // failures in a row in the current closed period
	_     [48]byte      // keep the counters below off the line every call reads

	openUntil atomic.Int64 // nanoseconds since base at which an open circuit turns half-open
	failures  atomic.Uint64
	rejected  atomic.Uint64
	opened    atomic.Uint64
	buckets   [windowBuckets]atomic.Uint64 // the failure-rate window; see recordWindow

	mu    sync.Mutex // serialises state changes
	trips int        // under mu: times opened since the circuit was last closed

	// Immutable after NewBreaker.
	threshold   int64  // failures in a row that open; 0: rule off
	recovery    int64  // nanoseconds
	maxRecovery int64  // nanoseconds; 0: no lengthening
	probes      uint64 // at least 1
	rate        float64
	width       int64 // nanoseconds per bucket; 0: failure-rate rule off
	minCalls    uint64
	hook        func(from, to State)
	base        time.Time
}

// BreakerStats counts what a [Breaker] did since it was made. It is a
// snapshot, returned by value. Successes are not counted: counting them
// would make every successful call write to memory shared by all callers.
type BreakerStats struct {
	Failures uint64 // attempts whose outcome was recorded as a failure
	Rejected uint64 // attempts refused with ErrCircuitOpen
	Opened   uint64 // times the circuit opened (from Closed or HalfOpen)
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
		base:        time.Now(),
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
	if c.FailureRate > 0 {
		b.rate = c.FailureRate
		b.width = int64(cmpOr(c.Window, DefaultWindow)) / windowBuckets
		b.minCalls = uint64(cmpOr(c.MinimumCalls, DefaultMinimumCalls))
	}
	return b, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func (c *BreakerConfig) validate() error {
	switch {
	case c.FailureThreshold < 0:
		return breakerError("FailureThreshold must not be negative, got %d", c.FailureThreshold)
	case c.RecoveryTimeout < 0:
		return breakerError("RecoveryTimeout must not be negative, got %v", c.RecoveryTimeout)
	case c.HalfOpenProbes < 0 || c.HalfOpenProbes > countMask:
		return breakerError("HalfOpenProbes must be in [0, %d], got %d", countMask, c.HalfOpenProbes)
	case math.IsNaN(c.FailureRate) || c.FailureRate < 0 || c.FailureRate > 1:
		return breakerError("FailureRate must be in [0, 1], got %v", c.FailureRate)
	case c.Window < 0:
		return breakerError("Window must not be negative, got %v", c.Window)
	case c.Window > 0 && c.Window < windowBuckets:
		return breakerError("Window must be at least %dns, got %v", windowBuckets, c.Window)
	case c.MinimumCalls < 0:
		return breakerError("MinimumCalls must not be negative, got %d", c.MinimumCalls)
	case c.FailureRate == 0 && (c.Window != 0 || c.MinimumCalls != 0):
		return breakerError("Window and MinimumCalls apply only with FailureRate")
	case c.MaxRecoveryTimeout < 0:
		return breakerError("MaxRecoveryTimeout must not be negative, got %v", c.MaxRecoveryTimeout)
	case c.MaxRecoveryTimeout > 0 && c.MaxRecoveryTimeout < cmpOr(c.RecoveryTimeout, DefaultRecoveryTimeout):
		return breakerError("MaxRecoveryTimeout (%v) must not be below RecoveryTimeout (%v)",
			c.MaxRecoveryTimeout, cmpOr(c.RecoveryTimeout, DefaultRecoveryTimeout))
	}
	return nil
}

func breakerError(format string, args ...any) error {
	return fmt.Errorf("%w: BreakerConfig: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

// State returns the state of the circuit now. An open circuit whose
// recovery timeout has passed is reported HalfOpen, even before the next
// attempt records the change. It is safe to call from any goroutine, and
// from OnStateChange; it reads the clock only while the circuit is open.
// A nil Breaker, which [WithBreaker] takes as no breaker, is Closed.
func (b *Breaker) State() State {
	if b == nil {
		return Closed
	}
	s := b.st.Load()
	k := kindOf(s)
	if k == Open && b.now() >= b.openUntil.Load() {
		return HalfOpen
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

// Run calls op once through the breaker, without retrying: the breaker
// alone, for code that wants no retry loop. When the breaker refuses the
// attempt, op is not called and Run returns an [*Error] with Attempts 0 and
// reason [ErrCircuitOpen], as [Do] would; test for it with errors.Is.
// Otherwise Run returns op's error unchanged.
//
// The outcome is recorded as Do records it with no classifiers: nil, a
// [Permanent] error, or an error whose Retryable() method says false is a
// success; any other error is a failure; an error returned once ctx has
// ended, or a panic in op, counts as nothing. To classify with a policy,
// call Do with [WithBreaker], [WithMaxAttempts](1) and [WithClassifier].
//
// Run does not check ctx before calling op: op sees ctx and answers for it.
// A nil or zero breaker, a nil ctx or a nil op return an error wrapping
// [ErrInvalidConfig].
func (b *Breaker) Run(ctx context.Context, op func(context.Context) error) error {
	if b == nil || b.probes == 0 || ctx == nil || op == nil {
		return invalidRun(b, op)
	}
	s := b.st.Load()
	if kindOf(s) != Closed {
		return b.runSlow(ctx, op)
	}
	// The closed path, by hand: admission is this load, and an attempt of a
	// closed period holds no slot, so a panic in op leaks nothing.
	err := op(ctx)
	if err == nil {
		if b.width == 0 && b.fails.Load() == 0 {
			return nil
		}
		b.succeed(ticket(s))
		return nil
	}
	b.runOutcome(ctx, ticket(s), err)
	return err
}

// runSlow runs op through a breaker that was not closed a moment ago.
func (b *Breaker) runSlow(ctx context.Context, op func(context.Context) error) error {
	t, ok := b.allowSlow()
	if !ok {
		return &Error{Reason: ErrCircuitOpen}
	}
	if kindOf(uint64(t)) == Closed {
		err := op(ctx)
		b.runOutcome(ctx, t, err)
		return err
	}
	return b.runProbe(ctx, op, t)
}

// runProbe runs op as a half-open probe, freeing its slot if op panics.
func (b *Breaker) runProbe(ctx context.Context, op func(context.Context) error, t ticket) (err error) {
	recorded := false
	defer func() {
		if !recorded {
			b.cancel(t)
		}
	}()
	err = op(ctx)
	recorded = true
	b.runOutcome(ctx, t, err)
	return err
}

// runOutcome records the outcome of an attempt made by Run.
func (b *Breaker) runOutcome(ctx context.Context, t ticket, err error) {
	switch {
	case err == nil:
		b.succeed(t)
	case ctx.Err() != nil:
		b.cancel(t)
	default:
		sig, self := inspect(err)
		b.record(t, (sig != nil && sig.permanent) || (sig == nil && self == Terminal))
	}
}

func invalidRun(b *Breaker, op func(context.Context) error) error {
	what := "nil context"
	switch {
	case b == nil || b.probes == 0:
		what = "Run on a Breaker not made by NewBreaker"
	case op == nil:
		what = "nil operation"
	}
	return &Error{Reason: fmt.Errorf("%w: %s", ErrInvalidConfig, what)}
}

// valid reports whether b was made by NewBreaker.
func (b *Breaker) valid() bool { return b.probes > 0 }

// A ticket is the state word at admission: it ties an outcome to the
// closed or half-open period in which the attempt was admitted.
type ticket uint64

// The state word packs the kind (2 bits), the probes in flight (16 bits),
// the probe successes of this half-open period (16 bits), and a generation
// (30 bits) bumped at every change of kind, so that an outcome or a
// compare-and-swap from an earlier period is recognised.
const (
	countMask     = 1<<16 - 1
	inflightShift = 2
	succShift     = 18
	genShift      = 34
	oneInflight   = 1 << inflightShift
	oneSuccess    = 1 << succShift
)

func kindOf(s uint64) State      { return State(s & 3) }
func inflightOf(s uint64) uint64 { return s >> inflightShift & countMask }
func successesOf(s uint64) uint64 {
	return s >> succShift & countMask
}
func genOf(s uint64) uint64 { return s >> genShift }

// nextState returns the word of the next generation in kind k, with no
// probes in flight and no successes.
func nextState(s uint64, k State) uint64 { return (genOf(s)+1)<<genShift | uint64(k) }

// allow asks for admission of one attempt.
func (b *Breaker) allow() (ticket, bool) {
	if s := b.st.Load(); kindOf(s) == Closed {
		return ticket(s), true
	}
	return b.allowSlow()
}

func (b *Breaker) allowSlow() (ticket, bool) {
	s := b.st.Load()
	for {
		switch kindOf(s) {
		case Closed:
			return ticket(s), true
		case Open:
			if b.now() < b.openUntil.Load() {
				b.rejected.Add(1)
				return 0, false
			}
			b.changeFrom(s, HalfOpen) // this attempt ends the open period
		case HalfOpen:
			if inflightOf(s) >= b.probes {
				b.rejected.Add(1)
				return 0, false
			}
			if b.st.CompareAndSwap(s, s+oneInflight) {
				return ticket(s), true
			}
		}
		s = b.st.Load()
	}
}

// succeed records a successful attempt. In a closed period with the
// consecutive rule alone and no failure pending, it only reads.
func (b *Breaker) succeed(t ticket) {
	if kindOf(uint64(t)) == Closed && b.width == 0 && b.fails.Load() == 0 {
		return
	}
	b.succeedSlow(t)
}

func (b *Breaker) succeedSlow(t ticket) {
	if kindOf(uint64(t)) != Closed {
		b.probeDone(t, outcomeSuccess)
		return
	}
	if b.width > 0 && b.st.Load() == uint64(t) {
		b.recordWindow(false)
	}
	if b.fails.Load() != 0 && b.st.Load() == uint64(t) {
		b.fails.Store(0)
	}
}

// fail records a failed attempt, and opens the circuit if a rule says so.
func (b *Breaker) fail(t ticket) {
	b.failures.Add(1)
	if kindOf(uint64(t)) != Closed {
		b.probeDone(t, outcomeFailure)
		return
	}
	if b.st.Load() != uint64(t) {
		return // admitted in an earlier closed period
	}
	trip := b.width > 0 && b.recordWindow(true)
	if n := b.fails.Add(1); b.threshold > 0 && n >= b.threshold {
		trip = true
	}
	if trip {
		b.changeFrom(uint64(t), Open)
	}
}

// changeFrom moves the circuit from state word s to kind k, unless someone
// moved it on first. The deferred unlock keeps the breaker usable when the
// state-change hook panics.
func (b *Breaker) changeFrom(s uint64, k State) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.st.Load() != s {
		return
	}
	if k == Open {
		b.open(s)
	} else {
		b.change(s, nextState(s, k))
	}
}

// cancel records an attempt that ended without an outcome.
func (b *Breaker) cancel(t ticket) {
	if kindOf(uint64(t)) == HalfOpen {
		b.probeDone(t, outcomeNone)
	}
}

type outcome uint8

const (
	outcomeNone outcome = iota
	outcomeSuccess
	outcomeFailure
)

// probeDone records the outcome of a probe admitted in half-open period t.
func (b *Breaker) probeDone(t ticket, o outcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		s := b.st.Load()
		if genOf(s) != genOf(uint64(t)) || inflightOf(s) == 0 {
			return // that half-open period is over
		}
		switch o {
		case outcomeFailure:
			b.open(s)
			return
		case outcomeSuccess:
			next := s - oneInflight + oneSuccess
			if successesOf(next) >= b.probes {
				b.closeCircuit(s)
				return
			}
			if b.st.CompareAndSwap(s, next) {
				return
			}
		default:
			if b.st.CompareAndSwap(s, s-oneInflight) {
				return
			}
		}
	}
}

// open opens the circuit from state word s. b.mu is held.
func (b *Breaker) open(s uint64) {
	b.trips++
	b.openUntil.Store(b.now() + b.openFor(b.trips))
	b.opened.Add(1)
	b.change(s, nextState(s, Open))
}

// closeCircuit closes the circuit from state word s, forgetting the
// failures of the previous closed period. b.mu is held.
func (b *Breaker) closeCircuit(s uint64) {
	b.trips = 0
	b.fails.Store(0)
	for i := range b.buckets {
		b.buckets[i].Store(0)
	}
	b.change(s, nextState(s, Closed))
}

// change moves the state word from s to next, which is of a new generation,
// and calls the hook. b.mu is held, so only half-open admissions can race
// with it; they only add probes in flight, which next discards.
func (b *Breaker) change(s, next uint64) {
	for !b.st.CompareAndSwap(s, next) {
		s = b.st.Load()
		next = nextState(s, kindOf(next))
	}
	if b.hook != nil {
		b.hook(kindOf(s), kindOf(next))
	}
}

// openFor returns how long the circuit stays open after its n-th trip since
// it was last closed.
func (b *Breaker) openFor(n int) int64 {
	d := b.recovery
	if b.maxRecovery == 0 || n <= 1 {
		return d
	}
	for i := 1; i < n && d < b.maxRecovery; i++ {
		if d > b.maxRecovery/2 {
			d = b.maxRecovery
		} else {
			d *= 2
		}
	}
	return max(d/2+rand.Int64N(d/2+1), b.recovery)
}

// now is the time since the breaker was made, in nanoseconds (monotonic).
func (b *Breaker) now() int64 { return int64(time.Since(b.base)) }

// The failure-rate window: windowBuckets buckets, each one atomic word
// packing the low bits of its epoch (the bucket-width period it counts,
// since base) with its failures and its attempts. A bucket whose tag is
// not that of the current period it stands for is stale and reads as empty;
// the first attempt recorded into it resets it.
const (
	windowBuckets = 10
	bucketCount   = 21 // bits per count; counts saturate at 2²¹−1
	bucketMax     = 1<<bucketCount - 1
	tagShift      = 2 * bucketCount
	tagMask       = 1<<(64-tagShift) - 1
)

// recordWindow counts an attempt in the current bucket and, for a failure,
// reports whether the failure-rate rule now says to open.
func (b *Breaker) recordWindow(failed bool) (trip bool) {
	return b.recordAt(uint64(b.now()/b.width), failed)
}

// recordAt is recordWindow for an attempt that ended in bucket period
// epoch. Before it resets a bucket that counts another period, it reads
// the clock again: an attempt whose goroutine was held up for a window or
// more since it read the clock has left the window, and resetting the
// bucket could erase the counts of a later period. That second read costs
// one clock read per bucket period, not one per attempt.
func (b *Breaker) recordAt(epoch uint64, failed bool) (trip bool) {
	bk := &b.buckets[epoch%windowBuckets]
	tag := epoch & tagMask
	checked := false
	for {
		old := bk.Load()
		var f, n uint64
		if old>>tagShift == tag {
			f, n = old>>bucketCount&bucketMax, old&bucketMax
		} else if !checked {
			if uint64(b.now()/b.width)-epoch >= windowBuckets {
				return false
			}
			checked = true
		}
		n = min(n+1, bucketMax)
		if failed {
			f = min(f+1, bucketMax)
		}
		if bk.CompareAndSwap(old, tag<<tagShift|f<<bucketCount|n) {
			break
		}
	}
	if !failed {
		return false
	}
	var f, n uint64
	for k := uint64(0); k < windowBuckets && k <= epoch; k++ {
		e := epoch - k
		if w := b.buckets[e%windowBuckets].Load(); w>>tagShift == e&tagMask {
			f += w >> bucketCount & bucketMax
			n += w & bucketMax
		}
	}
	return n >= b.minCalls && float64(f) >= b.rate*float64(n)
}

// record records the outcome of an attempt: a success when the dependency
// answered (the attempt succeeded, or failed with an error the policy does
// not retry), a failure otherwise.
func (b *Breaker) record(t ticket, answered bool) {
	if answered {
		b.succeed(t)
	} else {
		b.fail(t)
	}
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

// admit asks the call's breaker, if any, to admit the next attempt. last
// and hint are those of the previous attempt, if any.
func (l *loop) admit(last error, hint time.Duration) *Error {
	if l.breaker == nil {
		return nil
	}
	t, ok := l.breaker.allow()
	if !ok {
		return l.stop(last, ErrCircuitOpen, hint)
	}
	l.ticket, l.probing = t, kindOf(uint64(t)) == HalfOpen
	return nil
}

// callProbe calls op for an attempt that holds a half-open probe slot, and
// frees the slot if op panics: such an attempt counts as nothing, as in
// [Breaker.Run]. Without it, a panic would keep the slot taken, and a
// breaker with one probe would refuse every later attempt for good. Only
// probes pay for the deferred call.
func callProbe[T any](l *loop, op func(context.Context) (T, error), ctx context.Context) (v T, err error) {
	returned := false
	defer func() {
		if !returned {
			l.probing = false
			l.breaker.cancel(l.ticket)
		}
	}()
	v, err = op(ctx)
	returned = true
	return v, err
}
