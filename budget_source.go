package retry

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// A BudgetSource lends tokens to a [Budget] that holds only a share of a
// larger budget: the lease a process holds of a budget shared by a fleet of
// processes (package github.com/retrykit/retry/redisretry keeps one in
// Redis). Set it in [BudgetConfig].Source; the Budget is then used like any
// other, with [WithBudget], by Do, the engine and every adapter.
//
// A Budget with a Source starts empty and holds at most its Capacity: the
// lease. A retry is paid from the lease; when the lease holds less than the
// retry costs, the budget asks the source to lend more (Draw), one
// goroutine at a time, and the retry is granted if the lease can then pay
// for it. A deposit (PerSuccess) goes into the lease; what does not fit,
// and whatever is lent or refunded beyond Capacity, is kept as the lease's
// surplus, which the source takes back with [Budget.Surplus] when it syncs
// with the others. So a call that succeeds never waits for the source nor
// calls it, and a retry waits for it only when the lease has run dry. The
// source keeps the shared rules: a Budget with a Source must leave
// Threshold and PerSecond at 0 (the source applies them to the shared
// tokens).
//
// The Budget's Tokens and TokensAt report the lease, and Stats counts the
// retries this Budget granted and refused.
type BudgetSource interface {
	// Draw lends tokens to the budget at instant now, the instant of the
	// decision (the wall clock under Do, the caller's instant for
	// [Policy.Failed], virtual time in a simulator). need (> 0) is what the
	// lease lacks to pay for the retry being decided; room (≥ need) is what
	// the lease can hold. Draw returns the tokens it lends: at least need
	// to grant the retry, less to refuse it (whatever it lends stays in the
	// lease). Amounts are rounded to the budget's resolution, a millionth
	// of a token; a result that is negative or not a number counts as 0,
	// and tokens beyond room go to the surplus.
	//
	// Draw runs on the goroutine of the call whose retry is being decided,
	// which waits for it; other calls of the budget that need a draw wait
	// too, since draws are made one at a time. It must return promptly (a
	// shared store is asked with a short deadline of its own, not the
	// call's: the draw serves every call waiting on it).
	Draw(now time.Time, need, room float64) (lent float64)
}

// budgetLink is what a Budget with a Source keeps beside it.
type budgetLink struct {
	src     BudgetSource
	surplus atomic.Int64 // micro-tokens the lease could not hold, until Surplus takes them
	mu      sync.Mutex   // one draw at a time
}

// Surplus takes and returns the tokens a lease (a Budget with a
// [BudgetSource]) could not hold since the last call: deposits of
// successful calls beyond its Capacity, and tokens lent or refunded beyond
// it. The source calls it when it syncs with the shared budget, to give
// them back. A Budget without a Source, or a nil one, has no surplus: 0.
// It is safe for concurrent use.
func (b *Budget) Surplus() float64 {
	if b == nil || b.link == nil {
		return 0
	}
	return float64(b.link.surplus.Swap(0)) / microsPerToken
}

// spend decides a retry costing cost micro-tokens with the lease of b,
// drawing on the source when the lease cannot pay.
func (l *budgetLink) spend(b *Budget, cost int64, clk *clock) bool {
	if b.grab(cost) {
		b.allowed.Add(1)
		return true
	}
	if !l.draw(b, cost, clk) {
		b.denied.Add(1)
		return false
	}
	b.allowed.Add(1)
	return true
}

// draw asks the source for what the lease lacks and pays cost from the
// lease, unless another goroutine's draw, made while this one waited,
// already refilled it. The deferred unlock keeps the budget usable when the
// source panics.
func (l *budgetLink) draw(b *Budget, cost int64, clk *clock) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b.grab(cost) {
		return true
	}
	cur := b.tokens.Load()
	lent := l.src.Draw(clk.now(), float64(cost-cur)/microsPerToken, float64(b.capacity-cur)/microsPerToken)
	if lent > 0 { // false for NaN too
		b.add(int64(math.Round(min(lent, maxBudgetValue) * microsPerToken)))
	}
	return b.grab(cost)
}

// grab withdraws cost micro-tokens from a budget with a source, unless the
// lease holds less; it counts nothing.
func (b *Budget) grab(cost int64) bool {
	for {
		cur := b.tokens.Load()
		if cur < cost {
			return false
		}
		if b.tokens.CompareAndSwap(cur, cur-cost) {
			return true
		}
	}
}
