package retry

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The statistical tests below draw N waits from a seeded source, so they
// are deterministic: they cannot flake, and a seed that passes today passes
// forever. Each draw is uniform on an interval [lo, hi] of width w, whose
// mean is (lo+hi)/2 and variance w²/12. Over N draws:
//
//   - the sample mean has standard error sqrt(w²/12/N);
//   - the sample variance has standard error w²·sqrt((1/80 − 1/144)/N)
//     (the fourth central moment of a uniform is w⁴/80);
//   - the share of draws in one of 10 equal bins has standard error
//     sqrt(0.1·0.9/N).
//
// Every check allows 5 standard errors: for a correct implementation a
// fresh seed would fail with probability below 1e-6 per check, while a
// wrong mean (say full jitter drawing from [0, 2·base]) or a wrong spread
// (equal jitter drawing from [0, base]) misses by hundreds of errors.
const (
	statDraws = 100_000
	statSigma = 5.0
)

// uniformStats checks that draws look uniform on [lo, hi].
func uniformStats(t *testing.T, draws []float64, lo, hi float64) {
	t.Helper()
	n := float64(len(draws))
	w := hi - lo
	var sum float64
	bins := make([]int, 10)
	for _, d := range draws {
		require.True(t, d >= lo && d <= hi, "%v outside [%v, %v]", d, lo, hi)
		sum += d
		bins[min(int((d-lo)/w*10), 9)]++
	}
	mean := sum / n
	var sq float64
	for _, d := range draws {
		sq += (d - mean) * (d - mean)
	}
	variance := sq / (n - 1)

	wantMean, wantVar := (lo+hi)/2, w*w/12
	meanSE := math.Sqrt(wantVar / n)
	varSE := w * w * math.Sqrt((1.0/80-1.0/144)/n)
	binSE := math.Sqrt(0.1 * 0.9 / n)
	assert.InDelta(t, wantMean, mean, statSigma*meanSE, "mean")
	assert.InDelta(t, wantVar, variance, statSigma*varSE, "variance")
	for i, c := range bins {
		assert.InDelta(t, 0.1, float64(c)/n, statSigma*binSE, "share of bin %d", i)
	}
}

func seconds(ds []time.Duration) []float64 {
	fs := make([]float64, len(ds))
	for i, d := range ds {
		fs[i] = d.Seconds()
	}
	return fs
}

// TestJitterMeans: full jitter has mean base/2, equal jitter 3·base/4,
// proportional jitter base; each is uniform on its interval. The waits are
// drawn through Policy.Schedule with a constant base.
func TestJitterMeans(t *testing.T) {
	const base = 10 * time.Second
	b := base.Seconds()
	tests := []struct {
		jitter Jitter
		lo, hi float64 // the interval; the mean is its middle
	}{
		{FullJitter, 0, b},                             // mean base/2
		{EqualJitter, b / 2, b},                        // mean 3·base/4
		{ProportionalJitter(0.2), 0.8 * b, 1.2 * b},    // mean base
		{ProportionalJitter(1), 0, 2 * b},              // mean base
		{ProportionalJitter(0.05), 0.95 * b, 1.05 * b}, // mean base
	}
	for _, tt := range tests {
		for _, seed := range []uint64{1, 2, 3} {
			t.Run(fmt.Sprintf("%v seed %d", tt.jitter, seed), func(t *testing.T) {
				p, err := NewPolicy(WithBackoff(Constant(base)), WithMaxDelay(0), WithJitter(tt.jitter),
					WithRand(rand.New(rand.NewPCG(seed, 42))))
				require.NoError(t, err)
				uniformStats(t, seconds(p.Schedule(statDraws)), tt.lo, tt.hi)
			})
		}
	}
}

// TestDecorrelatedJitterStats: with a given previous wait, decorrelated
// jitter is uniform on [first, 3·previous].
func TestDecorrelatedJitterStats(t *testing.T) {
	const first, prev = time.Second, 4 * time.Second
	r := &lockedRand{r: rand.New(rand.NewPCG(7, 42))}
	draws := make([]float64, statDraws)
	for i := range draws {
		draws[i] = DecorrelatedJitter.apply(r, prev, prev, first, maxDuration).Seconds()
	}
	uniformStats(t, draws, first.Seconds(), (3 * prev).Seconds())
}

// TestHintSpreadStats: a hint d waits d + U(0, base): mean d + base/2.
func TestHintSpreadStats(t *testing.T) {
	const hint, base = 3 * time.Second, 2 * time.Second
	p, err := NewPolicy(WithBackoff(Constant(base)), WithRand(rand.New(rand.NewPCG(9, 42))))
	require.NoError(t, err)
	draws := make([]float64, statDraws)
	for i := range draws {
		draws[i] = p.cfg.hintWait(1, hint).Seconds()
	}
	uniformStats(t, draws, hint.Seconds(), (hint + base).Seconds())
}
