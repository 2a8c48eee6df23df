package retry_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// TestJitterOutsideItsRange: a Jitter is made only by its named values
// and ProportionalJitter (WithJitter(7) does not compile); a fraction
// outside [0, 1] makes the policy invalid instead of producing negative or
// meaningless waits, and the zero Jitter is NoJitter.
func TestJitterOutsideItsRange(t *testing.T) {
	for _, f := range []float64{-0.1, 1.01, 5, math.Inf(1), math.Inf(-1), math.NaN()} {
		p, err := retry.NewPolicy(retry.WithJitter(retry.ProportionalJitter(f)))
		require.ErrorIs(t, err, retry.ErrInvalidConfig, "fraction %v", f)
		assert.ErrorContains(t, err, "ProportionalJitter")
		assert.Nil(t, p)
	}
	for _, f := range []float64{0, 0.25, 1} {
		_, err := retry.NewPolicy(retry.WithJitter(retry.ProportionalJitter(f)))
		assert.NoError(t, err, "fraction %v", f)
	}
	assert.Equal(t, retry.NoJitter, retry.Jitter{})
}

func TestJitterString(t *testing.T) {
	assert.Equal(t, "none", retry.NoJitter.String())
	assert.Equal(t, "full", retry.FullJitter.String())
	assert.Equal(t, "equal", retry.EqualJitter.String())
	assert.Equal(t, "decorrelated", retry.DecorrelatedJitter.String())
	assert.Equal(t, "proportional:0.25", retry.ProportionalJitter(0.25).String())
	assert.Equal(t, "proportional:0", retry.ProportionalJitter(math.Copysign(0, -1)).String())
	assert.Equal(t, "proportional:1", retry.ProportionalJitter(1).String())
	assert.Contains(t, retry.ProportionalJitter(2).String(), "invalid")
}
