package redisretry

import (
	"math"
	"sync"
	"time"
)

// bucket is the shared budget's rules in micro-tokens, computed in Go: the
// budget a process falls back to while Redis cannot be used. budgetScript
// applies the same rules to the shared state in Redis (a property test
// runs both side by side).
type bucket struct {
	rules
	mu  sync.Mutex
	tok float64 // micro-tokens
	at  int64   // microseconds of the last refill; 0: not yet started
}

// rules are a budget's configuration in micro-tokens (and micro-tokens per
// second), as the script receives them.
type rules struct {
	capacity, threshold, rate float64
}

func newBucket(r rules) *bucket { return &bucket{rules: r, tok: r.capacity} }

// refill credits the time refill up to now (microseconds); under b.mu.
func (b *bucket) refill(now int64) {
	if b.at != 0 && b.rate > 0 && now > b.at {
		b.tok = math.Min(b.capacity, b.tok+float64(now-b.at)*b.rate/1e6)
	}
	if now > b.at {
		b.at = now
	}
}

// lend deposits dep, then lends what a lease asks for: all of want the
// bucket can spare above its threshold, if that is at least need; nothing
// otherwise. It returns what it lent and what it holds after, in whole
// micro-tokens lent.
func (b *bucket) lend(dep, need, want int64, now int64) (lent int64, left float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	b.tok = math.Min(b.capacity, b.tok+float64(dep))
	if need > 0 && b.tok-float64(need) >= b.threshold {
		lent = int64(math.Floor(math.Min(float64(want), b.tok-b.threshold)))
		b.tok -= float64(lent)
	}
	return lent, b.tok
}

// micros returns the wall clock in microseconds, the unit of the script's
// TIME.
func micros() int64 { return time.Now().UnixMicro() }
