package retry

import (
	"math/bits"
	"time"
)

// The budget's time refill (BudgetConfig.PerSecond), computed lazily when
// the budget is used, in whole micro-tokens.

// refill credits the time refill accrued up to now (nanoseconds on the
// budget's timeline, which starts at the first instant the budget is given:
// the bucket is full until then, so nothing before it needs crediting).
// Whoever advances b.last over an interval credits that interval, so each
// interval is credited exactly once. The credit is the difference of two
// absolute marks, the whole micro-tokens accrued since the origin, so the
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

// mark returns the whole micro-tokens accrued from the timeline's origin
// to t, modulo 2⁶⁴: the low 64 bits of ⌊t·rate / 1e9⌋. A difference of two
// marks is exact whenever the true difference is below 2⁶⁴, which fills
// rules out.
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
