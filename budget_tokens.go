package retry

// The budget's tokens: a retry withdraws them, a success deposits them, and
// every change is one compare-and-swap on one word, capped at Capacity and
// floored at Threshold.

// withdraw asks at clk for one retry, costing TimeoutCost when the attempt
// being retried timed out and RetryCost otherwise, and reports whether it
// is granted. It needs the time only when the budget refills with time.
func (b *Budget) withdraw(timedOut bool, clk *clock) bool {
	if b.rate > 0 {
		b.refill(b.tl.since(clk.now()))
	}
	if b.link != nil {
		return b.link.spend(b, b.cost(timedOut), clk)
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
func (b *Budget) take(cost int64) bool {
	for {
		cur := b.tokens.Load()
		if cur-cost < b.threshold {
			b.denied.Add(1)
			return false
		}
		if b.tokens.CompareAndSwap(cur, cur-cost) {
			b.allowed.Add(1)
			return true
		}
	}
}

// deposit credits a successful call. It never reads the clock: a deposit
// and a time refill commute, both being capped at the capacity.
func (b *Budget) deposit() {
	if b.perSuccess > 0 {
		b.add(b.perSuccess)
	}
}

// add credits n micro-tokens, capped at the capacity; a lease keeps what
// does not fit as its surplus (see Surplus).
func (b *Budget) add(n int64) {
	for {
		cur := b.tokens.Load()
		next := min(cur+n, b.capacity)
		if next == cur || b.tokens.CompareAndSwap(cur, next) {
			if b.link != nil {
				b.link.surplus.Add(cur + n - next)
			}
			return
		}
	}
}
