package sim

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// shortTail is LatencyTail with fewer user requests, so that a test can
// run it a few times; its p99.9 is the second slowest of 1,500.
func shortTail(seed uint64) Tail {
	s := LatencyTail()
	s.Requests, s.Seed = 1500, seed
	return s
}

// shortBrownout is shortTail with a brownout from 2 s to 10 s.
func shortBrownout(seed uint64) Tail {
	s := shortTail(seed)
	s.BrownoutStart, s.BrownoutLength, s.Slowdown = 2*time.Second, 8*time.Second, Brownout().Slowdown
	return s
}

// tailBudget is the budget of the hedging checks: a fan-out's worth of
// tokens, 0.1 back per success.
var tailBudget = retry.BudgetConfig{Capacity: 100, PerSuccess: 0.1}

func tailFleet(t *testing.T, attempts int, budget *retry.BudgetConfig) Fleet {
	p, err := retry.NewPolicy(retry.WithMaxAttempts(attempts))
	require.NoError(t, err)
	return Fleet{Policy: p, Budget: budget}
}

func runTail(t *testing.T, s Tail, f Fleet, h Hedge) TailResult {
	t.Helper()
	r, err := s.Run(f, h)
	require.NoError(t, err)
	return r
}

// TestTailHedgingCutsTheTail is Dean and Barroso's result in this model:
// on a heavy tail (0.1% stragglers 10 to 100 times slower), hedging at the
// p95 of recent latencies cuts the fan-out's p99.9 at least tenfold, for
// about 5% extra requests (the share of calls slower than their p95), and
// with a budget of 0.1 per success for at most the budget's bound.
func TestTailHedgingCutsTheTail(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 3; seed++ {
		s := shortTail(seed)
		none := shortTailRun(t, seed, Hedge{})
		p95 := shortTailRun(t, seed, Hedge{Quantile: 0.95})
		budgeted := runTail(t, s, tailFleet(t, 4, &tailBudget), Hedge{Quantile: 0.95})
		for _, r := range []TailResult{p95, budgeted} {
			assert.GreaterOrEqual(t, none.RequestP999/r.RequestP999, 10.0, "seed %d: %g ms → %g ms", seed, none.RequestP999, r.RequestP999)
			assert.LessOrEqual(t, r.RequestP99, none.RequestP99, "seed %d", seed)
		}
		assert.InDelta(t, 5, p95.ExtraPercent, 1.5, "seed %d: a p95 delay hedges about 5%% of calls", seed)
		bound := tailBudget.Capacity + tailBudget.PerSuccess*float64(budgeted.Calls)
		assert.LessOrEqual(t, float64(budgeted.Hedges), bound, "seed %d", seed)
		assert.LessOrEqual(t, budgeted.Hedges, p95.Hedges, "seed %d: a budget only takes hedges away", seed)
		assert.Zero(t, none.Hedges)
		assert.Equal(t, 1.0, none.Load)
	}
}

// TestTailHedgingNeverWorsensAHeavyTail: over straggler shares and
// factors, hedging (fixed or adaptive, with or without a budget) never
// raises the fan-out's p99.9 by more than 10%.
func TestTailHedgingNeverWorsensAHeavyTail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		stragglers, slowMin, slowMax float64
	}{{0.001, 10, 100}, {0.01, 10, 100}, {0.005, 5, 20}, {0.0001, 100, 1000}} {
		s := shortTail(7)
		s.Requests = 500
		s.Stragglers, s.SlowMin, s.SlowMax = tc.stragglers, tc.slowMin, tc.slowMax
		none := runTail(t, s, tailFleet(t, 4, nil), Hedge{})
		for _, h := range []Hedge{{Delay: 5 * time.Millisecond}, {Quantile: 0.95}, {Quantile: 0.9, MaxInFlight: 3}} {
			for _, b := range []*retry.BudgetConfig{nil, &tailBudget} {
				r := runTail(t, s, tailFleet(t, 4, b), h)
				assert.LessOrEqual(t, r.RequestP999, 1.1*none.RequestP999, "%+v %v budget %v", tc, h, b != nil)
				assert.Equal(t, r.Calls+r.Hedges, r.Attempts)
				assert.LessOrEqual(t, r.Hedges, int64(cmpOr(h.MaxInFlight, 2)-1)*r.Calls)
			}
		}
	}
}

