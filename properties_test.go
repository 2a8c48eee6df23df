package retry_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/retrykit/retry"
)

// genStrategy draws one of the four strategies with arbitrary, valid
// parameters (durations up to an hour, multipliers up to 10) and reports
// whether it is non-decreasing in the retry number (all four are).
func genStrategy(t *rapid.T) retry.Strategy {
	d := func(label string) time.Duration {
		return time.Duration(rapid.Int64Range(0, int64(time.Hour)).Draw(t, label))
	}
	switch rapid.IntRange(0, 3).Draw(t, "kind") {
	case 0:
		return retry.Constant(d("constant"))
	case 1:
		return retry.Linear(d("initial"), d("step"))
	case 2:
		return retry.Exponential(d("initial"), rapid.Float64Range(1, 10).Draw(t, "multiplier"))
	}
	return retry.Fibonacci(d("unit"))
}

// genJitter draws a valid jitter mode.
func genJitter(t *rapid.T) retry.Jitter {
	switch rapid.IntRange(0, 4).Draw(t, "jitter") {
	case 0:
		return retry.NoJitter
	case 1:
		return retry.FullJitter
	case 2:
		return retry.EqualJitter
	case 3:
		return retry.DecorrelatedJitter
	}
	return retry.ProportionalJitter(rapid.Float64Range(0, 1).Draw(t, "fraction"))
}

// policyPair builds the policy under test and the same policy without
// jitter, whose schedule is the base delays; the jittered one draws from a
// seeded source so that a failure replays.
func policyPair(t *rapid.T, s retry.Strategy, j retry.Jitter, maxDelay time.Duration) (jittered, base *retry.Policy) {
	seed := rapid.Uint64().Draw(t, "seed")
	var err error
	jittered, err = retry.NewPolicy(retry.WithBackoff(s), retry.WithJitter(j), retry.WithMaxDelay(maxDelay),
		retry.WithRand(rand.New(rand.NewPCG(seed, 1))))
	if err != nil {
		t.Fatal(err)
	}
	base, err = retry.NewPolicy(retry.WithBackoff(s), retry.WithJitter(retry.NoJitter), retry.WithMaxDelay(maxDelay))
	if err != nil {
		t.Fatal(err)
	}
	return jittered, base
}

func genMaxDelay(t *rapid.T) time.Duration {
	return time.Duration(rapid.Int64Range(0, int64(2*time.Hour)).Draw(t, "maxDelay")) // 0: no cap
}

func TestPropWaitsAreNeverNegativeNorAboveTheCap(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		maxDelay := genMaxDelay(t)
		p, _ := policyPair(t, genStrategy(t), genJitter(t), maxDelay)
		for i, w := range p.Schedule(rapid.IntRange(1, 200).Draw(t, "n")) {
			if w < 0 {
				t.Fatalf("retry %d: negative wait %v", i+1, w)
			}
			if maxDelay > 0 && w > maxDelay {
				t.Fatalf("retry %d: wait %v above the cap %v", i+1, w, maxDelay)
			}
		}
	})
}

func TestPropUnjitteredStrategiesAreNonDecreasing(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		_, base := policyPair(t, genStrategy(t), retry.NoJitter, genMaxDelay(t))
		waits := base.Schedule(rapid.IntRange(2, 300).Draw(t, "n"))
		for i := 1; i < len(waits); i++ {
			if waits[i] < waits[i-1] {
				t.Fatalf("retry %d waits %v, less than retry %d's %v", i+1, waits[i], i, waits[i-1])
			}
		}
	})
}

