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

// breakerModel is a plain sequential circuit breaker, with the
// failure-rate window kept as a list of recorded outcomes.
type breakerModel struct {
	threshold, probes, minCalls int
	recovery, width             time.Duration
	rate                        float64

	state               BreakerState
	period              int // bumped at every change of state
	fails               int
	openUntil           time.Duration
	inflight, successes int
	events              []modelEvent
	stats               BreakerStats
}

type modelEvent struct {
	epoch  int64
	failed bool
}

type modelTicket struct {
	period int
	kind   BreakerState
}

func (m *breakerModel) admit(now time.Duration) (modelTicket, bool) {
	if m.state == BreakerOpen {
		if now < m.openUntil {
			m.stats.Rejected++
			return modelTicket{}, false
		}
		m.change(BreakerHalfOpen)
	}
	if m.state == BreakerHalfOpen {
		if m.inflight >= m.probes {
			m.stats.Rejected++
			return modelTicket{}, false
		}
		m.inflight++
	}
	return modelTicket{m.period, m.state}, true
}

func (m *breakerModel) change(to BreakerState) {
	m.state, m.inflight, m.successes = to, 0, 0
	m.period++
}

func (m *breakerModel) current(t modelTicket) bool { return t.period == m.period }

func (m *breakerModel) succeed(now time.Duration, t modelTicket) {
	switch {
	case !m.current(t):
	case t.kind == BreakerHalfOpen:
		m.inflight--
		if m.successes++; m.successes >= m.probes {
			m.change(BreakerClosed)
			m.fails, m.events = 0, nil
		}
	default:
		m.record(now, false)
		m.fails = 0
	}
}

func (m *breakerModel) fail(now time.Duration, t modelTicket) {
	m.stats.Failures++
	switch {
	case !m.current(t):
	case t.kind == BreakerHalfOpen:
		m.open(now)
	default:
		trip := m.record(now, true)
		if m.fails++; m.threshold > 0 && m.fails >= m.threshold {
			trip = true
		}
		if trip {
			m.open(now)
		}
	}
}

func (m *breakerModel) cancel(t modelTicket) {
	if m.current(t) && t.kind == BreakerHalfOpen {
		m.inflight--
	}
}

func (m *breakerModel) open(now time.Duration) {
	m.change(BreakerOpen)
	m.openUntil = now + m.recovery
	m.stats.Opened++
}

// record adds an outcome to the window and, for a failure, reports whether
// the failure-rate rule says to open.
func (m *breakerModel) record(now time.Duration, failed bool) bool {
	if m.width == 0 {
		return false
	}
	epoch := int64(now / m.width)
	m.events = append(m.events, modelEvent{epoch, failed})
	if !failed {
		return false
	}
	var f, n int
	for _, e := range m.events {
		if e.epoch > epoch-windowBuckets {
			n++
			if e.failed {
				f++
			}
		}
	}
	return n >= m.minCalls && float64(f) >= m.rate*float64(n)
}

func (m *breakerModel) observed(now time.Duration) BreakerState {
	if m.state == BreakerOpen && now >= m.openUntil {
		return BreakerHalfOpen
	}
	return m.state
}

func TestBreakerMatchesModel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rapid.Check(bubbleT{t}, func(rt *rapid.T) {
			cfg := BreakerConfig{
				FailureThreshold: rapid.IntRange(0, 5).Draw(rt, "threshold"),
				RecoveryTimeout:  time.Duration(rapid.IntRange(1, 5).Draw(rt, "recovery")) * time.Millisecond,
				HalfOpenProbes:   rapid.IntRange(1, 3).Draw(rt, "probes"),
			}
			if rapid.Bool().Draw(rt, "rateRule") {
				cfg.FailureRate = rapid.SampledFrom([]float64{0.25, 0.5, 0.75, 1}).Draw(rt, "rate")
				cfg.Window = time.Duration(rapid.IntRange(1, 20).Draw(rt, "window")) * time.Millisecond
				cfg.MinimumCalls = rapid.IntRange(1, 6).Draw(rt, "minimumCalls")
			}
			b, err := NewBreaker(cfg)
			if err != nil {
				rt.Fatalf("valid config %+v: %v", cfg, err)
			}
			m := breakerModel{
				threshold: int(b.threshold), probes: int(b.probes), minCalls: int(b.minCalls),
				recovery: time.Duration(b.recovery), width: time.Duration(b.width), rate: b.rate,
			}
			start := time.Now()
			type pair struct {
				m modelTicket
				b ticket
			}
			var outstanding []pair

			rt.Repeat(map[string]func(*rapid.T){
				"admit": func(rt *rapid.T) {
					mt, want := m.admit(time.Since(start))
					bt, got := b.allowNow()
					if got != want {
						rt.Fatalf("allow = %v, model says %v (model state %v)", got, want, m.state)
					}
					if got {
						outstanding = append(outstanding, pair{mt, bt})
					}
				},
				"complete": func(rt *rapid.T) {
					if len(outstanding) == 0 {
						rt.Skip("no attempt in flight")
					}
					i := rapid.IntRange(0, len(outstanding)-1).Draw(rt, "attempt")
					p := outstanding[i]
					outstanding = append(outstanding[:i], outstanding[i+1:]...)
					now := time.Since(start)
					switch rapid.IntRange(0, 2).Draw(rt, "outcome") {
					case 0:
						m.succeed(now, p.m)
						b.succeedNow(p.b)
					case 1:
						m.fail(now, p.m)
						b.failNow(p.b)
					default:
						m.cancel(p.m)
						b.cancelNow(p.b)
					}
				},
				"sleep": func(rt *rapid.T) {
					time.Sleep(time.Duration(rapid.Int64Range(1, int64(4*time.Millisecond)).Draw(rt, "ns")))
				},
				"": func(rt *rapid.T) {
					now := time.Since(start)
					if got, want := b.State(), m.observed(now); got != want {
						rt.Fatalf("state %v, model %v", got, want)
					}
					if got := b.Stats(); got != m.stats {
						rt.Fatalf("stats %+v, model %+v", got, m.stats)
					}
					if s := b.st.Load(); kindOf(s) == BreakerHalfOpen && int(inflightOf(s)) != m.inflight {
						rt.Fatalf("probes in flight %d, model %d", inflightOf(s), m.inflight)
					}
				},
			})
		})
	})
}
