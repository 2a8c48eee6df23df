package retry

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The breaker's state machine and window driven with explicit instants (no
// clock, no synctest, like rate.Limiter's tests), then under concurrent
// probes and a state-change hook that panics.

var t0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// step is one event at an instant: an admission (wantAdmit), then an
// outcome for it if admitted.
type step struct {
	at        time.Duration // since t0
	outcome   outcome
	wantAdmit bool
	wantState BreakerState // StateAt(t0+at) after the step
}

// issue20Breaker is the configuration of the failure of issue 20: the
// failure-rate rule alone, over a window of 1ms (steps of 100µs).
var issue20Breaker = BreakerConfig{RecoveryTimeout: time.Millisecond, HalfOpenProbes: 1,
	FailureRate: 0.25, Window: time.Millisecond, MinimumCalls: 1}

func TestBreakerStateMachineAtExplicitTimes(t *testing.T) {
	tests := map[string]struct {
		cfg   BreakerConfig
		steps []step
	}{
		"consecutive failures open; recovery half-opens; a probe success closes": {
			cfg: BreakerConfig{FailureThreshold: 2, RecoveryTimeout: 10 * time.Second},
			steps: []step{
				{0, outcomeFailure, true, BreakerClosed},
				{time.Second, outcomeSuccess, true, BreakerClosed}, // resets the run
				{2 * time.Second, outcomeFailure, true, BreakerClosed},
				{3 * time.Second, outcomeFailure, true, BreakerOpen},
				{12 * time.Second, outcomeNone, false, BreakerOpen}, // 9s after the trip
				{13 * time.Second, outcomeSuccess, true, BreakerClosed},
			},
		},
		"a probe failure reopens for the recovery timeout again": {
			cfg: BreakerConfig{FailureThreshold: 1, RecoveryTimeout: 5 * time.Second},
			steps: []step{
				{0, outcomeFailure, true, BreakerOpen},
				{5 * time.Second, outcomeFailure, true, BreakerOpen},
				{9 * time.Second, outcomeNone, false, BreakerOpen},
				{10 * time.Second, outcomeSuccess, true, BreakerClosed},
			},
		},
		"a probe that learned nothing frees its slot": {
			cfg: BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second},
			steps: []step{
				{0, outcomeFailure, true, BreakerOpen},
				{time.Second, outcomeNone, true, BreakerHalfOpen},
				{time.Second, outcomeSuccess, true, BreakerClosed},
			},
		},
		"failure rate over the window, once it holds MinimumCalls": {
			cfg: BreakerConfig{FailureRate: 0.5, Window: 10 * time.Second, MinimumCalls: 4, RecoveryTimeout: time.Minute},
			steps: []step{
				{0, outcomeFailure, true, BreakerClosed},
				{time.Second, outcomeFailure, true, BreakerClosed},
				{2 * time.Second, outcomeSuccess, true, BreakerClosed},
				{3 * time.Second, outcomeFailure, true, BreakerOpen}, // 3 of 4
			},
		},
		"failures that left the window no longer count": {
			cfg: BreakerConfig{FailureRate: 0.5, Window: 10 * time.Second, MinimumCalls: 4, RecoveryTimeout: time.Minute},
			steps: []step{
				{0, outcomeFailure, true, BreakerClosed},
				{time.Second, outcomeFailure, true, BreakerClosed},
				{11 * time.Second, outcomeSuccess, true, BreakerClosed},
				{12 * time.Second, outcomeSuccess, true, BreakerClosed},
				{13 * time.Second, outcomeFailure, true, BreakerClosed}, // the first two failures left the window: 1 of 3
				{14 * time.Second, outcomeSuccess, true, BreakerClosed},
			},
		},
		// Issue 20: four successes, then a failure one Window less a
		// nanosecond later. The successes still count: 1 failure of 5.
		"an outcome counts until one Window after it": {
			cfg: issue20Breaker,
			steps: []step{
				{0, outcomeSuccess, true, BreakerClosed}, // the breaker's first instant: its steps start here
				{0, outcomeSuccess, true, BreakerClosed},
				{0, outcomeSuccess, true, BreakerClosed},
				{0, outcomeSuccess, true, BreakerClosed},
				{time.Millisecond - 1, outcomeFailure, true, BreakerClosed},
			},
		},
		"an outcome exactly one Window old no longer counts": {
			cfg: issue20Breaker,
			steps: []step{
				{0, outcomeSuccess, true, BreakerClosed},
				{0, outcomeSuccess, true, BreakerClosed},
				{0, outcomeSuccess, true, BreakerClosed},
				{0, outcomeSuccess, true, BreakerClosed},
				{time.Millisecond, outcomeFailure, true, BreakerOpen}, // alone in the window: 1 of 1
			},
		},
		"the window moves in steps of Window/10 from the breaker's first instant": {
			cfg: issue20Breaker,
			steps: []step{
				{0, outcomeSuccess, true, BreakerClosed},
				{99 * time.Microsecond, outcomeSuccess, true, BreakerClosed}, // still the first step
				{99 * time.Microsecond, outcomeSuccess, true, BreakerClosed},
				{99 * time.Microsecond, outcomeSuccess, true, BreakerClosed},
				{1099*time.Microsecond - 1, outcomeSuccess, true, BreakerClosed}, // the 11th step: the first left
				{1099*time.Microsecond - 1, outcomeSuccess, true, BreakerClosed},
				{1099*time.Microsecond - 1, outcomeSuccess, true, BreakerClosed},
				{1099*time.Microsecond - 1, outcomeFailure, true, BreakerOpen}, // 1 of 4: the 99µs ones left 901µs after
			},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := NewBreaker(tt.cfg)
			require.NoError(t, err)
			for i, s := range tt.steps {
				clk := at(t0.Add(s.at))
				tk, ok := b.allow(&clk)
				require.Equal(t, s.wantAdmit, ok, "step %d: admission", i)
				if ok {
					b.done(tk, s.outcome, &clk, nil)
				}
				require.Equal(t, s.wantState, b.StateAt(t0.Add(s.at)), "step %d: state", i)
			}
		})
	}
}

