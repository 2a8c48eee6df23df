package retry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"pgregory.net/rapid"
)

// selfTerminal is an error that says of itself it is not worth retrying.
type selfTerminal struct{}

func (selfTerminal) Error() string   { return "self-terminal" }
func (selfTerminal) Retryable() bool { return false }

// scenario is one drawn call: a policy recipe (built twice, so that each
// run has a fresh budget and breaker) and the outcomes of its attempts.
type scenario struct {
	opts     func(notify func(context.Context, RetryInfo)) []Option
	outcomes []error       // nil: success; past the end every attempt succeeds
	work     time.Duration // how long each attempt runs
	deadline time.Duration
}

// errStop is stopped by the classifier some scenarios draw.
var errStop = errors.New("property: stop")

func scenarioGen(rt *rapid.T) scenario {
	ms := func(label string, lo, hi int) time.Duration {
		return time.Duration(rapid.IntRange(lo, hi).Draw(rt, label)) * time.Millisecond
	}
	seed := rapid.Uint64().Draw(rt, "seed")
	attempts := rapid.IntRange(0, 8).Draw(rt, "attempts")
	var strategy Strategy = Exponential(ms("initial", 0, 100), rapid.Float64Range(1, 3).Draw(rt, "multiplier"))
	if rapid.IntRange(0, 4).Draw(rt, "zeroWaits") == 0 {
		strategy = Constant(0)
	}
	jitter := rapid.SampledFrom([]Jitter{NoJitter, FullJitter, EqualJitter, DecorrelatedJitter, ProportionalJitter(0.3)}).Draw(rt, "jitter")
	maxDelay := ms("maxDelay", 0, 500)
	maxElapsed := rapid.SampledFrom([]time.Duration{0, 0, 300 * time.Millisecond, 2 * time.Second}).Draw(rt, "maxElapsed")
	exact := rapid.Bool().Draw(rt, "exactHints")
	var budget *BudgetConfig
	if rapid.Bool().Draw(rt, "budget") {
		budget = &BudgetConfig{
			Capacity:   float64(rapid.IntRange(1, 4).Draw(rt, "capacity")),
			PerSuccess: rapid.SampledFrom([]float64{0, 0.5, 1}).Draw(rt, "perSuccess"),
			PerSecond:  rapid.SampledFrom([]float64{0, 0, 3}).Draw(rt, "perSecond"),
		}
	}
	var breaker *BreakerConfig
	if rapid.Bool().Draw(rt, "breaker") {
		breaker = &BreakerConfig{
			FailureThreshold: rapid.IntRange(1, 4).Draw(rt, "failureThreshold"),
			RecoveryTimeout:  ms("recovery", 1, 400),
		}
		if rapid.Bool().Draw(rt, "lengthen") {
			breaker.MaxRecoveryTimeout = 4 * breaker.RecoveryTimeout
		}
	}
	outcomes := rapid.SliceOfN(rapid.Custom(func(rt *rapid.T) error {
		switch rapid.IntRange(0, 9).Draw(rt, "kind") {
		case 0:
			return nil
		case 1:
			return Permanent(errProp)
		case 2:
			return After(ms("hint", 0, 700), errProp)
		case 3:
			return selfTerminal{}
		case 4:
			return errStop
		case 5:
			return TimedOut(errProp)
		default:
			return errProp
		}
	}), 0, 14).Draw(rt, "outcomes")
	// Attempts take whole milliseconds plus 1234ns and deadlines end 777ns
	// past a millisecond, so that an attempt never ends at the very instant
	// the deadline does (which of the two Do sees first is then up to the
	// scheduler, in a synctest bubble as anywhere).
	sc := scenario{outcomes: outcomes, work: ms("work", 0, 50) + 1234}
	classify := rapid.Bool().Draw(rt, "classifier")
	if rapid.IntRange(0, 3).Draw(rt, "hasDeadline") == 0 {
		sc.deadline = ms("deadline", 1, 3000) + 777
	}
	// Without the hook, a policy with zero waits and nothing else between
	// attempts takes Do's quick loop (retryQuick).
	hook := rapid.Bool().Draw(rt, "hook")
	sc.opts = func(notify func(context.Context, RetryInfo)) []Option {
		opts := []Option{
			WithMaxAttempts(attempts), WithBackoff(strategy), WithJitter(jitter), WithMaxDelay(maxDelay),
			WithMaxElapsed(maxElapsed), WithRand(rand.New(rand.NewPCG(seed, 1))),
		}
		if hook {
			opts = append(opts, WithNotify(notify))
		}
		if exact {
			opts = append(opts, WithExactHints())
		}
		if classify {
			opts = append(opts, WithClassifier(StopOn(errStop)))
		}
		if budget != nil {
			b, err := NewBudget(*budget)
			if err != nil {
				panic(err)
			}
			opts = append(opts, WithBudget(b))
		}
		if breaker != nil {
			b, err := NewBreaker(*breaker)
			if err != nil {
				panic(err)
			}
			opts = append(opts, WithBreaker(b))
		}
		return opts
	}
	return sc
}

