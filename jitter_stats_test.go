package retry_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// The jitter modes have the means their definitions promise. Each case draws
// 100,000 waits of a constant 1s base from a seeded source, so the test is
// deterministic; the tolerance is 5 standard errors of the mean (σ/√n with
// the σ of the uniform distribution the mode draws from), about 0.46% of the
// base for full jitter: wide enough for any seed, tight enough that a bias
// of 1% fails.
func TestJitterMeans(t *testing.T) {
	const (
		n    = 100_000
		base = time.Second
	)
	sqrt12 := math.Sqrt(12)
	tests := []struct {
		name   string
		jitter retry.Jitter
		mean   float64 // in units of base
		sigma  float64 // of one draw, in units of base
		lo, hi float64 // every draw within, in units of base
	}{
		{"full ≈ base/2", retry.FullJitter, 0.5, 1 / sqrt12, 0, 1},
		{"equal ≈ 3·base/4", retry.EqualJitter, 0.75, 0.5 / sqrt12, 0.5, 1},
		{"proportional(0.2) ≈ base", retry.ProportionalJitter(0.2), 1, 0.4 / sqrt12, 0.8, 1.2},
		{"proportional(1) ≈ base", retry.ProportionalJitter(1), 1, 2 / sqrt12, 0, 2},
		{"none = base", retry.NoJitter, 1, 0, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := retry.NewPolicy(retry.WithBackoff(retry.Constant(base)), retry.WithMaxDelay(0),
				retry.WithJitter(tt.jitter), retry.WithRand(rand.New(rand.NewPCG(2026, 11))))
			require.NoError(t, err)
			var sum, sumSq float64
			for _, w := range p.Schedule(n) {
				x := float64(w) / float64(base)
				require.GreaterOrEqual(t, x, tt.lo)
				require.LessOrEqual(t, x, tt.hi)
				sum += x
				sumSq += x * x
			}
			mean := sum / n
			tolerance := 5*tt.sigma/math.Sqrt(n) + 1e-9
			assert.InDelta(t, tt.mean, mean, tolerance, "mean of %d draws", n)
			sd := math.Sqrt(max(sumSq/n-mean*mean, 0))
			assert.InDelta(t, tt.sigma, sd, 0.02*tt.sigma+1e-9, "spread of %d draws", n)
		})
	}
}

// Decorrelated jitter wanders in [first, 3 × previous], capped: its waits
// cover the range up to the cap rather than settling at one value.
func TestDecorrelatedJitterSpread(t *testing.T) {
	p, err := retry.NewPolicy(retry.WithBackoff(retry.Constant(100*time.Millisecond)), retry.WithMaxDelay(10*time.Second),
		retry.WithJitter(retry.DecorrelatedJitter), retry.WithRand(rand.New(rand.NewPCG(5, 6))))
	require.NoError(t, err)
	waits := p.Schedule(100_000)
	var below, above int
	for _, w := range waits {
		require.GreaterOrEqual(t, w, 100*time.Millisecond)
		require.LessOrEqual(t, w, 10*time.Second)
		if w < time.Second {
			below++
		}
		if w > 5*time.Second {
			above++
		}
	}
	assert.Greater(t, below, 1000, "it comes back down near first")
	assert.Greater(t, above, 10000, "and climbs toward the cap")
}
