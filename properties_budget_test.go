package retry

import (
	"math"
	"math/big"
	"testing"
	"testing/synctest"
	"time"

	"pgregory.net/rapid"
)

// budgetModel is a plain sequential token bucket in micro-tokens. Its time
// refill is computed with math/big from the total time since its origin,
// the first withdrawal (the first instant a budget is given; the bucket is
// full before it): the whole micro-tokens accrued by time T are
// ⌊T·rate/1e9⌋.
type budgetModel struct {
	tokens, capacity, perSuccess, retryCost, timeoutCost, threshold int64
	rate                                                            int64 // micro-tokens per second
	credited                                                        int64 // micro-tokens of time refill accounted for
	allowed, denied                                                 uint64
	origin                                                          time.Duration
	started                                                         bool
}

func (m *budgetModel) refill(now time.Duration) {
	if m.rate == 0 || !m.started {
		return
	}
	accrued := new(big.Int).Mul(big.NewInt(int64(now-m.origin)), big.NewInt(m.rate))
	accrued.Quo(accrued, big.NewInt(int64(time.Second)))
	m.tokens = min(m.capacity, m.tokens+accrued.Int64()-m.credited)
	m.credited = accrued.Int64()
}

func (m *budgetModel) withdraw(now time.Duration, timedOut bool) bool {
	if !m.started {
		m.origin, m.started = now, true
	}
	m.refill(now)
	cost := m.retryCost
	if timedOut {
		cost = m.timeoutCost
	}
	if m.tokens-cost < m.threshold {
		m.denied++
		return false
	}
	m.tokens -= cost
	m.allowed++
	return true
}

func (m *budgetModel) deposit() { m.tokens = min(m.capacity, m.tokens+m.perSuccess) }

// tenths draws an amount of tokens in tenths, in [lo, hi] tenths.
func tenths(t *rapid.T, lo, hi int64, label string) float64 {
	return float64(rapid.Int64Range(lo, hi).Draw(t, label)) / 10
}

// bubbleT hands rapid a test inside a synctest bubble. rapid asks a
// *testing.T for its deadline, which a bubble forbids; through this wrapper
// it uses its own default. Steps sleep milliseconds of virtual time, far
// below rapid's time limits.
type bubbleT struct{ *testing.T }

func TestBudgetMatchesModel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rapid.Check(bubbleT{t}, func(rt *rapid.T) {
			capacity := rapid.Int64Range(1, 200).Draw(rt, "capacity") // tenths
			threshold := rapid.Int64Range(0, capacity-1).Draw(rt, "threshold")
			cfg := BudgetConfig{
				Capacity:    float64(capacity) / 10,
				Threshold:   float64(threshold) / 10,
				RetryCost:   tenths(rt, 1, capacity-threshold, "retryCost"),
				TimeoutCost: tenths(rt, 1, capacity-threshold, "timeoutCost"),
				PerSuccess:  tenths(rt, 0, 30, "perSuccess"),
				PerSecond:   rapid.SampledFrom([]float64{0, 0, 0.1, 10, 300, 7300, 1e6}).Draw(rt, "perSecond"),
			}
			b, err := NewBudget(cfg)
			if err != nil {
				rt.Fatalf("valid config %+v: %v", cfg, err)
			}
			m := budgetModel{
				tokens: capacity * 1e5, capacity: capacity * 1e5, threshold: threshold * 1e5,
				retryCost: int64(cfg.RetryCost*10) * 1e5, timeoutCost: int64(cfg.TimeoutCost*10) * 1e5,
				perSuccess: int64(cfg.PerSuccess*10) * 1e5, rate: int64(cfg.PerSecond * 1e6),
			}
			start := time.Now()

			rt.Repeat(map[string]func(*rapid.T){
				"withdraw": func(rt *rapid.T) {
					timedOut := rapid.Bool().Draw(rt, "timedOut")
					want := m.withdraw(time.Since(start), timedOut)
					if got := b.withdrawNow(timedOut); got != want {
						rt.Fatalf("withdraw(timedOut=%v) = %v, model says %v (model tokens %d)", timedOut, got, want, m.tokens)
					}
				},
				"deposit": func(rt *rapid.T) {
					m.deposit()
					b.deposit()
				},
				"sleep": func(rt *rapid.T) {
					time.Sleep(time.Duration(rapid.Int64Range(1, int64(30*time.Millisecond)).Draw(rt, "ns")))
				},
				"": func(rt *rapid.T) {
					m.refill(time.Since(start))
					got := b.Tokens()
					if micros := int64(math.Round(got * microsPerToken)); micros != m.tokens || micros < 0 || micros > m.capacity {
						rt.Fatalf("tokens %d (%v), model %d, capacity %d", micros, got, m.tokens, m.capacity)
					}
					if st := b.Stats(); st != (BudgetStats{Allowed: m.allowed, Denied: m.denied}) {
						rt.Fatalf("stats %+v, model allowed %d denied %d", st, m.allowed, m.denied)
					}
				},
			})
		})
	})
}
