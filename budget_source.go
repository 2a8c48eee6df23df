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
// and whatever is lent beyond Capacity, is gathered and given to the
// source (Give) whenever a whole Capacity of it has gathered. So a call
// that succeeds never waits for the source (and calls it once per
// Capacity of deposits), and a retry waits for it only when the lease has
// run dry. The source keeps the shared rules:
// a Budget with a Source must leave Threshold and PerSecond at 0 (the
// source applies them to the shared tokens).
//
// The Budget's Tokens and TokensAt report the lease, and Stats counts the
// retries this Budget granted and refused.
type BudgetSource interface {
	// Draw lends tokens to the budget at instant now, the instant of the
	// decision (the wall clock under Do, the caller's instant for
	// [Policy.Failed], virtual time in a simulator). need (> 0) is what the lease lacks
	// to pay for the retry being decided; room (≥ need) is what the lease
	// can hold. Draw returns the tokens it lends: at least need to grant
	// the retry, less to refuse it (whatever it lends stays in the lease).
	// Amounts are rounded to the budget's resolution, a millionth of a
	// token; a result that is negative or not a number counts as 0, and
	// tokens beyond room go back to Give.
	//
	// Draw runs on the goroutine of the call whose retry is being decided,
	// which waits for it; other calls of the budget that need a draw wait
	// too, since draws are made one at a time. It must return promptly (a
	// shared store is asked with a short deadline of its own, not the
	// call's: the draw serves every call waiting on it).
	Draw(now time.Time, need, room float64) (lent float64)
	// Give receives tokens the lease could not hold (deposits of
	// successful calls beyond Capacity, tokens lent or refunded beyond
	// it), at least Capacity at a time. It is called on the path of a
	// successful call, from any goroutine, so it must be quick, must not
	// block and must be safe for concurrent use.
	Give(tokens float64)
}

// budgetLink is what a Budget with a Source keeps beside it.
type budgetLink struct {
	src  BudgetSource
	over atomic.Int64 // micro-tokens the lease could not hold, not yet given
	mu   sync.Mutex   // one draw at a time
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

// give gathers n micro-tokens the lease of b could not hold, and hands
// the source what gathered once it is a whole Capacity.
func (l *budgetLink) give(b *Budget, n int64) {
	if l.over.Add(n) < b.capacity {
		return
	}
	if v := l.over.Swap(0); v > 0 {
		l.src.Give(float64(v) / microsPerToken)
	}
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
