package sim

import (
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/retrykit/retry"
)

// TestPropertyTailAccounts: whatever the scenario, hedge and budget, a
// Tail run's counts add up, its hedges stay within the copies, attempts
// and budget allowed, its percentiles are ordered, and a user request,
// the slowest of its calls, is never faster at a percentile than a single
// call.
func TestPropertyTailAccounts(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := Tail{
			Requests:   rapid.IntRange(1, 40).Draw(t, "requests"),
			FanOut:     rapid.IntRange(1, 20).Draw(t, "fanout"),
			Rate:       rapid.Float64Range(1, 2000).Draw(t, "rate"),
			Workers:    rapid.IntRange(1, 50).Draw(t, "workers"),
			Median:     time.Duration(rapid.Int64Range(int64(10*time.Microsecond), int64(50*time.Millisecond)).Draw(t, "median")),
			Sigma:      rapid.Float64Range(0, 1.5).Draw(t, "sigma"),
			Stragglers: rapid.Float64Range(0, 0.2).Draw(t, "stragglers"),
			SlowMin:    rapid.Float64Range(1, 20).Draw(t, "slowmin"),
			Hop:        time.Duration(rapid.Int64Range(0, int64(5*time.Millisecond)).Draw(t, "hop")),
			Seed:       rapid.Uint64().Draw(t, "seed"),
		}
		s.SlowMax = s.SlowMin * rapid.Float64Range(1, 10).Draw(t, "slowspan")
		if rapid.Bool().Draw(t, "brownout") {
			s.BrownoutStart = time.Duration(rapid.Int64Range(0, int64(time.Second)).Draw(t, "bstart"))
			s.BrownoutLength = time.Duration(rapid.Int64Range(1, int64(2*time.Second)).Draw(t, "blength"))
			s.Slowdown = rapid.Float64Range(1, 5).Draw(t, "slowdown")
		}
		h := Hedge{MaxInFlight: rapid.IntRange(2, MaxCopies).Draw(t, "inflight")}
		switch rapid.IntRange(0, 2).Draw(t, "hedge") {
		case 1:
			h.Delay = time.Duration(rapid.Int64Range(1, int64(20*time.Millisecond)).Draw(t, "delay"))
		case 2:
			h.Quantile = rapid.Float64Range(0.01, 0.99).Draw(t, "quantile")
		}
		attempts := rapid.IntRange(1, 6).Draw(t, "attempts")
		p, err := retry.NewPolicy(retry.WithMaxAttempts(attempts))
		if err != nil {
			t.Fatal(err)
		}
		f := Fleet{Policy: p}
		if rapid.Bool().Draw(t, "budget") {
			f.Budget = &retry.BudgetConfig{Capacity: rapid.Float64Range(1, 50).Draw(t, "capacity"),
				PerSuccess: float64(rapid.IntRange(0, 500).Draw(t, "persuccess_milli")) / 1000}
		}
		r, err := s.Run(f, h)
		if err != nil {
			t.Fatal(err)
		}
		calls := int64(s.Requests * s.FanOut)
		switch {
		case r.Requests != int64(s.Requests) || r.Calls != calls:
			t.Fatalf("requests %d calls %d", r.Requests, r.Calls)
		case r.Attempts != r.Calls+r.Hedges:
			t.Fatalf("attempts %d != calls %d + hedges %d", r.Attempts, r.Calls, r.Hedges)
		case r.Hedges > int64(min(h.MaxInFlight, attempts)-1)*calls:
			t.Fatalf("hedges %d beyond the copies and attempts allowed", r.Hedges)
		case !h.enabled() && (r.Hedges != 0 || r.Load != 1):
			t.Fatalf("no hedge, yet %d hedges, load %g", r.Hedges, r.Load)
		case r.Wins > r.Hedges || r.RefusedBudget > r.Refused:
			t.Fatalf("wins %d hedges %d refused %d by budget %d", r.Wins, r.Hedges, r.Refused, r.RefusedBudget)
		case r.Utilisation < 0 || r.Utilisation > 1:
			t.Fatalf("utilisation %g", r.Utilisation)
		}
		if f.Budget != nil {
			if bound := f.Budget.Capacity + f.Budget.PerSuccess*float64(calls); float64(r.Hedges) > bound+1e-9 {
				t.Fatalf("hedges %d beyond the budget's %g", r.Hedges, bound)
			}
		}
		for _, q := range [][2]float64{{r.RequestP50, r.CallP50}, {r.RequestP99, r.CallP99}, {r.RequestP999, r.CallP999}} {
			if q[0] < q[1] {
				t.Fatalf("a user request faster than a call at a percentile: %g < %g", q[0], q[1])
			}
		}
		if !(r.RequestP50 <= r.RequestP99 && r.RequestP99 <= r.RequestP999 && r.CallP50 <= r.CallP99 && r.CallP99 <= r.CallP999) {
			t.Fatalf("percentiles out of order: %+v", r)
		}
	})
}
