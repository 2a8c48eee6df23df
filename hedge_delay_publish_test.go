package retry

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An estimate made at an older count (by a goroutine preempted while it
// read the windows) is not published over a newer one: once a window had
// been cleared for reuse under such a reading, TestHedgeDelayConcurrent
// saw the last bucket's 18 minutes published as the delay, 1 run in 15.
func TestHedgeDelayStaleEstimateNotPublished(t *testing.T) {
	d, err := NewHedgeDelay(0.9, time.Millisecond)
	require.NoError(t, err)
	for range 2048 {
		d.Observe(5 * time.Millisecond)
	}
	published := d.est.Load()
	require.Equal(t, uint64(2048), published>>delayCodeBits)
	for range 64 {
		d.Observe(time.Second) // a newer distribution, not yet estimated
	}
	d.est.Store(published)
	d.update(1024) // a late goroutine's estimate, made at an older count
	assert.Equal(t, published, d.est.Load(), "the older estimate is dropped")
	assert.InEpsilon(t, float64(5*time.Millisecond), float64(d.Delay()), 1.0/64)
	d.update(2048 + 64)
	assert.Equal(t, uint64(2048+64), d.est.Load()>>delayCodeBits, "a newer one is published")
}
