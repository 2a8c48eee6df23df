package retry

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// sampleQuantile is the q-quantile of xs as the estimator defines it: the
// sample of rank ceil(q·n), from 1.
func sampleQuantile(xs []time.Duration, q float64) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	r := int(math.Ceil(q * float64(len(s))))
	return s[min(max(r, 1), len(s))-1]
}

func mustHedgeDelay(t testing.TB, q float64, initial time.Duration) *HedgeDelay {
	t.Helper()
	d, err := NewHedgeDelay(q, initial)
	require.NoError(t, err)
	return d
}

func TestHedgeDelayBuckets(t *testing.T) {
	for _, l := range []time.Duration{0, 1, 1023, 1024, 1025, 1057, 2047, 2048, time.Millisecond, time.Second, time.Hour} {
		i := delayBucket(l)
		require.GreaterOrEqual(t, i, 0)
		require.Less(t, i, delayBuckets)
		if l >= 1<<delayMinShift && l < 1<<40 {
			mid := delayMiddle(i)
			assert.LessOrEqual(t, math.Abs(float64(mid-l))/float64(l), 1.0/64, "latency %v, bucket %d, middle %v", l, i, mid)
		}
	}
	assert.Equal(t, delayBuckets-1, delayBucket(time.Duration(math.MaxInt64)), "the longest latencies count in the last bucket")
	for i := 1; i < delayBuckets; i++ {
		require.Greater(t, delayMiddle(i), delayMiddle(i-1), "bucket %d", i)
	}
}

func TestHedgeDelayWarmUp(t *testing.T) {
	d := mustHedgeDelay(t, 0.95, 7*time.Millisecond)
	assert.Equal(t, uint64(200), d.warm, "10/(1-0.95)")
	for range 199 {
		d.Observe(time.Millisecond)
	}
	assert.Equal(t, 7*time.Millisecond, d.Delay(), "the initial delay until the warm-up is over")
	d.Observe(time.Millisecond)
	assert.InEpsilon(t, float64(time.Millisecond), float64(d.Delay()), 1.0/64)

	low := mustHedgeDelay(t, 0.5, time.Millisecond)
	assert.Equal(t, uint64(delayMinWarm), low.warm)
	var zero *HedgeDelay
	assert.Zero(t, zero.Delay())
	zero.Observe(time.Second) // no panic
	d.Observe(-time.Second)   // ignored
	assert.Equal(t, uint64(200), d.count.Load())
}

func TestHedgeDelayConvergesAndFollowsAShift(t *testing.T) {
	d := mustHedgeDelay(t, 0.95, 50*time.Millisecond)
	rng := rand.New(rand.NewPCG(1, 2))
	lognormal := func(median time.Duration) time.Duration {
		return time.Duration(float64(median) * math.Exp(0.5*rng.NormFloat64()))
	}
	// p95 of a lognormal with σ = 0.5 is median·e^(0.5·1.645) = 2.277·median.
	for range 20_000 {
		d.Observe(lognormal(5 * time.Millisecond))
	}
	assert.InEpsilon(t, 2.277*5e6, float64(d.Delay()), 0.06, "p95 of the first distribution: %v", d.Delay())
	// The dependency slows down 4×: within two windows the delay follows.
	for range 2 * int(d.window) {
		d.Observe(lognormal(20 * time.Millisecond))
	}
	assert.InEpsilon(t, 2.277*20e6, float64(d.Delay()), 0.06, "p95 after the shift: %v", d.Delay())
}

func TestHedgeDelayConcurrent(t *testing.T) {
	d := mustHedgeDelay(t, 0.9, time.Millisecond)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 5000 {
				d.Observe(time.Duration(1+(i+g)%100) * time.Millisecond)
				_ = d.Delay()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, uint64(20_000), d.count.Load())
	assert.InEpsilon(t, float64(90*time.Millisecond), float64(d.Delay()), 0.05)
}

// The estimate is within 1/64 of the sample quantile of the latencies its
// two windows hold, for any latencies in its range, any quantile, and any
// count (rotations included).
func TestHedgeDelayErrorBoundProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		q := rapid.Float64Range(0.01, 0.99).Draw(t, "q")
		d, err := NewHedgeDelay(q, time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		d.window = uint64(rapid.IntRange(1, 64).Draw(t, "window")) // small windows, to rotate often
		d.warm, d.every = 1, 1
		n := rapid.IntRange(1, 300).Draw(t, "n")
		spread := rapid.IntRange(0, 30).Draw(t, "octaves")
		xs := make([]time.Duration, n)
		for i := range xs {
			xs[i] = time.Duration(1024 + rapid.Int64Range(0, int64(1)<<spread).Draw(t, "latency"))
			d.Observe(xs[i])
		}
		epoch := uint64(n) / d.window
		from := 0
		if epoch > 0 {
			from = int((epoch - 1) * d.window)
		}
		want := sampleQuantile(xs[from:], q)
		got := d.Delay()
		if rel := math.Abs(float64(got-want)) / float64(want); rel > 1.0/64 {
			t.Fatalf("q %v, n %d, window %d: estimate %v, sample quantile %v (relative error %.4f)", q, n, d.window, got, want, rel)
		}
	})
}
