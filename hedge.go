package retry

import (
	"fmt"
	"time"
)

// Hedging: the options that turn it on, and their validation. The hedged
// loop itself is in hedge_run.go, the adaptive delay in hedge_delay.go.

// hedgeConfig is a policy's hedging: off unless max is at least 2.
type hedgeConfig struct {
	delay    time.Duration // the fixed delay between copies, when adaptive is nil
	adaptive *HedgeDelay   // the learned delay; nil: the fixed one
	max      int           // copies in flight at most; 0 or 1: no hedging
	discard  any           // a func(T) from WithHedgeDiscard; nil: none
}

// on reports whether calls hedge.
func (h *hedgeConfig) on() bool { return h.max > 1 }

// errNeedsDoHedged is the reason Do and Run give for a policy that hedges.
var errNeedsDoHedged = fmt.Errorf("%w: the policy hedges (WithHedge or WithAdaptiveHedge): call DoHedged or RunHedged, whose op may run on several goroutines at once", ErrInvalidConfig)

// learner returns the estimator the calls feed: WithAdaptiveHedge's,
// when the policy hedges (a maxInFlight of 1 turns hedging off, and
// DoHedged then runs Do's loop, which feeds nothing); nil otherwise.
func (h *hedgeConfig) learner() *HedgeDelay {
	if h.adaptive != nil && h.max > 1 {
		return h.adaptive
	}
	return nil
}

// next returns the delay before the next copy.
func (h *hedgeConfig) next() time.Duration {
	if h.adaptive != nil {
		return h.adaptive.Delay()
	}
	return h.delay
}

// WithHedge turns on hedged requests: while an attempt runs, another copy
// of it starts every delay, up to maxInFlight copies running at once; the
// first copy that succeeds wins, and the others are cancelled through
// their context and waited for before the call returns. Hedged calls are
// made with [DoHedged] and [RunHedged]; [Do] and [Run] refuse a policy
// that hedges. A delay of 0 starts
// every copy at once (as gRPC's hedging policy allows). maxInFlight must
// be at least 2; 1 turns hedging off (WithHedge(0, 1), in a policy
// derived with [Policy.With], for a request that must not be sent twice).
// A negative delay or a maxInFlight below 1 is invalid.
//
// Hedges and retries share one attempt count ([WithMaxAttempts] bounds
// both), and each hedge is admitted like a retry: it withdraws a retry's
// cost from the [Budget] and asks the [Breaker] for admission. A hedge
// either refuses is not sent, and the call sends no further hedges; the
// copies in flight continue. So when every request is slow (a brownout),
// the budget runs dry and the load stays near one copy per call.
// A copy that fails in a way the policy would retry, while others run,
// lets them run: the first such failure since the call's last retry (or
// its start) sends the next hedge at once, as gRPC's A6 does; each later
// one waits the policy's backoff (what a retry would wait), so that copies
// that fail in turn never follow one another faster than retries would,
// even with no attempt limit. No hedge starts past the [WithMaxElapsed]
// limit: the copies running end, and the call stops with ErrMaxElapsed
// unless one succeeds.
// A hedge is not a scheduled retry: [WithNotify] and the observer's
// RetryScheduled do not hear of it; AttemptStart does, with Hedge set.
//
// The operation runs concurrently with itself: it must be safe for that,
// and safe to send twice (an idempotent request). The first copy runs on
// the caller's goroutine; further copies run on goroutines of their own.
// A copy that loses but succeeds anyway has its value given to the
// function of [WithHedgeDiscard], if any (an *http.Response to close).
// See the "Hedging" section of the package documentation for the rules.
func WithHedge(delay time.Duration, maxInFlight int) Option {
	return hedgeOption{delay: delay, max: maxInFlight}
}

// WithAdaptiveHedge is [WithHedge] with a delay learned from the latency
// of the calls: d's current [HedgeDelay.Delay], read as each copy starts.
// Every call of a policy with it feeds d the latency of its attempts
// (see HedgeDelay), whether [DoHedged] runs it or a driver of the
// decision engine ([Policy.Begin], [Policy.Hedge], [Policy.Succeeded],
// [Policy.Failed]), which need not call [HedgeDelay.Observe]. With a
// maxInFlight of 1 it feeds nothing. Share one d between the calls to one
// dependency. A nil
// d, one not made by [NewHedgeDelay], or a maxInFlight below 1 is invalid;
// maxInFlight 1 turns hedging off.
func WithAdaptiveHedge(d *HedgeDelay, maxInFlight int) Option {
	return hedgeOption{adaptive: d, max: maxInFlight, isAdaptive: true}
}

// WithHedgeDiscard makes a hedged call give f every value a copy returned
// with a nil error that is not the call's result (a copy that succeeded
// after another had won): an adapter closes a losing *http.Response there.
// f runs on the goroutine of the copy that returned the value, before the
// call returns. T must be the result type of [DoHedged] (for [RunHedged],
// struct{}): a
// mismatch is an error wrapping [ErrInvalidConfig], reported by the call.
// A nil f removes the function.
func WithHedgeDiscard[T any](f func(T)) Option {
	if f == nil {
		return hedgeDiscardOption{}
	}
	return hedgeDiscardOption{f}
}

type (
	hedgeOption struct {
		delay      time.Duration
		adaptive   *HedgeDelay
		max        int
		isAdaptive bool
	}
	hedgeDiscardOption struct{ f any }
)

func (hedgeOption) isOption()        {}
func (hedgeDiscardOption) isOption() {}

// setHedge applies a WithHedge or WithAdaptiveHedge option.
func (c *config) setHedge(o hedgeOption) {
	name := "WithHedge"
	if o.isAdaptive {
		name = "WithAdaptiveHedge"
	}
	c.hedge.delay, c.hedge.adaptive, c.hedge.max = o.delay, o.adaptive, o.max
	switch {
	case o.max < 1:
		c.fail("%s: maxInFlight must be at least 2 (1 turns hedging off), got %d", name, o.max)
	case o.delay < 0:
		c.fail("%s: the delay must not be negative, got %v", name, o.delay)
	case o.isAdaptive && (o.adaptive == nil || !o.adaptive.valid()):
		c.fail("%s needs a *HedgeDelay made by NewHedgeDelay", name)
	}
}

// hedgeDiscard returns the discard function of cfg for results of type
// T, or the error of a mismatch.
func hedgeDiscard[T any](cfg *config) (func(T), *Error) {
	if cfg.hedge.discard == nil {
		return nil, nil
	}
	f, ok := cfg.hedge.discard.(func(T))
	if !ok {
		return nil, &Error{Reason: fmt.Errorf("%w: WithHedgeDiscard's function is a %T, but the call's result needs a func(%s)",
			ErrInvalidConfig, cfg.hedge.discard, typeName[T]())}
	}
	return f, nil
}

// typeName names the type T.
func typeName[T any]() string {
	s := fmt.Sprintf("%T", (*T)(nil))
	return s[1:]
}
