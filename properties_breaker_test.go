package retry

import (
	"flag"
	"testing"
	"testing/synctest"
	"time"

	"pgregory.net/rapid"
)

// breakerModel is a plain sequential circuit breaker, with the
// failure-rate window kept as a list of recorded outcomes. Its instants are
// durations since the property's start; it measures the window's steps from
// origin, the first instant the breaker itself needs (see [Breaker]: the
// first outcome recorded into the window, or the first trip), because the
// breaker's steps start there.
type breakerModel struct {
	threshold, probes, minCalls int
	recovery, width, lease      time.Duration
	rate                        float64
	origin                      time.Duration
	started                     bool

	state               BreakerState
	period              int // bumped at every change of state
	fails               int
	openUntil           time.Duration
	inflight, successes int
	leaseEnd            time.Duration // the latest probe's admission plus the lease
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
			if now < m.leaseEnd {
				m.stats.Rejected++
				return modelTicket{}, false
			}
			// Every slot is held past its lease: the probes in flight are
			// forfeited, and a new half-open period starts with this one.
			m.period++
			m.inflight, m.successes = 0, 0
		}
		m.inflight++
		m.leaseEnd = now + m.lease
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

// since returns now on the breaker's timeline, whose origin is the first
// instant the breaker was given.
func (m *breakerModel) since(now time.Duration) time.Duration {
	if !m.started {
		m.origin, m.started = now, true
	}
	return now - m.origin
}

func (m *breakerModel) open(now time.Duration) {
	m.since(now)
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
	epoch := int64(m.since(now) / m.width)
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

func TestBreakerMatchesModel(t *testing.T) { checkBreakerMatchesModel(t) }

// TestBreakerMatchesModelIssue20 replays the seed on which the property
// failed in issue 20: the model measured the window's steps from the
// property's start, the breaker from its first instant, so the model let
// four successes leave the window 1ns early. It is kept with the property
// as written: a change to the property's draws or to rapid's generator
// makes the seed replay another case (TestBreakerStateMachineAtExplicitTimes
// keeps the scenario itself at explicit instants).
func TestBreakerMatchesModelIssue20(t *testing.T) {
	// 5 checks: the seed's own first, and one left under -short (checks/5).
	withFlags(t, map[string]string{"rapid.seed": "15122431528725153516", "rapid.checks": "5", "rapid.steps": "30"})
	checkBreakerMatchesModel(t)
}

// withFlags sets command-line flags for the rest of the test and restores
// them after it. The flags are the process's: the test must not be
// parallel.
func withFlags(t *testing.T, set map[string]string) {
	t.Helper()
	for name, v := range set {
		f := flag.Lookup(name)
		if f == nil {
			t.Fatalf("no flag %s", name)
		}
		old := f.Value.String()
		if err := f.Value.Set(v); err != nil {
			t.Fatalf("flag %s=%s: %v", name, v, err)
		}
		t.Cleanup(func() { _ = f.Value.Set(old) })
	}
}

func checkBreakerMatchesModel(t *testing.T) {
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
			cfg.ProbeLease = time.Duration(rapid.IntRange(0, 6).Draw(rt, "lease")) * time.Millisecond
			b, err := NewBreaker(cfg)
			if err != nil {
				rt.Fatalf("valid config %+v: %v", cfg, err)
			}
			m := breakerModel{
				threshold: int(b.threshold), probes: int(b.probes), minCalls: int(b.minCalls),
				recovery: time.Duration(b.recovery), width: time.Duration(b.width), rate: b.rate,
				lease: time.Duration(b.lease),
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
