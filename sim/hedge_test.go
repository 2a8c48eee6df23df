package sim

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestDelayEstimateTracksAShift: the adaptive delay holds its initial
// value until HedgeWarmUp calls, then follows the quantile of what it is fed,
// within the bins' 1% and the sampling error, and moves to a new
// distribution within two windows.
func TestDelayEstimateTracksAShift(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	d := newDelayEstimate(Hedge{Quantile: 0.95, Delay: 7 * time.Millisecond})
	for range HedgeWarmUp - 1 {
		d.add(int64(r.Float64() * 10e6))
	}
	assert.EqualValues(t, 7*time.Millisecond, d.delay, "before the warm-up")
	for range 4 * hedgeWindow {
		d.add(int64(r.Float64() * 10e6))
	}
	assert.InEpsilon(t, 9.5e6, float64(d.delay), 0.02, "p95 of uniform [0, 10ms)")
	for range 2*hedgeWindow + hedgeEvery {
		d.add(int64(r.Float64() * 100e6))
	}
	assert.InEpsilon(t, 95e6, float64(d.delay), 0.02, "p95 of uniform [0, 100ms), after the shift")
}

func TestLogHistQuantile(t *testing.T) {
	h := newLogHist()
	assert.Zero(t, h.quantile(0.5, nil))
	for i := int64(1); i <= 1000; i++ {
		h.add(i * int64(time.Millisecond))
	}
	for _, q := range []float64{0.01, 0.5, 0.95, 0.999, 1} {
		want := q * 1000 * float64(time.Millisecond)
		got := h.quantile(q, nil)
		assert.GreaterOrEqual(t, got, want*0.999, "q %g", q)
		assert.LessOrEqual(t, got, want*1.0101, "q %g: at most one bin above", q)
	}
	other := newLogHist()
	other.add(int64(MaxSpan))
	assert.Equal(t, histEdge(histBin(int64(MaxSpan))), h.quantile(1, &other))
	assert.Equal(t, 0, histBin(0))
	assert.Equal(t, 0, histBin(-5))
}

func TestHedgeString(t *testing.T) {
	for _, tc := range []struct {
		h    Hedge
		want string
	}{
		{Hedge{}, "no hedge"},
		{Hedge{Delay: 5 * time.Millisecond}, "hedge 5ms"},
		{Hedge{Quantile: 0.95}, "hedge p95"},
		{Hedge{Quantile: 0.999, MaxInFlight: 3}, "hedge p99.9 x3"},
	} {
		assert.Equal(t, tc.want, tc.h.String())
	}
}
