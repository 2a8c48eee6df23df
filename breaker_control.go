package retry

import "time"

// A BreakerControl drives a [Breaker] from outside its own rules: it is
// the side of a breaker shared by several processes (package redisretry
// keeps one in Redis) that opens the circuit when the fleet's counts say
// so, closes it when the fleet's probes succeeded, and reads the counts
// the breaker's rules look at, to add them up with the other processes'.
// NewBreaker gives it to [BreakerConfig].Control; there is no other way to
// get one.
//
// Changes made through it are changes of state like any other:
// OnStateChange sees them, and the breaker's rules go on applying to its
// own attempts. Its methods are safe for concurrent use with the breaker's
// calls, and must not be called from OnStateChange. The zero
// BreakerControl drives no breaker: Open and Close do nothing, and Counts
// returns zeros.
type BreakerControl struct{ b *Breaker }

// Open opens the circuit at now until the instant until, when it turns
// half-open as after its own recovery timeout; a circuit already open
// stays open until then instead. A circuit that was not open counts in
// Stats().Opened.
func (c BreakerControl) Open(now, until time.Time) {
	b := c.b
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	clk := at(now)
	b.tl.since(now) // the timeline starts here if nothing came before
	b.openUntil.Store(b.tl.since(until))
	if s := b.st.Load(); kindOf(s) != BreakerOpen {
		b.opened.Add(1)
		b.change(s, nextState(s, BreakerOpen), &clk)
	}
}

// Close closes the circuit at now, forgetting the failures counted before,
// unless it is closed already.
func (c BreakerControl) Close(now time.Time) {
	b := c.b
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	clk := at(now)
	if s := b.st.Load(); kindOf(s) != BreakerClosed {
		b.closeCircuit(s, &clk)
	}
}

// Counts returns what the breaker's rules look at, at now: the failures in
// a row of the current closed period (0 in any other state), and the
// failures and attempts in the failure-rate window (0 and 0 without the
// failure-rate rule).
func (c BreakerControl) Counts(now time.Time) (consecutive, failures, attempts uint64) {
	b := c.b
	if b == nil {
		return 0, 0, 0
	}
	if kindOf(b.st.Load()) == BreakerClosed {
		consecutive = uint64(max(b.fails.Load(), 0))
	}
	if b.width > 0 {
		if t, ok := b.tl.peek(now); ok {
			failures, attempts = b.windowCounts(uint64(t / b.width))
		}
	}
	return consecutive, failures, attempts
}

// Probing reports whether the circuit is half-open with probes in flight:
// a recovery's probing is under way, and ends when they return. Code that
// shares the breaker uses it to keep one process probing until its probes
// end, rather than letting another start probes of its own meanwhile.
func (c BreakerControl) Probing() bool {
	s := c.b.st.Load()
	return kindOf(s) == BreakerHalfOpen && inflightOf(s) > 0
}
