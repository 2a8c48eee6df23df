package retry

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// An Option configures a call of [Do], [Run], [DoHedged] or [RunHedged],
// or a [Policy]. Options apply in order and later ones override earlier
// ones; a *Policy among them sets the whole configuration. Invalid options
// never panic: the calls, NewPolicy and With report them as an error
// wrapping [ErrInvalidConfig].
//
// Only this package defines options. Option values are immutable and safe
// to share between goroutines.
type Option interface {
	isOption()
}

// Default values of a policy; see [NewPolicy].
const (
	DefaultMaxAttempts = 4
	DefaultInitial     = 100 * time.Millisecond
	DefaultMultiplier  = 2.0
	DefaultMaxDelay    = 30 * time.Second
)

// config is the complete configuration of a call. Its zero value is not
// usable: start from defaultConfig.
type config struct {
	maxAttempts    int
	maxElapsed     time.Duration
	attemptTimeout time.Duration
	maxDelay       time.Duration
	strategy       Strategy // nil means Exponential(DefaultInitial, DefaultMultiplier)
	jitter         Jitter
	rand           *lockedRand // nil means math/rand/v2's global source
	exactHints     bool
	classifiers    chain
	notify         func(context.Context, RetryInfo)
	observer       *Observer
	logs           *logTo   // the observer is LogTo's (see levelled); set by settle
	budget         *Budget  // nil: no budget
	breaker        *Breaker // nil: no breaker
	err            error    // the first invalid option, wrapping ErrInvalidConfig
	zeroWaits      bool     // every computed wait is 0 (see zeroDelays); set by settle
	instant        bool     // zeroWaits, and nothing else to decide before a retry; set by settle
	timed          bool     // something measures from the call's start; set by settle
	bare           bool     // no breaker, no observer, not timed: begin only counts; set by settle
	quick          bool     // bare and instant, no observer, no attempt timeout: a failure needs only decide and count, a success nothing; set by settle
	instantUpTo    int      // instant without a breaker: a retryable failure of an attempt below it retries at once (maxAttempts, or no limit); 0 otherwise; set by settle
	isLean         bool     // lean(), computed once by settle
	built          bool     // set by NewPolicy: a zero Policy is rejected

	hedge hedgeConfig // WithHedge, WithAdaptiveHedge, WithHedgeDiscard (hedge.go)
}

func defaultConfig() config {
	return config{maxAttempts: DefaultMaxAttempts, maxDelay: DefaultMaxDelay, jitter: Jitter{jitterFull}}
}

// settle derives what the loop can know in advance once every option is
// applied: a strategy of this package whose every delay is 0 (Constant(0),
// Exponential(0, m), Linear(0, 0), Fibonacci(0)) makes every computed wait
// zero, whatever the jitter, so the loop skips the wait computation
// entirely.
func (c *config) settle() {
	c.zeroWaits = zeroDelays(c.strategy)
	c.instant = c.zeroWaits && c.maxElapsed == 0 && c.budget == nil && c.notify == nil
	c.logs = c.observer.levelled()
	c.timed = c.maxElapsed > 0 || c.notify != nil || c.observer != nil && c.logs == nil
	c.bare = !c.timed && c.breaker == nil
	c.quick = c.bare && c.instant && c.observer == nil && c.attemptTimeout == 0
	c.instantUpTo = 0
	if c.instant && c.breaker == nil {
		c.instantUpTo = c.maxAttempts
		if c.maxAttempts == 0 {
			c.instantUpTo = math.MaxInt
		}
	}
	c.isLean = c.lean()
}

// zeroDelays reports whether s is a strategy of this package whose every
// delay is 0.
func zeroDelays(s Strategy) bool {
	switch s := s.(type) {
	case constant:
		return s.d == 0
	case linear:
		return s.initial == 0 && s.step == 0
	case exponential:
		return s.initial == 0
	case fibonacci:
		return s.unit == 0
	}
	return false
}

