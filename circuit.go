package retry

import (
	"context"
	"fmt"
	"math"
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
	// happened; the breaker stays usable. The change from BreakerOpen to
	// BreakerHalfOpen is recorded by the first attempt that asks for admission
	// after the recovery timeout, not at the instant the timeout passes.
	OnStateChange func(from, to BreakerState)
}

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
// row close the circuit, and any probe failure opens it again.
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
// attempt reads no clock and writes no shared memory; state changes take a
// short lock.
type Breaker struct {
	st    atomic.Uint64 // kind, probes in flight, probe successes and generation; see packState
	fails atomic.Int64  // failures in a row in the current closed period
	_     [48]byte      // keep the counters below off the line every call reads

	openUntil atomic.Int64  // instant on tl at which an open circuit turns half-open
	latest    atomic.Uint64 // the latest failure-rate bucket period recorded
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
	hook        func(from, to BreakerState)
	tl          timeline // instants in nanoseconds since the first the breaker was given
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

// Run calls op once through the breaker, without retrying: the breaker
// alone, for code that wants no retry loop. When the breaker refuses the
// attempt, op is not called and Run returns an [*Error] with Attempts 0 and
// reason [ErrCircuitOpen], as [Do] would; test for it with errors.Is.
// Otherwise Run returns op's error unchanged.
//
// The outcome is recorded by the rule Do uses with no classifiers: nil, a
// [Permanent] error, or an error whose Retryable() method says false is a
// success; any other error is a failure; an error returned once ctx has
// ended, or a panic in op or in a Retryable method, counts as nothing. To
// classify with a policy, call Do with [WithBreaker], [WithMaxAttempts](1)
// and [WithClassifier]. A lengthened open time (MaxRecoveryTimeout) draws
// its jitter from math/rand/v2's global source.
//
// Run does not check ctx before calling op: op sees ctx and answers for it.
// A nil or zero breaker, a nil ctx or a nil op return an error wrapping
// [ErrInvalidConfig].
func (b *Breaker) Run(ctx context.Context, op func(context.Context) error) error {
	if b == nil || b.probes == 0 || ctx == nil || op == nil {
		return invalidRun(b, op)
	}
	s := b.st.Load()
	if kindOf(s) != BreakerClosed {
		return b.runSlow(ctx, op)
	}
	// The closed path of the breaker's contract, by hand: admission is this
	// load, and an attempt of a closed period holds no slot, so a panic in
	// op leaks nothing.
	err := op(ctx)
	if err == nil && b.width == 0 && b.fails.Load() == 0 {
		return nil // what done(success) would conclude, without the call
	}
	var end clock
	b.done(ticket(s), runOutcome(ctx, err), &end, nil)
	return err
}

// runSlow runs op through a breaker that was not closed a moment ago: the
// engine's attempt path (admit, call, report), with no policy.
func (b *Breaker) runSlow(ctx context.Context, op func(context.Context) error) error {
	var pr Progress
	var admission clock
	if !b.admit(&pr, &admission) {
		return &Error{Reason: ErrCircuitOpen}
	}
	var err error
	if pr.ticket.probe() {
		_, err = callProbe(b, nil, &pr, func(ctx context.Context) (struct{}, error) { return struct{}{}, op(ctx) }, ctx)
	} else {
		err = op(ctx)
	}
	var end clock // the outcome's own instant: op may have run for a while
	b.reportRun(&pr, ctx, err, &end)
	return err
}

// reportRun records the outcome of an attempt made by Run, judged by the
// rule of [judge] with no classifiers. A probe whose error's Retryable
// method panics counts as nothing, as in Do.
func (b *Breaker) reportRun(pr *Progress, ctx context.Context, err error, clk *clock) {
	if !pr.ticket.probe() {
		b.report(pr, runOutcome(ctx, err), clk, nil)
		return
	}
	o := outcomeNone
	defer func() { b.report(pr, o, clk, nil) }()
	o = runOutcome(ctx, err)
}

// runOutcome judges the error of an attempt made by Run.
func runOutcome(ctx context.Context, err error) outcome {
	switch {
	case err == nil:
		return outcomeSuccess
	case ctx.Err() != nil:
		return outcomeNone
	}
	sig, terminal := judge(chain{}, err, false)
	return breakerOutcome(sig, terminal)
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
