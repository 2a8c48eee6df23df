package sim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/retrykit/retry"
)

// TestSlowTriggerEndsWithIt: a slow trigger slows work only while it
// lasts, so recovery after a 1 s trigger with one attempt is continuous in
// its magnitude, up to the full slow-down (no jump at 0.999, where a job
// started during the trigger once ran its whole 10 ms at 1/1000 speed).
func TestSlowTriggerEndsWithIt(t *testing.T) {
	t.Parallel()
	var prev float64
	for i, m := range []float64{0.9, 0.99, 0.999, 1} {
		s := Metastable()
		s.Trigger = Trigger{Mode: Slow, Start: 10 * time.Second, Length: time.Second, Magnitude: m}
		s.Bucket = 100 * time.Millisecond
		got := runOpen(t, s, Fleet{Policy: policy3(t, retry.FullJitter, retry.WithMaxAttempts(1))})
		t.Logf("m=%v recovery %vs", m, got.RecoverySeconds)
		assert.True(t, got.Recovered, "m=%v", m)
		if i > 0 {
			assert.GreaterOrEqual(t, got.RecoverySeconds, prev, "m=%v: recovery shrinks as the trigger worsens", m)
			assert.LessOrEqual(t, got.RecoverySeconds-prev, 0.5, "m=%v: recovery jumps", m)
		}
		prev = got.RecoverySeconds
	}
}