// lean reports whether a call needs nothing before its first attempt (no
// clock, no attempt context) and nothing after a success but a budget's
// deposit, so that Do can take its fast path (which takes the attempt
// step's succeeded when there is a budget). Every other feature that acts
// on the first attempt or on a success must make it false.
func (c *config) lean() bool {
	return c.attemptTimeout == 0 && c.maxElapsed == 0 && c.notify == nil && c.observer == nil && c.breaker == nil && !c.hedge.on()
}

type (
	maxAttemptsOption    int
	maxElapsedOption     time.Duration
	attemptTimeoutOption time.Duration
	maxDelayOption       time.Duration
	backoffOption        struct{ s Strategy }
	jitterOption         struct{ j Jitter }
	randOption           struct{ r *lockedRand }
	exactHintsOption     struct{}
	classifierOption     []Classifier
	soleClassifier       Classifier
	notifyOption         func(context.Context, RetryInfo)
)

func (maxAttemptsOption) isOption()    {}
func (maxElapsedOption) isOption()     {}
func (attemptTimeoutOption) isOption() {}
func (maxDelayOption) isOption()       {}
func (backoffOption) isOption()        {}
func (jitterOption) isOption()         {}
func (randOption) isOption()           {}
func (exactHintsOption) isOption()     {}
func (classifierOption) isOption()     {}
func (soleClassifier) isOption()       {}
func (notifyOption) isOption()         {}

// WithMaxAttempts bounds the total number of calls of the operation (the
// first attempt included): n = 4 means up to 3 retries. 0 means no limit;
// a negative n is invalid. Default 4. It counts calls, not what a call
// does: one attempt of an httpx request can reach the server more than
// once (see the httpx package documentation, "Attempts and sends").
func WithMaxAttempts(n int) Option { return maxAttemptsOption(n) }

// WithMaxElapsed stops retrying once the next wait would end at or after d
// since Do was called; the reason is ErrMaxElapsed. It does not interrupt a
// running attempt: use the context for a hard bound. 0 means no limit (the
// default); a negative d is invalid.
func WithMaxElapsed(d time.Duration) Option { return maxElapsedOption(d) }

// WithAttemptTimeout gives each attempt its own context with timeout d. An
// attempt that hits this timeout is retried; the caller's own cancellation
// or deadline is not. 0 means no per-attempt timeout (the default); a
// negative d is invalid.
func WithAttemptTimeout(d time.Duration) Option { return attemptTimeoutOption(d) }

// WithBackoff sets the strategy that computes the base delay before each
// retry. Default Exponential(100ms, 2). A nil strategy is invalid.
func WithBackoff(s Strategy) Option {
	if o, ok := s.(ownStrategy); ok {
		return o // this package's strategies are options too: no allocation
	}
	return backoffOption{s}
}

// ownStrategy is a Strategy of this package, which is its own option.
type ownStrategy interface {
	Strategy
	Option
}

// WithMaxDelay caps every wait, computed or jittered, at d. A server hint
// longer than d stops the loop with ErrHintTooLong. 0 means no cap; a
// negative d is invalid. Default 30s.
func WithMaxDelay(d time.Duration) Option { return maxDelayOption(d) }

// WithJitter sets how waits are randomised. Default FullJitter.
func WithJitter(j Jitter) Option { return jitterOption{j} }

// WithRand draws jitter from r instead of math/rand/v2's global source, for
// reproducible waits. The library serialises access to r, so one policy
// built with it can still be shared by many goroutines (the order of their
// draws then depends on scheduling). A nil r is invalid.
func WithRand(r *rand.Rand) Option {
	if r == nil {
		return randOption{}
	}
	return randOption{&lockedRand{r: r}}
}

// WithExactHints makes the loop wait exactly the delay a server hint asks
// for ([After], or Retry-After in httpx), without the jittered spread.
func WithExactHints() Option { return exactHintsOption{} }

