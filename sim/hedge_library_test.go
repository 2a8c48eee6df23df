package sim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// libraryRun runs s with an adaptive Hedge at q whose delay is the
// library's retry.HedgeDelay, fed as WithAdaptiveHedge feeds it.
func libraryRun(t *testing.T, s Tail, f Fleet, q float64) TailResult {
	t.Helper()
	d, err := retry.NewHedgeDelay(q, defaultHedgeInitial)
	require.NoError(t, err)
	r, err := s.run(f, Hedge{Quantile: q}, MaxPending, libraryDelay{d})
	require.NoError(t, err)
	return r
}

// TestTailLibraryEstimator is why an adaptive Hedge is the simulator's
// own estimator and not retry.HedgeDelay (see Hedge.Quantile): on the
// fan-out, the library's estimator at p95 cuts the p99.9 as much, but
// hedges more calls than 1 − 0.95, and more than the simulator's.
func TestTailLibraryEstimator(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 3; seed++ {
		s := shortTail(seed)
		none := shortTailRun(t, seed, Hedge{})
		own := shortTailRun(t, seed, Hedge{Quantile: 0.95})
		lib := libraryRun(t, s, tailFleet(t, 4, nil), 0.95)
		t.Logf("seed %d: none p99.9 %g; own %g ms %.2f%%; library %g ms %.2f%%", seed, none.RequestP999, own.RequestP999, own.ExtraPercent, lib.RequestP999, lib.ExtraPercent)
		assert.GreaterOrEqual(t, none.RequestP999/lib.RequestP999, 10.0, "seed %d", seed)
		assert.Greater(t, lib.ExtraPercent, own.ExtraPercent, "seed %d", seed)
		assert.Greater(t, lib.ExtraPercent, 6.0, "seed %d", seed)
	}
}

// TestLibraryDelayFeedsAsTheLibrary: a winner is observed at its latency
// from its own send, a loser that ran at least the delay at its time
// until the winner answered, and a loser that ran less is not observed
// (the estimate replaces the initial delay after 64 observations at q 0.75).
func TestLibraryDelayFeedsAsTheLibrary(t *testing.T) {
	ms := int64(time.Millisecond)
	for _, tc := range []struct {
		name  string
		sent  [2]int64
		k     int
		now   int64
		calls int           // calls until the warm-up ends
		want  time.Duration // the estimate then
	}{
		{"a loser that ran less than the delay is not observed", [2]int64{0, 1500 * 1000}, 0, 2 * ms, 64, 2 * time.Millisecond},
		{"a loser that ran past it is, at its lower bound", [2]int64{0, 4 * ms}, 1, 5 * ms, 32, 5 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := retry.NewHedgeDelay(0.75, time.Millisecond)
			require.NoError(t, err)
			l := libraryDelay{d}
			c := &tailCall{sent: [MaxCopies]int64{tc.sent[0], tc.sent[1]}, copies: 2}
			for range tc.calls - 1 {
				l.won(c, tc.k, tc.now)
			}
			assert.Equal(t, time.Millisecond, d.Delay(), "still warming up")
			l.won(c, tc.k, tc.now)
			assert.InEpsilon(t, float64(tc.want), float64(d.Delay()), 1.0/64)
			assert.Equal(t, int64(d.Delay()), l.delayNs())
		})
	}
}
