package sim

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// brooker holds the real policies that reproduce the backoffs of Brooker's
// simulator (base 5 ms, cap 2 s, expo(n) = base·2ⁿ for retry n): the
// library's Exponential(10ms, 2) is 5·2ⁿ ms, and DecorrelatedJitter draws
// from [Delay(1), 3 × previous], so Brooker's U(base, 3·sleep) needs
// Delay(1) = base = 5 ms.
var brooker = []struct {
	name     string
	opts     []retry.Option
	calls    float64 // Brooker's table, N = 100, mean over seeds 1–3 of his code
	timeMean time.Duration
}{
	{"none", []retry.Option{retry.WithBackoff(retry.Constant(0)), retry.WithJitter(retry.NoJitter)}, 2421, 2030 * time.Millisecond},
	{"exponential", []retry.Option{retry.WithBackoff(retry.Exponential(10*time.Millisecond, 2)), retry.WithJitter(retry.NoJitter)}, 1855, 63100 * time.Millisecond},
	{"full", []retry.Option{retry.WithBackoff(retry.Exponential(10*time.Millisecond, 2)), retry.WithJitter(retry.FullJitter)}, 796, 4896 * time.Millisecond},
	{"equal", []retry.Option{retry.WithBackoff(retry.Exponential(10*time.Millisecond, 2)), retry.WithJitter(retry.EqualJitter)}, 812, 6630 * time.Millisecond},
	{"decorrelated", []retry.Option{retry.WithBackoff(retry.Exponential(5*time.Millisecond, 2)), retry.WithJitter(retry.DecorrelatedJitter)}, 1000, 4545 * time.Millisecond},
}

func brookerPolicy(t testing.TB, opts ...retry.Option) *retry.Policy {
	t.Helper()
	p, err := retry.NewPolicy(append([]retry.Option{retry.WithMaxAttempts(0), retry.WithMaxDelay(2 * time.Second)}, opts...)...)
	require.NoError(t, err)
	return p
}

// occMean runs seeds 1 to 3 and averages, as the table does.
func occMean(t *testing.T, n int, opts ...retry.Option) OCCResult {
	t.Helper()
	var m OCCResult
	for seed := uint64(1); seed <= 3; seed++ {
		r, err := OCC{Clients: n, Seed: seed}.Run(Fleet{Policy: brookerPolicy(t, opts...)})
		require.NoError(t, err)
		require.Zero(t, r.GaveUp)
		m.Calls += r.Calls / 3
		m.Time += r.Time / 3
		m.Peak += r.Peak / 3
	}
	return m
}

// TestOCCReproducesBrooker is the calibration: Brooker's
// table at N = 100 within ±5% on calls and ±10% on time, and the orderings
// his post states.
func TestOCCReproducesBrooker(t *testing.T) {
	t.Parallel()
	got := map[string]OCCResult{}
	for _, b := range brooker {
		r := occMean(t, 100, b.opts...)
		got[b.name] = r
		assert.InEpsilon(t, b.calls, r.Calls, 0.05, "%s: calls", b.name)
		assert.InEpsilon(t, float64(b.timeMean), float64(r.Time), 0.10, "%s: time", b.name)
	}
	full, equal, dec, expo := got["full"], got["equal"], got["decorrelated"], got["exponential"]
	assert.LessOrEqual(t, full.Calls, 0.5*expo.Calls, "full jitter halves the work of no jitter")
	assert.InEpsilon(t, full.Calls, equal.Calls, 0.05, "equal does about the work of full")
	assert.GreaterOrEqual(t, dec.Calls, 1.15*full.Calls, "decorrelated does more work than full")
	assert.Less(t, dec.Time, full.Time)
	assert.Less(t, full.Time, equal.Time)
	assert.GreaterOrEqual(t, expo.Time, 5*equal.Time)
	for _, herd := range []string{"equal", "none", "exponential"} {
		for _, spread := range []string{"full", "decorrelated"} {
			assert.LessOrEqual(t, got[spread].Peak, 0.6*got[herd].Peak, "peak of %s against %s", spread, herd)
		}
	}
}

// TestOCCDecorrelatedDefinition pins why decorrelated jitter needs a first
// delay of 5 ms, not the 10 ms of the other modes, to reproduce Brooker: the
// library draws retry 1 from [Delay(1), 3·Delay(1)], Brooker from
// [base, 3·base] where base is half his first exponential delay. With the
// same Exponential(10ms, 2) as the other modes every wait's floor doubles,
// clients spread more, and the work drops by about 15%.
func TestOCCDecorrelatedDefinition(t *testing.T) {
	t.Parallel()
	r := occMean(t, 100, retry.WithBackoff(retry.Exponential(10*time.Millisecond, 2)), retry.WithJitter(retry.DecorrelatedJitter))
	assert.InDelta(t, 0.85, r.Calls/1000, 0.04, "calls %v", r.Calls)
}

func TestOCCRejectsBadInput(t *testing.T) {
	p := brookerPolicy(t)
	for _, tc := range []struct {
		s    OCC
		f    Fleet
		want string
	}{
		{OCC{Clients: 0}, Fleet{Policy: p}, "OCC.Clients"},
		{OCC{Clients: 1, Trials: -1}, Fleet{Policy: p}, "OCC.Trials"},
		{OCC{Clients: 1}, Fleet{}, "Fleet.Policy"},
		{OCC{Clients: 1}, Fleet{Policy: p, Budget: &retry.BudgetConfig{}}, "Fleet.Budget"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			_, err := tc.s.Run(tc.f)
			require.ErrorIs(t, err, retry.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestOCCStopsAtTheEventLimit(t *testing.T) {
	_, err := OCC{Clients: 100, Trials: 1, MaxEvents: 1000}.Run(Fleet{Policy: brookerPolicy(t)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "event limit")
	assert.Contains(t, err.Error(), fmt.Sprint(1000))
}