// TestTailBrownout: when every request is slow, hedges at a fixed delay
// without a budget double the load on the server and its latency
// collapses; with a budget the hedges stop by themselves and the load
// stays within (1 + PerSuccess) plus the budget's capacity.
func TestTailBrownout(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 2; seed++ {
		s := shortBrownout(seed)
		none := runTail(t, s, tailFleet(t, 4, nil), Hedge{})
		naive := runTail(t, s, tailFleet(t, 4, nil), Hedge{Delay: 5 * time.Millisecond})
		budgeted := runTail(t, s, tailFleet(t, 4, &tailBudget), Hedge{Delay: 5 * time.Millisecond})
		assert.GreaterOrEqual(t, naive.BrownoutLoad, 1.9, "seed %d", seed)
		assert.Greater(t, naive.BrownoutP99, 3*none.BrownoutP99, "seed %d: latency collapses (the queue grows as long as the brownout lasts)", seed)
		assert.LessOrEqual(t, budgeted.Load, 1+tailBudget.PerSuccess+tailBudget.Capacity/float64(budgeted.Calls), "seed %d", seed)
		assert.LessOrEqual(t, budgeted.BrownoutLoad, 1+tailBudget.PerSuccess+tailBudget.Capacity/float64(s.Requests), "seed %d", seed)
		assert.Positive(t, budgeted.RefusedBudget)
		assert.Less(t, budgeted.BrownoutP99, 2*none.BrownoutP99, "seed %d", seed)
	}
}

// TestTailHedgesCountAsAttempts: a hedge is an attempt of the call's
// policy, so a policy of one attempt never hedges.
func TestTailHedgesCountAsAttempts(t *testing.T) {
	t.Parallel()
	s := shortTail(1)
	s.Requests = 100
	r := runTail(t, s, tailFleet(t, 1, nil), Hedge{Delay: time.Millisecond})
	assert.Zero(t, r.Hedges)
	assert.Positive(t, r.Refused)
	assert.Zero(t, r.RefusedBudget)
	r = runTail(t, s, tailFleet(t, 2, nil), Hedge{Delay: time.Millisecond, MaxInFlight: 4})
	assert.LessOrEqual(t, r.Hedges, r.Calls, "two attempts: at most one hedge per call")
}

func TestTailSameSeedSameResult(t *testing.T) {
	t.Parallel()
	s := shortBrownout(3)
	s.Requests = 400
	a := runTail(t, s, tailFleet(t, 4, &tailBudget), Hedge{Quantile: 0.95})
	b := runTail(t, s, tailFleet(t, 4, &tailBudget), Hedge{Quantile: 0.95})
	assert.Equal(t, a, b)
	var wa, wb bytes.Buffer
	require.NoError(t, WriteTailSVG(&wa, a))
	require.NoError(t, WriteTailSVG(&wb, b))
	assert.Equal(t, wa.String(), wb.String())
}

