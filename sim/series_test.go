package sim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// TestSeriesCoversTheRun: the series holds every whole bucket of the run,
// the one ending at the horizon included, and for a herd that ends early
// the bucket of its last event: the counts of the buckets add up to the
// summary's.
func TestSeriesCoversTheRun(t *testing.T) {
	s := quick()
	r, err := s.Run(Fleet{Policy: policy3(t, retry.FullJitter)})
	require.NoError(t, err)
	require.Len(t, r.Series, 5, "5 s in buckets of 1 s")
	assert.Equal(t, 4.0, r.Series[4].T)

	p, err := retry.NewPolicy(retry.WithMaxAttempts(0), retry.WithMaxDelay(time.Second))
	require.NoError(t, err)
	h, err := Herd{Clients: 50, Outage: time.Second, Rate: 100, Burst: 1, Hop: 10 * time.Millisecond}.Run(Fleet{Policy: p})
	require.NoError(t, err)
	require.EqualValues(t, 50, h.Summary.Succeeded)
	var served float64
	for _, b := range h.Series {
		served += b.Goodput / 10 // per second, over 100 ms
	}
	assert.InDelta(t, 50, served, 1e-9, "every success is in a bucket")
}