// run is what one call did: when each attempt began (since the call began),
// what the notify hook saw, and how it ended.
type run struct {
	starts  []time.Duration
	notes   []RetryInfo
	err     *Error
	budget  BudgetStats
	breaker BreakerStats
}

func (sc scenario) outcome(i int) error {
	if i < len(sc.outcomes) {
		return sc.outcomes[i]
	}
	return nil
}

func statsOf(p *Policy) (BudgetStats, BreakerStats) {
	return p.cfg.budget.Stats(), p.cfg.breaker.Stats()
}

// viaDo runs the scenario through Do, in the caller's synctest bubble.
func (sc scenario) viaDo(t *rapid.T) run {
	var r run
	p, err := NewPolicy(sc.opts(func(_ context.Context, a RetryInfo) { r.notes = append(r.notes, a) })...)
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	ctx := context.Background()
	if sc.deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, sc.deadline)
		defer cancel()
	}
	start := time.Now()
	_, err = Do(ctx, func(context.Context) (int, error) {
		r.starts = append(r.starts, time.Since(start))
		time.Sleep(sc.work)
		return 0, sc.outcome(len(r.starts) - 1)
	}, p)
	if err != nil {
		r.err = err.(*Error)
	}
	r.budget, r.breaker = statsOf(p)
	return r
}

// viaEngine runs the scenario through Begin, Failed and Succeeded, with the
// time passed in and never slept.
func (sc scenario) viaEngine(t *rapid.T) run {
	var r run
	p, err := NewPolicy(sc.opts(func(_ context.Context, a RetryInfo) { r.notes = append(r.notes, a) })...)
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	start := time.Now()
	ctx := context.Background()
	if sc.deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, start.Add(sc.deadline))
		defer cancel()
	}
	now, pr := start, Progress{}
	// The engine never sleeps; the driver keeps the bubble's clock at now
	// only so that ctx's deadline ends when it would for Do.
	catchUp := func() { time.Sleep(time.Until(now)) }
	for {
		catchUp()
		actx, next, err := p.Begin(ctx, pr, now)
		if err != nil {
			r.err = err.(*Error)
			break
		}
		r.starts = append(r.starts, now.Sub(start))
		opErr := sc.outcome(len(r.starts) - 1)
		now = now.Add(sc.work)
		catchUp()
		if opErr == nil {
			if err := p.Succeeded(actx, next, now); err != nil {
				t.Fatalf("Succeeded: %v", err)
			}
			break
		}
		v := p.Failed(actx, next, opErr, now)
		if v.Err != nil {
			r.err = v.Err.(*Error)
			break
		}
		now, pr = now.Add(v.Wait), v.Next
	}
	r.budget, r.breaker = statsOf(p)
	return r
}

// TestPropEngineMatchesDo: a loop driven through the decision API makes the
// same attempts at the same instants, with the same waits, notifications,
// budget and breaker effects, and ends for the same reason as Do, for the
// same seed, policy and sequence of outcomes (hints, permanent errors,
// self-classified errors, budget refusals, breaker states, deadlines and
// elapsed limits included).
func TestPropEngineMatchesDo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for range 5 { // 500 calls: a difference that needs a rare draw still shows
			rapid.Check(bubbleT{t}, engineMatchesDo)
		}
	})
}

func engineMatchesDo(rt *rapid.T) {
	sc := scenarioGen(rt)
	want := sc.viaDo(rt)
	got := sc.viaEngine(rt)
	if fmt.Sprint(got.starts) != fmt.Sprint(want.starts) {
		rt.Fatalf("attempts began at %v, Do's at %v", got.starts, want.starts)
	}
	if fmt.Sprint(got.notes) != fmt.Sprint(want.notes) {
		rt.Fatalf("notified %v, Do %v", got.notes, want.notes)
	}
	if got.budget != want.budget || got.breaker != want.breaker {
		rt.Fatalf("budget %+v breaker %+v, Do's %+v %+v", got.budget, got.breaker, want.budget, want.breaker)
	}
	if (got.err == nil) != (want.err == nil) {
		rt.Fatalf("error %v, Do's %v", got.err, want.err)
	}
	if want.err == nil {
		return
	}
	if got.err.Attempts != want.err.Attempts || got.err.Reason != want.err.Reason {
		rt.Fatalf("error %v, Do's %v", got.err, want.err)
	}
	if errors.Is(want.err, ErrCircuitOpen) {
		return // Begin keeps no last error
	}
	if got.err.Last != want.err.Last || got.err.Hint != want.err.Hint {
		rt.Fatalf("error %#v, Do's %#v", got.err, want.err)
	}
}