func TestTailRejectsBadInput(t *testing.T) {
	f := tailFleet(t, 4, nil)
	for _, tc := range []struct {
		edit func(*Tail, *Hedge)
		want string
	}{
		{func(s *Tail, _ *Hedge) { s.FanOut = 0 }, "Tail.FanOut"},
		{func(s *Tail, _ *Hedge) { s.FanOut = MaxFanOut + 1 }, "Tail.FanOut"},
		{func(s *Tail, _ *Hedge) { s.Requests = 0 }, "Tail.Requests"},
		{func(s *Tail, _ *Hedge) { s.MaxEvents = 1000 }, "Tail.Requests"},
		{func(s *Tail, _ *Hedge) { s.Rate = 0 }, "Tail.Rate"},
		{func(s *Tail, _ *Hedge) { s.Rate = 1e-300 }, "Tail.Rate"},
		{func(s *Tail, _ *Hedge) { s.Workers = 0 }, "Tail.Workers"},
		{func(s *Tail, _ *Hedge) { s.Median = 0 }, "Tail.Median"},
		{func(s *Tail, _ *Hedge) { s.Median = time.Hour; s.Sigma = 4 }, "Tail.Median"},
		{func(s *Tail, _ *Hedge) { s.Sigma = -1 }, "Tail.Sigma"},
		{func(s *Tail, _ *Hedge) { s.Stragglers = 2 }, "Tail.Stragglers"},
		{func(s *Tail, _ *Hedge) { s.SlowMin = 0.5 }, "Tail.SlowMin"},
		{func(s *Tail, _ *Hedge) { s.SlowMax = 5 }, "Tail.SlowMax"},
		{func(s *Tail, _ *Hedge) { s.Slowdown = 0.5 }, "Tail.Slowdown"},
		{func(s *Tail, _ *Hedge) { s.Hop = -1 }, "Tail.Hop"},
		{func(s *Tail, _ *Hedge) { s.BrownoutLength = -1 }, "Tail.BrownoutLength"},
		{func(s *Tail, _ *Hedge) { s.Bucket = time.Nanosecond }, "Tail.Bucket"},
		{func(_ *Tail, h *Hedge) { h.Delay = -1 }, "Hedge.Delay"},
		{func(_ *Tail, h *Hedge) { h.Quantile = 1 }, "Hedge.Quantile"},
		{func(_ *Tail, h *Hedge) { h.Quantile = -0.5 }, "Hedge.Quantile"},
		{func(_ *Tail, h *Hedge) { h.MaxInFlight = 1 }, "Hedge.MaxInFlight"},
		{func(_ *Tail, h *Hedge) { h.MaxInFlight = MaxCopies + 1 }, "Hedge.MaxInFlight"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			s, h := shortTail(1), Hedge{Delay: time.Millisecond}
			tc.edit(&s, &h)
			_, err := s.Run(f, h)
			require.ErrorIs(t, err, retry.ErrInvalidConfig)
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tc.want, fe.Field)
		})
	}
	_, err := shortTail(1).Run(Fleet{}, Hedge{})
	require.ErrorIs(t, err, retry.ErrInvalidConfig)
}

// TestTailSVG: the chart is well-formed, draws three bars per run, and
// the load panel only when a run had a brownout.
func TestTailSVG(t *testing.T) {
	t.Parallel()
	s := shortBrownout(1)
	s.Requests = 300
	var rs []TailResult
	for _, h := range []Hedge{{}, {Quantile: 0.95}} {
		r := runTail(t, s, tailFleet(t, 4, nil), h)
		r.Label = h.String() + " <&>"
		rs = append(rs, r)
	}
	var b bytes.Buffer
	require.NoError(t, WriteTailSVG(&b, rs...))
	els := parseSVG(t, b.String())
	bars, lines := 0, 0
	for _, e := range els {
		switch {
		case e.name == "rect" && e.attr["fill-opacity"] != "":
			bars++
		case e.name == "polyline":
			lines++
		}
	}
	assert.Equal(t, 6, bars)
	assert.Equal(t, 2, lines)
	assert.Contains(t, b.String(), "no hedge &lt;&amp;&gt;")

	rs[0].BrownoutLoad, rs[1].BrownoutLoad = 0, 0
	b.Reset()
	require.NoError(t, WriteTailSVG(&b, rs...))
	assert.NotContains(t, b.String(), "polyline", "no brownout, no load panel")
	b.Reset()
	require.NoError(t, WriteTailSVG(&b))
	parseSVG(t, b.String())
}
