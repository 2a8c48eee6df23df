package sim

import (
	"strings"
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

// TestHerdJitter: full jitter clears the herd within the cap
// plus a second; without jitter the clients stay in lockstep and take ten
// times longer.
func TestHerdJitter(t *testing.T) {
	t.Parallel()
	full := herd(t, false, retry.WithJitter(retry.FullJitter))
	none := herd(t, false, retry.WithJitter(retry.NoJitter))
	assert.LessOrEqual(t, full.RecoverySeconds, 5.0+1)
	assert.GreaterOrEqual(t, none.RecoverySeconds, 10*full.RecoverySeconds)
	assert.EqualValues(t, 1000, none.HerdPeak, "in lockstep every client returns in the same 100 ms")
}

// TestHerdRetryAfter: a Retry-After that tells every client the
// same instant brings them back together when obeyed exactly
// (WithExactHints); the library's default, the hint plus a full-jitter
// spread of the retry's base delay, keeps them apart. The hint (10 s) is
// longer than the cap of the other runs (5 s): a hint above the maximum
// delay ends the call (ErrHintTooLong), so these runs cap waits at 15 s.
func TestHerdRetryAfter(t *testing.T) {
	t.Parallel()
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

// TestHerdWithoutAHerd: with the library's default policy (4 attempts,
// waits from 100 ms) every client gives up during a 10 s outage: there is
// no herd, and the table says so (n/a) rather than "did not recover", with
// no latency of successes that never happened.
func TestHerdWithoutAHerd(t *testing.T) {
	p, err := retry.NewPolicy()
	require.NoError(t, err)
	r, err := Herd{Clients: 100, Outage: 10 * time.Second, Rate: 1000, Burst: 10, Hop: 10 * time.Millisecond}.Run(Fleet{Policy: p})
	require.NoError(t, err)
	require.EqualValues(t, 100, r.Summary.Failed)
	assert.False(t, r.Summary.Recovered)
	var b strings.Builder
	require.NoError(t, WriteTable(&b, r))
	assert.NotContains(t, b.String(), "did not recover")
	assert.Regexp(t, `time to recover +n/a: every request ended during the trigger\n`, b.String())
	assert.Regexp(t, `latency of successes p50/p90/p99 ms +n/a\n`, b.String())
	assert.Regexp(t, `client success rate +0.00%\n`, b.String(), "100 failed: a rate of 0 is true")
}

// TestHerdRecoversWhatOutlivedTheOutage: clients that gave up during the
// outage are its casualties, not a failure to recover; the herd, those
// still trying at its end, all succeed at once against a server with room
// for them.
func TestHerdRecoversWhatOutlivedTheOutage(t *testing.T) {
	p, err := retry.NewPolicy(retry.WithMaxAttempts(3))
	require.NoError(t, err)
	r, err := Herd{Clients: 100, Outage: 200 * time.Millisecond, Rate: 1e6, Burst: 1e6, Hop: 10 * time.Millisecond, Seed: 1}.Run(Fleet{Policy: p})
	require.NoError(t, err)
	s := r.Summary
	require.Positive(t, s.Failed, "some gave up during the outage")
	require.Positive(t, s.Succeeded, "the others were served after it")
	assert.Equal(t, int64(100), s.Failed+s.Succeeded)
	assert.True(t, s.Recovered)
	assert.Less(t, s.RecoverySeconds, 1.0)
}

// TestNothingArrivedNothingToRecover: an open run where no request
// arrives says n/a throughout instead of a recovery at 0 s.
func TestNothingArrivedNothingToRecover(t *testing.T) {
	s := quick()
	s.Rate = 1e-300
	r, err := s.Run(Fleet{Policy: policy3(t, retry.FullJitter)})
	require.NoError(t, err)
	assert.False(t, r.Summary.Recovered)
	var b strings.Builder
	require.NoError(t, WriteTable(&b, r))
	for _, row := range []string{"amplification \\(mean\\)", "client success rate", "latency of successes p50/p90/p99 ms",
		"time to outcome, all requests, p50/p90/p99 ms", "time to recover"} {
		assert.Regexp(t, row+` +n/a`, b.String())
	}
}