// A lengthened open time draws its jitter from the policy's random source:
// the same seed, the same open times.
func TestBreakerOpenTimeUsesThePolicysRand(t *testing.T) {
	openTimes := func(seed uint64) []int64 {
		b, err := NewBreaker(BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second, MaxRecoveryTimeout: time.Hour})
		require.NoError(t, err)
		r := &lockedRand{r: rand.New(rand.NewPCG(seed, 0))}
		var got []int64
		now := t0
		for range 6 {
			clk := at(now)
			tk, ok := b.allow(&clk)
			require.True(t, ok)
			b.done(tk, outcomeFailure, &clk, r)
			until := b.openUntil.Load()
			got = append(got, until-b.tl.since(now))
			now = t0.Add(time.Duration(until)) // the instant it half-opens
		}
		return got
	}
	a, b := openTimes(1), openTimes(1)
	assert.Equal(t, a, b)
	assert.NotEqual(t, a, openTimes(2))
	assert.Equal(t, int64(time.Second), a[0], "the first trip uses RecoveryTimeout")
	for i, d := range a[1:] {
		assert.GreaterOrEqual(t, d, int64(time.Second), "trip %d", i+2)
	}
}

// 64 goroutines hammer one breaker through open, half-open and closed
// periods: in each half-open period, never more than HalfOpenProbes probes
// are in flight at once.
func TestBreakerConcurrentProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const probes = 3
		b := mustBreaker(t, BreakerConfig{FailureThreshold: 4, RecoveryTimeout: 5 * time.Millisecond, HalfOpenProbes: probes})
		var mu sync.Mutex
		running := map[uint64]int{} // probes in flight per half-open generation
		peak := 0
		var admittedProbes atomic.Int64
		var wg sync.WaitGroup
		for g := range 64 {
			wg.Go(func() {
				for i := range 300 {
					tk, ok := b.allowNow()
					if !ok {
						time.Sleep(time.Millisecond)
						continue
					}
					probe := kindOf(uint64(tk)) == BreakerHalfOpen
					if probe {
						admittedProbes.Add(1)
						mu.Lock()
						running[genOf(uint64(tk))]++
						peak = max(peak, running[genOf(uint64(tk))])
						mu.Unlock()
					}
					runtime.Gosched()
					if probe {
						mu.Lock()
						running[genOf(uint64(tk))]--
						mu.Unlock()
					}
					switch (g + i) % 5 {
					case 0, 1:
						b.failNow(tk)
					case 2:
						b.cancelNow(tk)
					default:
						b.succeedNow(tk)
					}
				}
			})
		}
		wg.Wait()
		assert.LessOrEqual(t, peak, probes)
		assert.Positive(t, admittedProbes.Load(), "the breaker went through half-open periods")
		assert.Positive(t, b.Stats().Opened)
	})
}

// A state-change hook that panics must not leave the breaker's lock held:
// the panic reaches the caller whose attempt caused the change, and the
// breaker goes on working.
func TestBreakerHookPanicKeepsBreakerUsable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustBreaker(t, BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second,
			OnStateChange: func(from, to BreakerState) { panic(from.String() + "->" + to.String()) }})
		unlocked := func() bool {
			if !b.mu.TryLock() {
				return false
			}
			b.mu.Unlock()
			return true
		}
		assert.PanicsWithValue(t, "closed->open", func() { failN(t, b, 1) })
		assert.True(t, unlocked(), "after closed->open")
		assert.Equal(t, BreakerOpen, b.State())

		time.Sleep(time.Second)
		assert.PanicsWithValue(t, "open->half-open", func() { b.allowNow() })
		assert.True(t, unlocked(), "after open->half-open")

		tk := admit(t, b)
		assert.PanicsWithValue(t, "half-open->closed", func() { b.succeedNow(tk) })
		assert.True(t, unlocked(), "after half-open->closed")
		assert.Equal(t, BreakerClosed, b.State())
	})
}