func TestPropJitterBounds(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		j := genJitter(t)
		maxDelay := genMaxDelay(t)
		p, unjittered := policyPair(t, genStrategy(t), j, maxDelay)
		n := rapid.IntRange(1, 100).Draw(t, "n")
		waits, bases := p.Schedule(n), unjittered.Schedule(n)
		limit := maxDelay
		if limit == 0 {
			limit = 1<<63 - 1
		}
		prev := bases[0] // decorrelated: the previous wait before retry 1 is first
		for i, w := range waits {
			b := bases[i]
			var lo, hi time.Duration
			switch {
			case j == retry.NoJitter:
				lo, hi = b, b
			case j == retry.FullJitter:
				lo, hi = 0, b
			case j == retry.EqualJitter:
				lo, hi = b/2, b
			case j == retry.DecorrelatedJitter:
				first := bases[0]
				lo, hi = first, min(limit, max(first, satMul3(prev)))
				lo = min(lo, hi)
			default: // proportional
				f := fractionOf(t, j)
				lo = min(time.Duration(float64(b)*(1-f)), limit)
				hi = min(scaleUp(b, 1+f), limit)
				// float64 rounding: a nanosecond, or a part in 2^40 of large bases
				slack := b>>40 + 1
				lo, hi = max(lo-slack, 0), min(hi, limit-slack)+slack
			}
			if w < lo || w > hi {
				t.Fatalf("retry %d (%v): wait %v outside [%v, %v], base %v", i+1, j, w, lo, hi, b)
			}
			prev = w
		}
	})
}

func satMul3(d time.Duration) time.Duration {
	if d > (1<<63-1)/3 {
		return 1<<63 - 1
	}
	return 3 * d
}

func scaleUp(d time.Duration, f float64) time.Duration {
	x := float64(d) * f
	if x >= 1<<63 {
		return 1<<63 - 1
	}
	return time.Duration(x)
}

// fractionOf reads a proportional jitter's fraction back from its String.
func fractionOf(t *rapid.T, j retry.Jitter) float64 {
	f, err := strconv.ParseFloat(strings.TrimPrefix(j.String(), "proportional:"), 64)
	if err != nil {
		t.Fatalf("jitter %v: %v", j, err)
	}
	return f
}

func TestPropCallsNeverExceedTheAttemptLimit(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		limit := rapid.IntRange(1, 50).Draw(t, "attempts")
		failures := rapid.IntRange(0, 100).Draw(t, "failures")
		s := &script{errs: repeat(errA, failures)}
		_, err := retry.Do(context.Background(), s.op, retry.WithMaxAttempts(limit), retry.WithBackoff(retry.Constant(0)))
		if s.calls > limit {
			t.Fatalf("%d calls with a limit of %d", s.calls, limit)
		}
		if failures < limit {
			require.NoError(t, err)
			require.Equal(t, failures+1, s.calls)
		} else {
			require.ErrorIs(t, err, retry.ErrExhausted)
			require.Equal(t, limit, s.calls)
		}
	})
}

// Cancellation at any virtual instant ends the loop at that instant, with
// the context's cause, whether it falls in an attempt or in a wait.
func TestPropCancellationEndsTheLoopAtThatInstant(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		// Attempts take at least 10ms of virtual time and the cancellation
		// comes within 10s, so a run has at most a thousand attempts.
		attempt := time.Duration(rapid.Int64Range(int64(10*time.Millisecond), int64(time.Second)).Draw(rt, "attempt"))
		strategy := genStrategy(rt)
		jitter := genJitter(rt)
		at := time.Duration(rapid.Int64Range(1, int64(10*time.Second)).Draw(rt, "cancelAt"))
		seed := rapid.Uint64().Draw(rt, "seed")
		var timeout time.Duration // 0: no attempt timeout
		if rapid.Bool().Draw(rt, "withAttemptTimeout") {
			timeout = time.Duration(rapid.Int64Range(int64(10*time.Millisecond), int64(2*time.Second)).Draw(rt, "attemptTimeout"))
		}

		synctest.Test(t, func(t *testing.T) {
			cause := errors.New("cancelled by the test")
			ctx, cancel := context.WithCancelCause(t.Context())
			time.AfterFunc(at, func() { cancel(cause) })
			op := func(ctx context.Context) (int, error) {
				select {
				case <-time.After(attempt):
					return 0, errA
				case <-ctx.Done():
					return 0, ctx.Err()
				}
			}
			start := time.Now()
			_, err := retry.Do(ctx, op, retry.WithMaxAttempts(0), retry.WithBackoff(strategy), retry.WithJitter(jitter),
				retry.WithMaxDelay(10*time.Second), retry.WithAttemptTimeout(timeout),
				retry.WithRand(rand.New(rand.NewPCG(seed, 2))))
			took := time.Since(start)
			var re *retry.Error
			require.ErrorAs(t, err, &re)
			require.Equal(t, cause, re.Reason)
			require.Equal(t, at, took)
		})
	})
}
