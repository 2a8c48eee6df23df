package retry

import (
	"sync/atomic"
	"time"
)

// A Budget bounds the retries made by every call that shares it, so that a
// fleet of clients cannot turn a brief outage into a permanent one by
// multiplying its own load. It is a token bucket of Capacity tokens that
// starts full: each retry withdraws its cost (RetryCost, or TimeoutCost
// after an attempt timeout or an error marked [TimedOut]) when the loop
// decides to retry, before the wait. A retry that happens is never
// refunded, even when it fails or its wait is cut short; only a retry that
// never begins because a hook of the call panicked (WithNotify, or an
// observer's hook after the decision) gets its cost back. Each call that
// ends in success deposits
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
	// The first 64 bytes hold everything a withdrawal reads or writes when
	// the budget does not refill with time. NewBudget allocates a Budget of
	// exactly 192 bytes, a size class whose objects start on a 64-byte
	// boundary, so they share one cache line wherever the allocator puts
	// it. The second line is read-mostly (the timeline's origin, written
	// once, which a time refill reads too); the third holds the count of
	// refusals, written only when the budget is dry.
	tokens      atomic.Int64  // micro-tokens, in [0, capacity]
	allowed     atomic.Uint64 // retries granted
	last        atomic.Int64  // nanoseconds on tl up to which time refill was credited
	threshold   int64         // micro-tokens; immutable, as are the fields below
	retryCost   int64
	timeoutCost int64
	capacity    int64
	rate        uint64 // micro-tokens per second; 0: no time refill

	tl         timeline // where time refill is measured from
	perSuccess int64
	link       *budgetLink // the source of a lease; nil for a whole budget
	_          [40]byte

	denied atomic.Uint64 // retries refused
	_      [56]byte
}

// BudgetStats counts the retries a [Budget] granted and refused since it
// was made. It is a snapshot, returned by value.
type BudgetStats struct {
	Allowed uint64 // retries granted
	Denied  uint64 // retries refused (each ended a call with ErrBudgetExhausted)
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
// at; before that the bucket is full. For a budget with a
// [BudgetConfig.Source] (a process's lease of a budget a fleet shares, as
// redisretry makes), it reports the lease's tokens, this process's share,
// not the shared budget's. It is safe to call at any time from any
// goroutine. A nil Budget has 0 tokens.
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
