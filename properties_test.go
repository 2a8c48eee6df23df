package retry

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"pgregory.net/rapid"
)

var errProp = errors.New("property: transient")

// durationGen draws durations of every magnitude: mostly small, sometimes
// near the largest duration, where arithmetic must saturate.
func durationGen() *rapid.Generator[time.Duration] {
	return rapid.Custom(func(t *rapid.T) time.Duration {
		switch rapid.IntRange(0, 3).Draw(t, "magnitude") {
		case 0:
			return time.Duration(rapid.Int64Range(0, 1000).Draw(t, "ns"))
		case 1:
			return time.Duration(rapid.Int64Range(0, int64(time.Hour)).Draw(t, "upToAnHour"))
		case 2:
			return maxDuration - time.Duration(rapid.Int64Range(0, 1000).Draw(t, "nearMax"))
		default:
			return time.Duration(rapid.Int64Range(0, math.MaxInt64).Draw(t, "any"))
		}
	})
}

// strategyGen draws a strategy of this package, or a user strategy that
// may return negative delays.
func strategyGen() *rapid.Generator[Strategy] {
	return rapid.Custom(func(t *rapid.T) Strategy {
		switch rapid.IntRange(0, 4).Draw(t, "kind") {
		case 0:
			return Constant(durationGen().Draw(t, "d"))
		case 1:
			return Linear(durationGen().Draw(t, "initial"), durationGen().Draw(t, "step"))
		case 2:
			return Exponential(durationGen().Draw(t, "initial"), rapid.Float64Range(1, 1000).Draw(t, "multiplier"))
		case 3:
			return Fibonacci(durationGen().Draw(t, "unit"))
		default:
			delays := rapid.SliceOfN(rapid.Int64(), 1, 8).Draw(t, "delays")
			return StrategyFunc(func(n int) time.Duration { return time.Duration(delays[(max(n, 1)-1)%len(delays)]) })
		}
	})
}

// jitterGen draws a jitter mode: the named ones, a valid proportional one,
// or a proportional one of any fraction at all (which the policy must
// reject or handle).
func jitterGen() *rapid.Generator[Jitter] {
	return rapid.Custom(func(t *rapid.T) Jitter {
		switch rapid.IntRange(0, 2).Draw(t, "jitterKind") {
		case 0:
			return rapid.SampledFrom([]Jitter{NoJitter, FullJitter, EqualJitter, DecorrelatedJitter}).Draw(t, "mode")
		case 1:
			return ProportionalJitter(rapid.Float64Range(0, 1).Draw(t, "fraction"))
		default:
			return ProportionalJitter(rapid.Float64().Draw(t, "anyFraction"))
		}
	})
}

// capGen draws a maximum delay; 0 means none.
func capGen() *rapid.Generator[time.Duration] {
	return rapid.OneOf(rapid.Just(time.Duration(0)), durationGen())
}

func seededRand(t *rapid.T) *rand.Rand {
	return rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 0))
}

// TestPropWaitsNeverNegativeNorAboveTheCap: for any strategy, jitter and
// cap, a policy is either rejected as invalid or chooses waits in
// [0, cap].
func TestPropWaitsNeverNegativeNorAboveTheCap(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		limit := capGen().Draw(t, "cap")
		p, err := NewPolicy(WithBackoff(strategyGen().Draw(t, "strategy")), WithJitter(jitterGen().Draw(t, "jitter")),
			WithMaxDelay(limit), WithRand(seededRand(t)))
		if err != nil {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("NewPolicy: %v", err)
			}
			return
		}
		if limit == 0 {
			limit = maxDuration
		}
		for i, w := range p.Schedule(rapid.IntRange(1, 100).Draw(t, "n")) {
			if w < 0 || w > limit {
				t.Fatalf("wait before retry %d is %v, outside [0, %v]", i+1, w, limit)
			}
		}
	})
}

// TestPropStrategiesNonDecreasing: without jitter, exponential, linear and
// Fibonacci delays never decrease with n, and neither do the capped waits.
func TestPropStrategiesNonDecreasing(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var s Strategy
		switch rapid.IntRange(0, 2).Draw(t, "kind") {
		case 0:
			s = Exponential(durationGen().Draw(t, "initial"), rapid.Float64Range(1, 1000).Draw(t, "multiplier"))
		case 1:
			s = Linear(durationGen().Draw(t, "initial"), durationGen().Draw(t, "step"))
		default:
			s = Fibonacci(durationGen().Draw(t, "unit"))
		}
		n := rapid.IntRange(1, math.MaxInt-1).Draw(t, "n")
		if a, b := s.Delay(n), s.Delay(n+1); a < 0 || b < a {
			t.Fatalf("Delay(%d) = %v, Delay(%d) = %v", n, a, n+1, b)
		}
		p, err := NewPolicy(WithBackoff(s), WithJitter(NoJitter), WithMaxDelay(capGen().Draw(t, "cap")))
		if err != nil {
			t.Fatal(err)
		}
		waits := p.Schedule(100)
		for i := 1; i < len(waits); i++ {
			if waits[i] < waits[i-1] {
				t.Fatalf("wait %d = %v after %v", i+1, waits[i], waits[i-1])
			}
		}
	})
}

