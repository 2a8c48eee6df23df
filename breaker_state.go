package retry

import (
	"math/rand/v2"
	"time"
)

// The breaker's state machine. Every method that needs the time takes the
// decision's clock, and reads it only when it must (an open circuit, the
// failure-rate window, a trip), so the closed path of the consecutive rule
// reads no clock at all; instants are measured on the breaker's timeline.

// valid reports whether b was made by NewBreaker.
func (b *Breaker) valid() bool { return b.probes > 0 }

// A ticket is the state word at admission: it ties an outcome to the
// closed or half-open period in which the attempt was admitted.
type ticket uint64

// probe reports whether the attempt holds a half-open probe slot.
func (t ticket) probe() bool { return kindOf(uint64(t)) == BreakerHalfOpen }

// The state word packs the kind (2 bits), the probes in flight (16 bits),
// the probe successes of this half-open period (16 bits), and a generation
// (30 bits) bumped at every change of kind, so that an outcome or a
// compare-and-swap from an earlier period is recognised.
const (
	countMask     = 1<<16 - 1
	inflightShift = 2
	succShift     = 18
	genShift      = 34
	oneInflight   = 1 << inflightShift
	oneSuccess    = 1 << succShift
)

func kindOf(s uint64) BreakerState { return BreakerState(s & 3) }
func inflightOf(s uint64) uint64   { return s >> inflightShift & countMask }
func successesOf(s uint64) uint64 {
	return s >> succShift & countMask
}
func genOf(s uint64) uint64 { return s >> genShift }

// nextState returns the word of the next generation in kind k, with no
// probes in flight and no successes.
func nextState(s uint64, k BreakerState) uint64 { return (genOf(s)+1)<<genShift | uint64(k) }

// outcome is what an attempt tells the breaker about the dependency.
type outcome uint8

const (
	outcomeNone    outcome = iota // the caller gave up: nothing learned
	outcomeSuccess                // the dependency answered
	outcomeFailure                // a failure the policy would retry
)

// The breaker's contract with the engine: admit an attempt at an instant,
// keeping the admission in the call's Progress, and report its outcome.
// The loop holds the Progress; only these two read its admission.

// admit asks at clk for admission of the next attempt of the call pr.
func (b *Breaker) admit(pr *Progress, clk *clock) bool {
	t, ok := b.allow(clk)
	pr.ticket, pr.held = t, ok
	return ok
}

// report records at clk the outcome of the attempt pr holds an admission
// for, once: the admission is spent. A trip draws the jittered open time
// from rnd (nil: math/rand/v2's global source).
func (b *Breaker) report(pr *Progress, o outcome, clk *clock, rnd *lockedRand) {
	if pr.held {
		pr.held = false
		b.done(pr.ticket, o, clk, rnd)
	}
}

// refusesAt reports whether an attempt at clk + wait would be refused
// because the circuit is open until after then. It changes nothing (no
// attempt was asked for, so Stats().Rejected does not count it), and reads
// the clock only while the circuit is open. A circuit closed earlier
// through a BreakerControl is not foreseen.
func (b *Breaker) refusesAt(clk *clock, wait time.Duration) bool {
	if kindOf(b.st.Load()) != BreakerOpen {
		return false
	}
	return b.tl.since(clk.now().Add(wait)) < b.openUntil.Load()
}

// allow asks at clk for admission of one attempt.
func (b *Breaker) allow(clk *clock) (ticket, bool) {
	if s := b.st.Load(); kindOf(s) == BreakerClosed {
		return ticket(s), true
	}
	return b.allowSlow(clk)
}

func (b *Breaker) allowSlow(clk *clock) (ticket, bool) {
	s := b.st.Load()
	for {
		switch kindOf(s) {
		case BreakerClosed:
			return ticket(s), true
		case BreakerOpen:
			if b.tl.since(clk.now()) < b.openUntil.Load() {
				b.rejected.Add(1)
				return 0, false
			}
			b.changeFrom(s, BreakerHalfOpen, clk, nil) // this attempt ends the open period
		case BreakerHalfOpen:
			if inflightOf(s) >= b.probes && b.tl.since(clk.now()) < b.leaseEnd.Load() {
				b.rejected.Add(1) // every slot is held, and its lease runs
				return 0, false
			}
			if t, ok, decided := b.admitProbe(clk); decided {
				if !ok {
					b.rejected.Add(1)
				}
				return t, ok
			}
		}
		s = b.st.Load()
	}
}

