package retry

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewBreakerInvalid(t *testing.T) {
	tests := []struct {
		name string
		cfg  BreakerConfig
		msg  string
	}{
		{"negative threshold", BreakerConfig{FailureThreshold: -1}, "FailureThreshold must not be negative"},
		{"negative recovery", BreakerConfig{RecoveryTimeout: -time.Second}, "RecoveryTimeout must not be negative"},
		{"negative probes", BreakerConfig{HalfOpenProbes: -1}, "HalfOpenProbes must be in [0, 65535]"},
		{"too many probes", BreakerConfig{HalfOpenProbes: 1 << 16}, "HalfOpenProbes must be in [0, 65535]"},
		{"negative probe lease", BreakerConfig{ProbeLease: -time.Nanosecond}, "ProbeLease must not be negative"},
		{"NaN rate", BreakerConfig{FailureRate: math.NaN()}, "FailureRate must be in [0, 1]"},
		{"negative rate", BreakerConfig{FailureRate: -0.5}, "FailureRate must be in [0, 1]"},
		{"rate above 1", BreakerConfig{FailureRate: 1.5}, "FailureRate must be in [0, 1]"},
		{"negative window", BreakerConfig{FailureRate: 0.5, Window: -1}, "Window must not be negative"},
		{"tiny window", BreakerConfig{FailureRate: 0.5, Window: 9}, "Window must be at least 10ns"},
		{"negative minimum", BreakerConfig{FailureRate: 0.5, MinimumCalls: -1}, "MinimumCalls must not be negative"},
		{"window without rate", BreakerConfig{Window: time.Minute}, "apply only with FailureRate"},
		{"minimum without rate", BreakerConfig{MinimumCalls: 3}, "apply only with FailureRate"},
		{"negative max recovery", BreakerConfig{MaxRecoveryTimeout: -1}, "MaxRecoveryTimeout must not be negative"},
		{"max recovery below default", BreakerConfig{MaxRecoveryTimeout: time.Second}, "must not be below RecoveryTimeout (30s)"},
		{"max recovery below recovery", BreakerConfig{RecoveryTimeout: time.Minute, MaxRecoveryTimeout: time.Second}, "must not be below RecoveryTimeout (1m0s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewBreaker(tt.cfg)
			assert.Nil(t, b)
			require.ErrorIs(t, err, ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
}

func TestNewBreakerDefaults(t *testing.T) {
	b := mustBreaker(t, BreakerConfig{})
	assert.Equal(t, int64(5), b.threshold)
	assert.Equal(t, int64(30*time.Second), b.recovery)
	assert.Equal(t, uint64(1), b.probes)
	assert.Equal(t, int64(30*time.Second), b.lease, "the probe lease is the recovery timeout")
	assert.Equal(t, int64(time.Minute), mustBreaker(t, BreakerConfig{RecoveryTimeout: time.Minute}).lease)
	assert.Equal(t, int64(time.Second), mustBreaker(t, BreakerConfig{ProbeLease: time.Second}).lease)
	assert.Zero(t, b.width, "failure-rate rule off")
	assert.Equal(t, BreakerClosed, b.State())

	r := mustBreaker(t, BreakerConfig{FailureRate: 0.5})
	assert.Zero(t, r.threshold, "the consecutive rule is off when only FailureRate is set")
	assert.Equal(t, int64(6*time.Second), r.width)
	assert.Equal(t, uint64(10), r.minCalls)

	both := mustBreaker(t, BreakerConfig{FailureRate: 0.5, FailureThreshold: 3, Window: time.Second, MinimumCalls: 4})
	assert.Equal(t, int64(3), both.threshold)
	assert.Equal(t, int64(100*time.Millisecond), both.width)
	assert.Equal(t, uint64(4), both.minCalls)
}