// baseOf is the capped, non-negative delay of retry n, computed here from
// the definition: min(max(strategy.Delay(n), 0), cap).
func baseOf(s Strategy, n int, limit time.Duration) time.Duration {
	return min(max(s.Delay(n), 0), limit)
}

// TestPropJitterBounds: each jitter mode keeps every wait within its
// interval around the capped base delay.
func TestPropJitterBounds(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := strategyGen().Draw(t, "strategy")
		j := rapid.OneOf(rapid.SampledFrom([]Jitter{NoJitter, FullJitter, EqualJitter, DecorrelatedJitter}),
			rapid.Map(rapid.Float64Range(0, 1), ProportionalJitter)).Draw(t, "jitter")
		limit := capGen().Draw(t, "cap")
		p, err := NewPolicy(WithBackoff(s), WithJitter(j), WithMaxDelay(limit), WithRand(seededRand(t)))
		if err != nil {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatal(err)
			}
			return // an invalid strategy argument
		}
		if limit == 0 {
			limit = maxDuration
		}
		first := baseOf(s, 1, limit)
		prev := first
		for i, w := range p.Schedule(rapid.IntRange(1, 60).Draw(t, "n")) {
			n := i + 1
			base := baseOf(s, n, limit)
			var lo, hi time.Duration
			switch {
			case j == NoJitter:
				lo, hi = base, base
			case j == FullJitter:
				lo, hi = 0, base
			case j == EqualJitter:
				lo, hi = base/2, base
			case j == DecorrelatedJitter:
				three := maxDuration
				if prev <= maxDuration/3 {
					three = 3 * prev
				}
				lo, hi = first, min(limit, three)
			default:
				// base × U[1−f, 1+f] in floating point, then capped: allow
				// the rounding of a few float64 operations.
				f := j.fraction()
				slack := 2 + float64(base)*1e-14
				lo = min(limit, floatDuration(float64(base)*(1-f)-slack))
				hi = min(limit, floatDuration(float64(base)*(1+f)+slack))
			}
			if w < lo || w > hi {
				t.Fatalf("%v: wait before retry %d is %v, outside [%v, %v] (base %v, previous %v, first %v, cap %v)",
					j, n, w, lo, hi, base, prev, first, limit)
			}
			prev = w
		}
	})
}

// floatDuration converts a float number of nanoseconds to a duration,
// saturating at both ends.
func floatDuration(x float64) time.Duration {
	switch {
	case x <= 0:
		return 0
	case x >= float64(maxDuration):
		return maxDuration
	}
	return time.Duration(x)
}

// TestPropJitterApplyBounds checks the jitter arithmetic itself on any
// base, previous wait and cap, including the largest durations.
func TestPropJitterApplyBounds(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := &lockedRand{r: seededRand(t)}
		limit := rapid.OneOf(rapid.Just(maxDuration), durationGen()).Draw(t, "limit")
		base := min(durationGen().Draw(t, "base"), limit)
		first := min(durationGen().Draw(t, "first"), limit)
		prev := max(first, min(durationGen().Draw(t, "prev"), limit))
		f := rapid.Float64Range(0, 1).Draw(t, "fraction")

		check := func(j Jitter, lo, hi time.Duration) {
			if w := j.apply(r, base, prev, first, limit); w < lo || w > hi {
				t.Fatalf("%v: %v outside [%v, %v] (base %v, prev %v, first %v, limit %v)", j, w, lo, hi, base, prev, first, limit)
			}
		}
		check(NoJitter, base, base)
		check(FullJitter, 0, base)
		check(EqualJitter, base/2, base)
		check(DecorrelatedJitter, first, min(limit, satMul3(prev)))
		slack := 2 + float64(base)*1e-14
		check(ProportionalJitter(f), min(limit, floatDuration(float64(base)*(1-f)-slack)), min(limit, floatDuration(float64(base)*(1+f)+slack)))
	})
}