// done records at clk the outcome of the attempt admitted with t. A trip
// draws the jittered open time from rnd (nil: math/rand/v2's global
// source).
func (b *Breaker) done(t ticket, o outcome, clk *clock, rnd *lockedRand) {
	switch o {
	case outcomeSuccess:
		b.succeed(t, clk)
	case outcomeFailure:
		b.fail(t, clk, rnd)
	default:
		if t.probe() {
			b.probeDone(t, outcomeNone, clk, rnd)
		}
	}
}

// succeed records a successful attempt. In a closed period with the
// consecutive rule alone and no failure pending, it only reads.
func (b *Breaker) succeed(t ticket, clk *clock) {
	if kindOf(uint64(t)) == BreakerClosed && b.width == 0 && b.fails.Load() == 0 {
		return
	}
	b.succeedSlow(t, clk)
}

func (b *Breaker) succeedSlow(t ticket, clk *clock) {
	if kindOf(uint64(t)) != BreakerClosed {
		b.probeDone(t, outcomeSuccess, clk, nil)
		return
	}
	if b.width > 0 && b.st.Load() == uint64(t) {
		b.recordWindow(false, clk)
	}
	if b.fails.Load() != 0 && b.st.Load() == uint64(t) {
		b.fails.Store(0)
	}
}

// fail records a failed attempt, and opens the circuit if a rule says so.
func (b *Breaker) fail(t ticket, clk *clock, rnd *lockedRand) {
	b.failures.Add(1)
	if kindOf(uint64(t)) != BreakerClosed {
		b.probeDone(t, outcomeFailure, clk, rnd)
		return
	}
	if b.st.Load() != uint64(t) {
		return // admitted in an earlier closed period
	}
	trip := b.width > 0 && b.recordWindow(true, clk)
	if b.threshold > 0 && b.fails.Add(1) >= b.threshold {
		trip = true // the consecutive rule; without it nothing counts failures in a row
	}
	if trip {
		b.changeFrom(uint64(t), BreakerOpen, clk, rnd)
	}
}

// changeFrom moves the circuit from state word s to kind k, unless someone
// moved it on first. The deferred unlock keeps the breaker usable when the
// state-change hook panics.
func (b *Breaker) changeFrom(s uint64, k BreakerState, clk *clock, rnd *lockedRand) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.st.Load() != s {
		return
	}
	if k == BreakerOpen {
		b.open(s, clk, rnd)
	} else {
		b.change(s, nextState(s, k), clk)
	}
}

// open opens the circuit from state word s at clk. b.mu is held.
func (b *Breaker) open(s uint64, clk *clock, rnd *lockedRand) {
	b.trips++
	b.openUntil.Store(satAdd(b.tl.since(clk.now()), b.openFor(b.trips, rnd)))
	b.opened.Add(1)
	b.change(s, nextState(s, BreakerOpen), clk)
}

// closeCircuit closes the circuit from state word s, forgetting the
// failures of the previous closed period. b.mu is held.
func (b *Breaker) closeCircuit(s uint64, clk *clock) {
	b.trips = 0
	b.fails.Store(0)
	for i := range b.buckets {
		b.buckets[i].Store(0)
	}
	b.change(s, nextState(s, BreakerClosed), clk)
}

// change moves the state word from s to next, which is of a new generation,
// records the change in the decision's clk (for the call's observer) and
// calls the hook. b.mu is held, so only half-open admissions can race
// with it (admitProbe, under b.pmu); they only add probes in flight or
// start a new half-open period, which next discards.
func (b *Breaker) change(s, next uint64, clk *clock) {
	for !b.st.CompareAndSwap(s, next) {
		s = b.st.Load()
		next = nextState(s, kindOf(next))
	}
	clk.changed, clk.from, clk.to = true, kindOf(s), kindOf(next)
	if b.hook != nil {
		b.hook(kindOf(s), kindOf(next))
	}
}

// openFor returns how long, in nanoseconds, the circuit stays open after
// its n-th trip since it was last closed; the jitter of a lengthened open
// time is drawn from rnd (nil: math/rand/v2's global source).
func (b *Breaker) openFor(n int, rnd *lockedRand) int64 {
	d := b.recovery
	if b.maxRecovery == 0 || n <= 1 {
		return d
	}
	for i := 1; i < n && d < b.maxRecovery; i++ {
		if d > b.maxRecovery/2 {
			d = b.maxRecovery
		} else {
			d *= 2
		}
	}
	var j int64
	if rnd == nil {
		j = rand.Int64N(d/2 + 1)
	} else {
		j = int64(rnd.between(0, time.Duration(d/2)))
	}
	return max(d/2+j, b.recovery)
}
