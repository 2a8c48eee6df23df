package retry

// Wall-clock forms of the engine's internal methods, for the tests that
// drive a Budget or a Breaker directly (inside a synctest bubble, the wall
// clock is virtual).

func (b *Budget) withdrawNow(timedOut bool) bool {
	var c clock
	return b.withdraw(timedOut, &c)
}

func (b *Breaker) allowNow() (ticket, bool) {
	var c clock
	return b.allow(&c)
}

func (b *Breaker) failNow(t ticket) {
	var c clock
	b.done(t, outcomeFailure, &c, nil)
}

func (b *Breaker) succeedNow(t ticket) {
	var c clock
	b.done(t, outcomeSuccess, &c, nil)
}

func (b *Breaker) cancelNow(t ticket) {
	var c clock
	b.done(t, outcomeNone, &c, nil)
}