// WithClassifier sets the classifier chain, replacing any earlier one: the
// first classifier that is not Unclassified decides. With no classifiers,
// every error is retryable except those the operation marks otherwise
// (see [Classifier]). A nil classifier is invalid.
func WithClassifier(cs ...Classifier) Option {
	if len(cs) == 1 && cs[0] != nil {
		return soleClassifier(cs[0]) // a func value is boxed without allocation
	}
	return classifierOption(append([]Classifier(nil), cs...))
}

// WithNotify calls f once per retry, after an attempt failed and before the
// wait starts; never when the loop stops. f runs on the caller's goroutine
// and delays the retry by its own duration. A nil f removes the hook.
//
// It receives the event the RetryScheduled hook of an [Observer] receives,
// and is kept apart from [WithObserver]: a call can have both, and f runs
// before the observer hears of that attempt's end.
func WithNotify(f func(ctx context.Context, r RetryInfo)) Option { return notifyOption(f) }

// apply sets the option o in c, recording the first invalid option in c.err.
func (c *config) apply(o Option) {
	switch o := o.(type) {
	case *Policy:
		c.applyPolicy(o)
	case maxAttemptsOption:
		c.maxAttempts = int(o)
		if o < 0 {
			c.fail("WithMaxAttempts must not be negative, got %d", int(o))
		}
	case maxElapsedOption:
		c.maxElapsed = time.Duration(o)
		if o < 0 {
			c.fail("WithMaxElapsed must not be negative, got %v", time.Duration(o))
		}
	case attemptTimeoutOption:
		c.attemptTimeout = time.Duration(o)
		if o < 0 {
			c.fail("WithAttemptTimeout must not be negative, got %v", time.Duration(o))
		}
	case maxDelayOption:
		c.maxDelay = time.Duration(o)
		if o < 0 {
			c.fail("WithMaxDelay must not be negative, got %v", time.Duration(o))
		}
	case ownStrategy:
		c.strategy = o
		c.checkStrategy(o)
	case backoffOption:
		c.strategy = o.s
		c.checkStrategy(o.s)
	case jitterOption:
		c.jitter = o.j
		c.checkErr(o.j.validate())
	case randOption:
		c.rand = o.r
		if o.r == nil {
			c.fail("WithRand needs a non-nil *rand.Rand")
		}
	case exactHintsOption:
		c.exactHints = true
	case soleClassifier:
		c.classifiers = chain{one: Classifier(o)}
	case classifierOption:
		c.classifiers = chain{list: o}
		for i, cl := range o {
			if cl == nil {
				c.fail("WithClassifier: classifier %d is nil", i)
			}
		}
	case notifyOption:
		c.notify = o
	case observerOption:
		c.observer = o.o
	case budgetOption:
		c.setBudget(o.b)
	case breakerOption:
		c.setBreaker(o.b)
	case hedgeOption:
		c.setHedge(o)
	case hedgeDiscardOption:
		c.hedge.discard = o.f
	default:
		c.fail("nil Option")
	}
}

// applyPolicy replaces the whole configuration with p's, keeping an earlier
// error so that an invalid option is never silently dropped.
func (c *config) applyPolicy(p *Policy) {
	if p == nil {
		c.fail("nil *Policy")
		return
	}
	err := c.err
	*c = p.cfg
	c.err = err
	if !p.cfg.built {
		c.fail("a *Policy must come from NewPolicy or With; the zero Policy is not valid")
	}
}

func (c *config) checkStrategy(s Strategy) {
	if f, ok := s.(StrategyFunc); s == nil || ok && f == nil {
		c.fail("WithBackoff needs a non-nil Strategy")
		return
	}
	if v, ok := s.(validator); ok {
		c.checkErr(v.validate())
	}
}

func (c *config) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
	}
}

func (c *config) checkErr(err error) {
	if c.err == nil {
		c.err = err
	}
}
