package retry

import (
	"fmt"
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// BudgetConfig configures a [Budget]. Amounts are in tokens, a unit of
// retry; the resolution is one millionth of a token. A zero field takes the
// default stated beside it.
//
// A common client budget is BudgetConfig{Capacity: 10, PerSuccess: 1}: a
// burst of failures can make at most 10 retries in all, and every call
// that succeeds earns one retry back.
type BudgetConfig struct {
	// Capacity is the size of the bucket: the number of retries a burst of
	// failures can make before the budget runs dry. It must be > 0 (and at
	// most 1e12). The bucket starts full.
	Capacity float64
	// PerSuccess is deposited by every call of Do that ends in success.
	// 0 (the default) deposits nothing.
	PerSuccess float64
	// PerSecond refills the bucket with time, in tokens per second,
	// computed lazily when the budget is used. 0 (the default) means no
	// time refill, and the budget then never reads the clock.
	PerSecond float64
	// RetryCost is withdrawn for each retry. Default 1.
	RetryCost float64
	// TimeoutCost is withdrawn instead of RetryCost when the attempt being
	// retried hit its own [WithAttemptTimeout], so that timeouts, which hold
	// resources on the server for longest, can cost more. Default RetryCost.
	TimeoutCost float64
	// Threshold is the floor a withdrawal must not cross: a retry is granted
	// only if the tokens left after paying its cost are at or above
	// Threshold. Default 0. It must be below Capacity.
	//
	// Capacity/2 keeps half the bucket for when the dependency recovers.
	// gRPC's retry throttling (gRFC A6) is one retry stricter: grpc-go
	// retries only while the tokens left are above half, so from a full
	// bucket of 10 it makes 4 retries where Threshold 5 allows 5. Threshold
	// Capacity/2 + 1e-6 (the resolution) reproduces it exactly.
	Threshold float64
}

// A Budget bounds the retries made by every call that shares it, so that a
// fleet of clients cannot turn a brief outage into a permanent one by
// multiplying its own load. It is a token bucket of Capacity tokens that
// starts full: each retry withdraws its cost (RetryCost, or TimeoutCost
// after an attempt timeout) when the loop decides to retry, before the
// wait, and nothing is refunded; each call that ends in success deposits
// PerSuccess; PerSecond refills it with time. It never holds more than
// Capacity tokens and a withdrawal never takes it below Threshold (so
// never below zero).
//
// A retry the budget refuses ends the call with [ErrBudgetExhausted] and
// the last error: the decision is the client's, not the server's. First
// attempts never need tokens, so an empty budget turns the client into one
// that tries each call once, until successes or time refill it.
//
// Attach a budget to calls with [WithBudget]; share one budget among all
// the calls to one dependency. The zero Budget is not usable: make one
// with [NewBudget] (WithBudget reports a zero Budget as invalid).
//
// A Budget measures time from the first instant it is given: the wall
// clock under [Do], or the instants a caller passes to [Policy.Failed]. One
// Budget serves one timeline: share it between Do and a caller that passes
// time.Now(), never with a simulator's virtual clock.
//
// A Budget is safe for concurrent use by any number of goroutines. It is
// lock-free (atomic compare-and-swap), owns no goroutine or timer, and
// computes time refill lazily from the clock when it is used, like
// golang.org/x/time/rate. Under contention, a refill credited by one
// goroutine can become visible to another a moment late, which can only
// make the budget refuse early, never grant more than its tokens allow.
type Budget struct {
	// Three cache lines, each written by one kind of event. NewBudget
	// allocates exactly 192 bytes, a size class whose objects start on a
	// 64-byte boundary, so the lines are separate wherever the allocator
	// puts the Budget. The first holds what a granted retry, a deposit or
	// a time refill writes; the second is read-only after NewBudget (the
	// timeline's origin is written once), so reading the configuration never
	// waits for another core's write; the third is written only when a
	// retry is refused.
	tokens  atomic.Int64  // micro-tokens, in [threshold, capacity]
	allowed atomic.Uint64 // retries granted
	last    atomic.Int64  // nanoseconds on tl up to which time refill was credited
	_       [40]byte

	threshold   int64 // micro-tokens; immutable, as are the fields below
	retryCost   int64
	timeoutCost int64
	capacity    int64
	perSuccess  int64
	rate        uint64   // micro-tokens per second; 0: no time refill
	tl          timeline // where time refill is measured from
	_           [8]byte

	denied atomic.Uint64 // retries refused
	dry    atomic.Bool   // the latest withdrawal was refused; see take
	_      [52]byte
}

// BudgetStats counts the retries a [Budget] granted and refused since it
// was made. It is a snapshot, returned by value.
type BudgetStats struct {
	Allowed uint64 // retries granted
	Denied  uint64 // retries refused (each ended a call with ErrBudgetExhausted)
}

const (
	microsPerToken = 1_000_000
	maxBudgetValue = 1e12 // tokens (or tokens per second); keeps micro-tokens far from overflow
)

// NewBudget returns a full budget configured by c, or an error wrapping
// [ErrInvalidConfig] when a value is negative, NaN or infinite, when
// Capacity is not positive, when Threshold is not below Capacity, or when a
// retry could never be granted (a cost above Capacity − Threshold).
func NewBudget(c BudgetConfig) (*Budget, error) {
	if c.RetryCost == 0 {
		c.RetryCost = 1
	}
	if c.TimeoutCost == 0 {
		c.TimeoutCost = c.RetryCost
	}
	b := &Budget{}
	var rate int64
	for _, f := range [...]struct {
		name string
		v    float64
		dst  *int64
	}{
		{"Capacity", c.Capacity, &b.capacity},
		{"PerSuccess", c.PerSuccess, &b.perSuccess},
		{"PerSecond", c.PerSecond, &rate},
		{"RetryCost", c.RetryCost, &b.retryCost},
		{"TimeoutCost", c.TimeoutCost, &b.timeoutCost},
		{"Threshold", c.Threshold, &b.threshold},
	} {
		m, err := toMicros(f.name, f.v)
		if err != nil {
			return nil, err
		}
		*f.dst = m
	}
	switch {
	case b.capacity == 0:
		return nil, budgetError("Capacity must be > 0, got %v", c.Capacity)
	case b.threshold >= b.capacity:
		return nil, budgetError("Threshold (%v) must be below Capacity (%v)", c.Threshold, c.Capacity)
	case max(b.retryCost, b.timeoutCost) > b.capacity-b.threshold:
		return nil, budgetError("RetryCost (%v) and TimeoutCost (%v) must not exceed Capacity - Threshold (%v): no retry could ever be granted",
			c.RetryCost, c.TimeoutCost, c.Capacity-c.Threshold)
	}
	b.rate = uint64(rate)
	b.tokens.Store(b.capacity)
	return b, nil
}

// toMicros converts a non-negative, finite amount of tokens to micro-tokens.
func toMicros(name string, v float64) (int64, error) {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, budgetError("%s must be finite, got %v", name, v)
	case v < 0:
		return 0, budgetError("%s must not be negative, got %v", name, v)
	case v > maxBudgetValue:
		return 0, budgetError("%s must be at most %g, got %v", name, maxBudgetValue, v)
	}
	m := int64(math.Round(v * microsPerToken))
	if m == 0 && v > 0 {
		return 0, budgetError("%s (%v) is below the resolution of 1e-6 tokens", name, v)
	}
	return m, nil
}