// TestPropCallsNeverExceedTheLimit: whatever the operation returns, it is
// called at most the attempt limit; when every error is retryable it is
// called exactly that often; Attempts counts the calls; and the virtual time
// spent is the sum of the waits the hook reported.
func TestPropCallsNeverExceedTheLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rapid.Check(bubbleT{t}, func(rt *rapid.T) {
			limit := rapid.IntRange(1, 12).Draw(rt, "attempts")
			outcomes := rapid.SliceOfN(rapid.IntRange(0, 9), 1, 15).Draw(rt, "outcomes")
			var waits []time.Duration
			calls := 0
			start := time.Now()
			_, err := Do(context.Background(), func(context.Context) (int, error) {
				calls++
				switch outcomes[(calls-1)%len(outcomes)] {
				case 0:
					return calls, nil
				case 1:
					return calls, Permanent(errProp)
				case 2:
					return calls, After(time.Millisecond, errProp)
				default:
					return calls, errProp
				}
			}, WithMaxAttempts(limit), WithBackoff(Linear(0, time.Millisecond)), WithJitter(jitterGen().Draw(rt, "jitter")),
				WithNotify(func(_ context.Context, a RetryInfo) { waits = append(waits, a.Wait) }))
			if errors.Is(err, ErrInvalidConfig) {
				if calls != 0 {
					rt.Fatalf("invalid configuration, yet %d calls", calls)
				}
				return
			}
			if calls > limit {
				rt.Fatalf("%d calls, limit %d", calls, limit)
			}
			var spent time.Duration
			for _, w := range waits {
				spent += w
			}
			if got := time.Since(start); got != spent {
				rt.Fatalf("spent %v, waits sum to %v", got, spent)
			}
			if len(waits) != calls-1 {
				rt.Fatalf("%d notifications for %d calls", len(waits), calls)
			}
			retryable := true
			for i := range limit {
				retryable = retryable && outcomes[i%len(outcomes)] >= 2
			}
			if retryable && (calls != limit || !errors.Is(err, ErrExhausted)) {
				rt.Fatalf("all retryable: %d calls of %d, %v", calls, limit, err)
			}
			if err != nil {
				var re *Error
				if !errors.As(err, &re) || re.Attempts != calls {
					rt.Fatalf("%d calls, error %#v", calls, err)
				}
			}
		})
	})
}

// TestPropCancellationEndsAtThatInstant: whatever the policy and wherever
// the loop is (in an attempt or in a wait), cancelling the caller's
// context ends Do at that very virtual instant, with its cause.
func TestPropCancellationEndsAtThatInstant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rapid.Check(bubbleT{t}, func(rt *rapid.T) {
			ms := func(label string, lo, hi int) time.Duration {
				return time.Duration(rapid.IntRange(lo, hi).Draw(rt, label)) * time.Millisecond
			}
			at := time.Duration(rapid.Int64Range(0, int64(10*time.Second)).Draw(rt, "cancelAt"))
			// Each attempt takes some virtual time, so that the loop cannot
			// spin at one instant (with zero waits) and starve the clock.
			work := ms("work", 1, 500) // how long each attempt runs, unless its context ends
			timeout := rapid.OneOf(rapid.Just(time.Duration(0)), rapid.Map(rapid.IntRange(1, 300), func(n int) time.Duration {
				return time.Duration(n) * time.Millisecond
			})).Draw(rt, "timeout") // attempt timeout, 0 for none
			hinted := rapid.Bool().Draw(rt, "hinted")
			opts := []Option{
				WithMaxAttempts(0),
				WithAttemptTimeout(timeout),
				WithBackoff(Exponential(ms("initial", 0, 200), rapid.Float64Range(1, 3).Draw(rt, "multiplier"))),
				WithMaxDelay(ms("cap", 0, 2000)),
				WithJitter(rapid.SampledFrom([]Jitter{NoJitter, FullJitter, EqualJitter, DecorrelatedJitter, ProportionalJitter(0.5)}).Draw(rt, "jitter")),
				WithRand(seededRand(rt)),
			}
			cause := errors.New("property: the caller gave up")
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			time.AfterFunc(at, func() { cancel(cause) })
			start := time.Now()
			_, err := Do(ctx, func(actx context.Context) (int, error) {
				timer := time.NewTimer(work)
				defer timer.Stop()
				select {
				case <-timer.C:
				case <-actx.Done():
				}
				if hinted {
					return 0, After(time.Millisecond, errProp)
				}
				return 0, errProp
			}, opts...)
			if got := time.Since(start); got != at {
				rt.Fatalf("returned after %v, cancelled at %v (%v)", got, at, err)
			}
			var re *Error
			if !errors.As(err, &re) || re.Reason != cause || !errors.Is(err, cause) {
				rt.Fatalf("error %v, want reason %v", err, cause)
			}
		})
	})
}

// TestPropHintWaits: a hint d that the cap allows waits d plus at most the
// capped base delay, never past the cap (or d itself when d is the cap);
// exactly d with exact hints or without jitter.
func TestPropHintWaits(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := strategyGen().Draw(t, "strategy")
		j := rapid.SampledFrom([]Jitter{NoJitter, FullJitter, EqualJitter, DecorrelatedJitter, ProportionalJitter(0.5)}).Draw(t, "jitter")
		limit := capGen().Draw(t, "cap")
		exact := rapid.Bool().Draw(t, "exact")
		opts := []Option{WithBackoff(s), WithJitter(j), WithMaxDelay(limit), WithRand(seededRand(t))}
		if exact {
			opts = append(opts, WithExactHints())
		}
		p, err := NewPolicy(opts...)
		if err != nil {
			return // an invalid strategy argument
		}
		if limit == 0 {
			limit = maxDuration
		}
		hint := min(durationGen().Draw(t, "hint"), limit)
		n := rapid.IntRange(1, 200).Draw(t, "n")
		w := p.cfg.hintWait(n, hint)
		lo, hi := hint, hint
		if !exact && j != NoJitter {
			hi = min(time.Duration(satAdd(int64(hint), int64(baseOf(s, n, limit)))), limit)
		}
		if w < lo || w > hi {
			t.Fatalf("hint %v before retry %d: waited %v, outside [%v, %v]", hint, n, w, lo, hi)
		}
	})
}
