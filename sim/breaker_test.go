package sim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// TestBreakerSlowsRecovery: per-client breakers in the style of gobreaker
// (open after consecutive failures, 60 s before a probe) trip within the
// first second of a 5 s outage and then fail fast long after the
// dependency is back: "modal behavior slows recovery". The breakers' state
// over time is sampled with StateAt at the end of every bucket.
func TestBreakerSlowsRecovery(t *testing.T) {
	t.Parallel()
	s := Metastable()
	s.Trigger = Trigger{Mode: Reject, Start: 10 * time.Second, Length: 5 * time.Second}
	r, err := s.Run(Fleet{Policy: policy3(t, retry.FullJitter),
		Breaker: &retry.BreakerConfig{FailureThreshold: 6, RecoveryTimeout: 60 * time.Second}})
	require.NoError(t, err)
	sum := r.Summary
	require.True(t, sum.Recovered)
	assert.InDelta(t, 60-5, sum.RecoverySeconds, 3, "clients fail fast until their breakers probe")
	assert.Zero(t, r.Series[9].BreakersOpen, "closed before the outage")
	assert.Equal(t, 100, r.Series[11].BreakersOpen, "every client's breaker open within a second of the outage")
	assert.Zero(t, r.Series[len(r.Series)-1].BreakersOpen, "closed again after the probes")

	none, err := s.Run(Fleet{Policy: policy3(t, retry.FullJitter)})
	require.NoError(t, err)
	assert.Less(t, none.Summary.RecoverySeconds, 2.0, "without breakers the reject outage ends at once")
}