func budgetError(format string, args ...any) error {
	return fmt.Errorf("%w: BudgetConfig: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

// Tokens returns the number of tokens in the budget now, time refill
// included (to a millionth of a token). It is shorthand for
// TokensAt(time.Now()), and reads the clock only when PerSecond is set. A
// nil Budget, which [WithBudget] takes as no budget, has 0 tokens.
func (b *Budget) Tokens() float64 {
	if b == nil || b.rate == 0 {
		return b.TokensAt(time.Time{})
	}
	return b.TokensAt(time.Now())
}

// TokensAt returns the number of tokens the budget would hold at instant t,
// time refill up to t included, for callers that drive the budget on their
// own clock (see [Policy.Failed]). It changes nothing, like
// rate.Limiter.TokensAt: asking about a later instant credits no refill.
// Time is measured from the first instant the budget was given a decision
// at; before that the bucket is full. It is safe to call at any time from
// any goroutine. A nil Budget has 0 tokens.
func (b *Budget) TokensAt(t time.Time) float64 {
	if b == nil {
		return 0
	}
	cur := b.tokens.Load()
	if b.rate > 0 {
		if now, ok := b.tl.peek(t); ok {
			cur = min(cur+b.credit(b.last.Load(), now), b.capacity)
		}
	}
	return float64(cur) / microsPerToken
}

// Stats returns the counts of retries granted and refused so far. It is
// safe to call at any time from any goroutine; the two counts are read one
// after the other, not as one atomic snapshot. A nil Budget has zero counts.
func (b *Budget) Stats() BudgetStats {
	if b == nil {
		return BudgetStats{}
	}
	return BudgetStats{Allowed: b.allowed.Load(), Denied: b.denied.Load()}
}

// valid reports whether b was made by NewBudget.
func (b *Budget) valid() bool { return b.capacity > 0 }

// withdraw asks at clk for one retry, costing TimeoutCost when the attempt
// being retried timed out and RetryCost otherwise, and reports whether it
// is granted. It needs the time only when the budget refills with time.
func (b *Budget) withdraw(timedOut bool, clk *clock) bool {
	if b.rate > 0 {
		b.refill(b.tl.since(clk.now()))
	}
	return b.take(b.cost(timedOut))
}

// refund gives back a granted retry that did not happen: the notify hook
// panicked between the withdrawal and the wait. Only the grant is counted
// back; Stats still shows it as allowed.
func (b *Budget) refund(timedOut bool) { b.add(b.cost(timedOut)) }

// cost is the price of one retry.
func (b *Budget) cost(timedOut bool) int64 {
	if timedOut {
		return b.timeoutCost
	}
	return b.retryCost
}

// take withdraws cost micro-tokens unless that would cross the threshold.
//
// A withdrawal begins with a compare-and-swap that guesses a full bucket,
// which is how a burst of failures finds it: when the guess is right the
// withdrawal is one atomic operation, and when it is wrong the failed swap
// has still fetched the line for writing, so the load and swap after it
// do not wait for another core a second time, as a load followed by a
// swap would under contention. Once a withdrawal was refused (b.dry), the
// next ones load first, so that a dry budget refuses without writing the
// tokens' line.
func (b *Budget) take(cost int64) bool {
	cur, dry := b.capacity, b.dry.Load()
	if dry {
		cur = b.tokens.Load()
	}
	for {
		if cur-cost < b.threshold {
			b.refuse()
			return false
		}
		if b.tokens.CompareAndSwap(cur, cur-cost) {
			b.allowed.Add(1)
			if dry {
				b.dry.Store(false)
			}
			return true
		}
		cur = b.tokens.Load()
	}
}

// refuse counts a refused withdrawal and remembers that the budget is dry.
func (b *Budget) refuse() {
	b.denied.Add(1)
	if !b.dry.Load() {
		b.dry.Store(true)
	}
}

// deposit credits a successful call. It never reads the clock: a deposit
// and a time refill commute, both being capped at the capacity.
func (b *Budget) deposit() {
	if b.perSuccess > 0 {
		b.add(b.perSuccess)
	}
}

// add credits n micro-tokens, capped at the capacity.
func (b *Budget) add(n int64) {
	for {
		cur := b.tokens.Load()
		next := min(cur+n, b.capacity)
		if next == cur || b.tokens.CompareAndSwap(cur, next) {
			return
		}
	}
}

// refill credits the time refill accrued up to now (nanoseconds on the
// budget's timeline, which starts at the first instant the budget is given:
// the bucket is full until then, so nothing before it needs crediting). Whoever advances b.last over an interval credits that interval, so
// each interval is credited exactly once. The credit is the difference of
// two absolute marks, the whole micro-tokens accrued since the origin, so the
// fractions of a micro-token between frequent refills are never lost.
func (b *Budget) refill(now int64) {
	for {
		last := b.last.Load()
		credit := b.credit(last, now)
		if credit == 0 {
			return // nothing whole yet: leave b.last, the fraction stays accrued
		}
		if b.last.CompareAndSwap(last, now) {
			b.add(credit)
			return
		}
	}
}

// credit returns the whole micro-tokens of refill accrued from last to now,
// capped at a full bucket; 0 when now is not after last.
func (b *Budget) credit(last, now int64) int64 {
	if now <= last {
		return 0
	}
	if b.fills(uint64(now - last)) {
		return b.capacity
	}
	return int64(b.mark(now) - b.mark(last)) // exact: fills ruled out an overflow
}

// mark returns the whole micro-tokens accrued from the timeline's origin to t, modulo 2⁶⁴:
// the low 64 bits of ⌊t·rate / 1e9⌋. A difference of two marks is exact
// whenever the true difference is below 2⁶⁴, which fills rules out.
func (b *Budget) mark(t int64) uint64 {
	hi, lo := bits.Mul64(uint64(t), b.rate)
	q, _ := bits.Div64(hi%uint64(time.Second), lo, uint64(time.Second))
	return q
}

// fills reports whether elapsed nanoseconds of refill are worth a full
// bucket or more.
func (b *Budget) fills(elapsed uint64) bool {
	hi, lo := bits.Mul64(elapsed, b.rate)
	if hi >= uint64(time.Second) {
		return true
	}
	q, _ := bits.Div64(hi, lo, uint64(time.Second))
	return q >= uint64(b.capacity)
}

// WithBudget makes the call's retries draw on b; see [Budget]. A retry
// the budget refuses ends the call with reason [ErrBudgetExhausted], and a
// call that ends in success deposits b's PerSuccess. A nil b removes an
// earlier budget; a Budget not made by [NewBudget] is invalid.
func WithBudget(b *Budget) Option { return budgetOption{b} }

type budgetOption struct{ b *Budget }

func (budgetOption) isOption() {}

func (c *config) setBudget(b *Budget) {
	c.budget = b
	if b != nil && !b.valid() {
		c.fail("WithBudget: the Budget was not made by NewBudget")
	}
}
