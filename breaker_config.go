package retry

import (
	"fmt"
	"math"
	"time"
)

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
	// ProbeLease bounds how long a half-open probe holds its slot without
	// reporting its outcome, so that a probe whose report never comes (an
	// engine caller that dropped its Progress after Policy.Begin) cannot
	// keep the circuit half-open and refusing for good. When every slot is
	// held and ProbeLease has passed since the latest probe was admitted,
	// the probes in flight are forfeited: the next attempt that asks for
	// admission starts the half-open period over (no probes in flight, no
	// successes counted) as its first probe, and a forfeited probe's
	// report, whenever it comes, changes nothing (a failure still counts in
	// Stats().Failures). Set it above the longest attempt a probe may make
	// (see WithAttemptTimeout): a probe still running when its lease ends
	// may be forfeited too. Default RecoveryTimeout.
	ProbeLease time.Duration

	// FailureRate, in (0, 1], turns on the failure-rate rule. Default 0: off.
	FailureRate float64
	// Window is the rolling period over which the failure rate is measured.
	// Default 1m; only with FailureRate. The window moves in steps of
	// Window/10 (rounded down to the nanosecond) counted from the first
	// instant the breaker was given, and holds the current step and the
	// nine before it, ten steps in all: an outcome recorded at t counts
	// until t + 10·(Window/10), excluded, when t starts a step, and
	// otherwise until its step leaves the window, between
	// 9·(Window/10) and 10·(Window/10) after t. For a Window that is a
	// multiple of 10ns (any Window of a microsecond or more written in
	// whole units), 10·(Window/10) is Window. An outcome exactly one
	// Window old never counts.
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

	// Control, if not nil, is called once by NewBreaker with the breaker's
	// [BreakerControl], for code that shares the breaker's state with
	// other processes (package redisretry). Default nil.
	Control func(BreakerControl)
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
	case c.ProbeLease < 0:
		return breakerError("ProbeLease must not be negative, got %v", c.ProbeLease)
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
