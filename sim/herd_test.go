package sim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// herd is the synchronised outage of the checks: 1000 clients, a 10 s
// outage, then 1000 attempts/s admitted with a burst of 10.
func herd(t testing.TB, hints bool, opts ...retry.Option) Summary {
	t.Helper()
	p, err := retry.NewPolicy(append([]retry.Option{retry.WithMaxAttempts(0),
		retry.WithBackoff(retry.Exponential(100*time.Millisecond, 2)), retry.WithMaxDelay(5 * time.Second)}, opts...)...)
	require.NoError(t, err)
	r, err := Herd{Clients: 1000, Outage: 10 * time.Second, Rate: 1000, Burst: 10, Hop: 10 * time.Millisecond,
		RetryAfter: hints, Seed: 1}.Run(Fleet{Policy: p})
	require.NoError(t, err)
	require.True(t, r.Summary.Recovered)
	return r.Summary
}

// TestHerdJitter is check 6: full jitter clears the herd within the cap
// plus a second; without jitter the clients stay in lockstep and take ten
// times longer.
func TestHerdJitter(t *testing.T) {
	full := herd(t, false, retry.WithJitter(retry.FullJitter))
	none := herd(t, false, retry.WithJitter(retry.NoJitter))
	assert.LessOrEqual(t, full.RecoverySeconds, 5.0+1)
	assert.GreaterOrEqual(t, none.RecoverySeconds, 10*full.RecoverySeconds)
	assert.EqualValues(t, 1000, none.HerdPeak, "in lockstep every client returns in the same 100 ms")
}

// TestHerdRetryAfter is check 7: a Retry-After that tells every client the
// same instant brings them back together when obeyed exactly
// (WithExactHints); the library's default, the hint plus a full-jitter
// spread of the retry's base delay, keeps them apart. The hint (10 s) is
// longer than the cap of the other runs (5 s): a hint above the maximum
// delay ends the call (ErrHintTooLong), so these runs cap waits at 15 s.
func TestHerdRetryAfter(t *testing.T) {
	exact := herd(t, true, retry.WithMaxDelay(15*time.Second), retry.WithExactHints())
	spread := herd(t, true, retry.WithMaxDelay(15*time.Second))
	assert.GreaterOrEqual(t, exact.HerdPeak10ms, int64(0.4*1000))
	assert.LessOrEqual(t, spread.HerdPeak10ms, int64(0.15*1000))
	assert.Less(t, spread.RecoverySeconds, exact.RecoverySeconds)
}

func TestHerdRejectsBadInput(t *testing.T) {
	p, err := retry.NewPolicy()
	require.NoError(t, err)
	for _, tc := range []struct {
		h    Herd
		want string
	}{
		{Herd{Clients: 0, Rate: 1, Burst: 1}, "Herd.Clients"},
		{Herd{Clients: 1, Rate: 0, Burst: 1}, "Herd.Rate"},
		{Herd{Clients: 1, Rate: 1, Burst: 0}, "Herd.Burst"},
		{Herd{Clients: 1, Rate: 1, Burst: 1, Outage: -1}, "Herd.Outage"},
	} {
		_, err := tc.h.Run(Fleet{Policy: p})
		require.ErrorIs(t, err, retry.ErrInvalidConfig)
		assert.Contains(t, err.Error(), tc.want)
	}
}
