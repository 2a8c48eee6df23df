package redisretry_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/redisretry"
)

// fail runs n failing attempts through br, one call each.
func fail(t testing.TB, br *retry.Breaker, n int) {
	t.Helper()
	for range n {
		_ = br.Run(context.Background(), func(context.Context) error { return errDown })
	}
}

// Failures spread over two processes, neither reaching the threshold
// alone, open the breaker in both; after the recovery time one process
// probes, and its successful probe closes it in both.
func TestBreakerShared(t *testing.T) {
	addr := redisAddr(t)
	c1, c2 := newClient(t, addr), newClient(t, addr)
	prefix := newPrefix(t, c1)
	o := redisretry.Options{Prefix: prefix, SyncInterval: time.Hour, Expire: 24 * time.Hour}
	f1, f2 := newFleet(t, c1, o), newFleet(t, c2, o)
	cfg := retry.BreakerConfig{FailureThreshold: 4, RecoveryTimeout: 200 * time.Millisecond}
	b1, err := f1.Breaker("dep", cfg)
	require.NoError(t, err)
	b2, err := f2.Breaker("dep", cfg)
	require.NoError(t, err)
	ctx := context.Background()

	fail(t, b1, 2)
	require.NoError(t, f1.Sync(ctx))
	fail(t, b2, 2)
	require.Equal(t, retry.BreakerClosed, b2.State(), "2 failures alone do not trip it")
	require.NoError(t, f2.Sync(ctx)) // 2 + 2: the fleet trips
	assert.Equal(t, retry.BreakerOpen, b2.State())
	require.NoError(t, f1.Sync(ctx))
	assert.Equal(t, retry.BreakerOpen, b1.State(), "the other process learns it at its next exchange")

	waitFor(t, func() bool {
		_ = f1.Sync(ctx)
		_ = f2.Sync(ctx)
		return b1.State() == retry.BreakerHalfOpen || b2.State() == retry.BreakerHalfOpen
	}, "one process half-open")
	probing, other, pf, of := b1, b2, f1, f2
	if b2.State() == retry.BreakerHalfOpen {
		probing, other, pf, of = b2, b1, f2, f1
	}
	assert.Equal(t, retry.BreakerOpen, other.State(), "only one process probes")
	require.NoError(t, probing.Run(ctx, func(context.Context) error { return nil }))
	assert.Equal(t, retry.BreakerClosed, probing.State())
	require.NoError(t, pf.Sync(ctx)) // the close, sent at once or now
	require.NoError(t, of.Sync(ctx))
	assert.Equal(t, retry.BreakerClosed, other.State(), "the fleet closed")
	assert.Equal(t, retry.BreakerClosed, probing.State())
}

// A process whose own rules trip its breaker opens the fleet's at once.
func TestBreakerLocalTripShared(t *testing.T) {
	addr := redisAddr(t)
	c1, c2 := newClient(t, addr), newClient(t, addr)
	prefix := newPrefix(t, c1)
	o := redisretry.Options{Prefix: prefix, SyncInterval: time.Hour, Expire: 24 * time.Hour}
	f1, f2 := newFleet(t, c1, o), newFleet(t, c2, o)
	cfg := retry.BreakerConfig{FailureThreshold: 3, RecoveryTimeout: time.Minute}
	b1, err := f1.Breaker("dep", cfg)
	require.NoError(t, err)
	b2, err := f2.Breaker("dep", cfg)
	require.NoError(t, err)
	fail(t, b1, 3)
	require.Equal(t, retry.BreakerOpen, b1.State())
	ctx := context.Background()
	waitFor(t, func() bool {
		st, _ := c1.HGet(ctx, prefix+":{dep}:breaker", "st").Result()
		return st == "open"
	}, "the trip sent at once")
	require.NoError(t, f2.Sync(ctx))
	assert.Equal(t, retry.BreakerOpen, b2.State())
}

func TestBreakerInvalid(t *testing.T) {
	addr := redisAddr(t)
	c := newClient(t, addr)
	prefix := newPrefix(t, c)
	f := newFleet(t, c, redisretry.Options{Prefix: prefix})
	for name, tc := range map[string]struct {
		name string
		cfg  retry.BreakerConfig
	}{
		"empty name": {"", retry.BreakerConfig{}},
		"negative":   {"x", retry.BreakerConfig{FailureThreshold: -1}},
		"rate":       {"x", retry.BreakerConfig{FailureRate: 2}},
		"control":    {"x", retry.BreakerConfig{Control: func(retry.BreakerControl) {}}},
	} {
		b, err := f.Breaker(tc.name, tc.cfg)
		assert.ErrorIs(t, err, retry.ErrInvalidConfig, name)
		assert.Nil(t, b, name)
	}
	_, err := f.Breaker("dep", retry.BreakerConfig{FailureThreshold: 3})
	require.NoError(t, err)
	other := newFleet(t, newClient(t, addr), redisretry.Options{Prefix: prefix})
	_, err = other.Breaker("dep", retry.BreakerConfig{FailureThreshold: 4})
	assert.ErrorContains(t, err, "configured otherwise")
	assert.Equal(t, 1, strings.Count(err.Error(), "redisretry:"), "wrapped once: %v", err)
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, prefix+":{str}:breaker", "x", 0).Err())
	_, err = f.Breaker("str", retry.BreakerConfig{})
	assert.ErrorContains(t, err, "is not a hash")
	require.NoError(t, c.HSet(ctx, prefix+":{junk}:breaker", "cfg", "v1 failure-threshold=5 recovery=30s probes=1 failure-rate=0 window=0s minimum-calls=0 max-recovery=0s", "st", "sideways").Err())
	_, err = f.Breaker("junk", retry.BreakerConfig{})
	assert.ErrorContains(t, err, "not a breaker")
	require.NoError(t, c.HSet(ctx, prefix+":{junk2}:breaker", "cfg", "v1 failure-threshold=5 recovery=30s probes=1 failure-rate=0 window=0s minimum-calls=0 max-recovery=0s", "p:zz", "lots").Err())
	_, err = f.Breaker("junk2", retry.BreakerConfig{})
	assert.ErrorContains(t, err, "not a breaker")
}
