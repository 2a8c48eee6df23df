package redisretry_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/redisretry"
)

func TestNewInvalid(t *testing.T) {
	addr := redisAddr(t)
	c := newClient(t, addr)
	_, err := redisretry.New(nil, redisretry.Options{})
	assert.ErrorContains(t, err, "client is nil")
	for name, o := range map[string]redisretry.Options{
		"brace":          {Prefix: "a{b"},
		"space":          {Prefix: "a b"},
		"control":        {Prefix: "a\x00"},
		"long":           {Prefix: string(make([]byte, 300))},
		"timeout":        {Timeout: -time.Second},
		"start":          {Timeout: time.Second, StartTimeout: time.Millisecond},
		"negative start": {StartTimeout: -time.Second},
		"interval":       {SyncInterval: time.Microsecond},
		"expire":         {SyncInterval: time.Second, Expire: 5 * time.Second},
		"negative sync":  {SyncInterval: -time.Second},
		"invalid utf-8":  {Prefix: "\xff"},
		"closing brace":  {Prefix: "}"},
		"expire too low": {Expire: time.Millisecond},
	} {
		f, err := redisretry.New(c, o)
		assert.Error(t, err, name)
		assert.Nil(t, f, name)
	}
}

func TestBudgetInvalid(t *testing.T) {
	addr := redisAddr(t)
	c := newClient(t, addr)
	f := newFleet(t, c, redisretry.Options{Prefix: newPrefix(t, c)})
	for name, tc := range map[string]struct {
		name string
		cfg  retry.BudgetConfig
		opts []redisretry.BudgetOption
	}{
		"empty name":       {"", retry.BudgetConfig{Capacity: 1}, nil},
		"brace in name":    {"a}b", retry.BudgetConfig{Capacity: 1}, nil},
		"zero capacity":    {"x", retry.BudgetConfig{}, nil},
		"NaN":              {"x", retry.BudgetConfig{Capacity: math.NaN()}, nil},
		"huge":             {"x", retry.BudgetConfig{Capacity: 1e11}, nil},
		"source":           {"x", retry.BudgetConfig{Capacity: 1, Source: nopSource{}}, nil},
		"lease below cost": {"x", retry.BudgetConfig{Capacity: 10, RetryCost: 2}, []redisretry.BudgetOption{redisretry.Lease(1)}},
		"negative lease":   {"x", retry.BudgetConfig{Capacity: 10}, []redisretry.BudgetOption{redisretry.Lease(-1)}},
		"NaN lease":        {"x", retry.BudgetConfig{Capacity: 10}, []redisretry.BudgetOption{redisretry.Lease(math.NaN())}},
		"bad fallback":     {"x", retry.BudgetConfig{Capacity: 10}, []redisretry.BudgetOption{redisretry.Fallback(retry.BudgetConfig{})}},
	} {
		b, err := f.Budget(tc.name, tc.cfg, tc.opts...)
		assert.ErrorIs(t, err, retry.ErrInvalidConfig, name)
		assert.Nil(t, b, name)
	}
	_, err := f.Budget("twice", retry.BudgetConfig{Capacity: 1})
	require.NoError(t, err)
	_, err = f.Budget("twice", retry.BudgetConfig{Capacity: 1})
	assert.ErrorContains(t, err, `already has a budget named "twice"`)
}

type nopSource struct{}

func (nopSource) Draw(time.Time, float64, float64) float64 { return 0 }

// A key that holds something else than this budget is refused when the
// budget is made: another budget's configuration under the same name, a
// value of another type, a hash that is not a budget, a budget whose
// values are garbage. Redis's own content is left as it was.
func TestBudgetForeignKey(t *testing.T) {
	addr := redisAddr(t)
	c := newClient(t, addr)
	ctx := context.Background()
	prefix := newPrefix(t, c)
	f := newFleet(t, c, redisretry.Options{Prefix: prefix})
	_, err := f.Budget("taken", retry.BudgetConfig{Capacity: 10})
	require.NoError(t, err)
	other := newFleet(t, newClient(t, addr), redisretry.Options{Prefix: prefix})
	_, err = other.Budget("taken", retry.BudgetConfig{Capacity: 20})
	assert.ErrorContains(t, err, "configured otherwise")
	assert.True(t, strings.HasPrefix(err.Error(), `redisretry: budget "taken": REDISRETRY `), "%v", err)
	assert.Equal(t, 1, strings.Count(err.Error(), "redisretry:"), "wrapped once: %v", err)

	k := func(name string) string { return prefix + ":{" + name + "}:budget" }
	require.NoError(t, c.Set(ctx, k("string"), "hello", 0).Err())
	require.NoError(t, c.RPush(ctx, k("list"), "a", "b").Err())
	require.NoError(t, c.HSet(ctx, k("hash"), "user", "ada").Err())
	require.NoError(t, c.HSet(ctx, k("garbage"), "cfg", "v1 capacity=10 per-success=0 per-second=0 retry-cost=1 timeout-cost=1 threshold=0", "tok", "lots", "at", "now").Err())
	for name, want := range map[string]string{
		"string": "is not a hash", "list": "is not a hash", "hash": "did not make", "garbage": "not a budget",
	} {
		b, err := f.Budget(name, retry.BudgetConfig{Capacity: 10})
		assert.ErrorContains(t, err, want, name)
		assert.ErrorContains(t, err, k(name), "the error names the key")
		assert.Nil(t, b)
	}
	v, err := c.Get(ctx, k("string")).Result()
	require.NoError(t, err)
	assert.Equal(t, "hello", v, "a key that is not ours is left alone")
}

// Garbage written into a budget's key while it is in use: the budget
// decides alone, says why, and never panics; once the key is repaired (or
// deleted) it shares again.
func TestBudgetGarbageAtRuntime(t *testing.T) {
	addr := redisAddr(t)
	c := newClient(t, addr)
	ctx := context.Background()
	prefix := newPrefix(t, c)
	ev := newSharing()
	f := newFleet(t, c, redisretry.Options{Prefix: prefix, SyncInterval: time.Hour, Expire: 24 * time.Hour, Observer: ev.observer()})
	b, err := f.Budget("dep", retry.BudgetConfig{Capacity: 4}, redisretry.Lease(1))
	require.NoError(t, err)
	k := prefix + ":{dep}:budget"
	require.NoError(t, c.HSet(ctx, k, "tok", "garbage").Err())
	assert.Equal(t, 4, retries(t, b, 2, 4, failing), "the process's own budget, of 4, pays")
	e := ev.next(t, 5*time.Second)
	assert.False(t, e.Shared)
	assert.Equal(t, "budget", e.Kind)
	assert.Equal(t, "dep", e.Name)
	assert.ErrorContains(t, e.Err, "not a budget")

	require.NoError(t, c.Del(ctx, k).Err())
	require.NoError(t, f.Sync(ctx))
	e = ev.next(t, 5*time.Second)
	assert.True(t, e.Shared)
	assert.NoError(t, e.Err)

	require.NoError(t, c.Set(ctx, k, "now a string", 0).Err())
	retries(t, b, 5, 4, failing)
	e = ev.next(t, 5*time.Second)
	assert.False(t, e.Shared)
	assert.ErrorContains(t, e.Err, "is not a hash")
}

// Processes that give the same configuration, one with a default left at
// zero and another with the default written out, share the limit: the
// key records the configuration with its defaults filled in.
func TestSameConfigurationWrittenOtherwise(t *testing.T) {
	addr := redisAddr(t)
	c := newClient(t, addr)
	prefix := newPrefix(t, c)
	f1, f2 := newFleet(t, c, redisretry.Options{Prefix: prefix}), newFleet(t, c, redisretry.Options{Prefix: prefix})
	for name, tc := range map[string]struct{ a, b retry.BudgetConfig }{
		"retry-cost":   {retry.BudgetConfig{Capacity: 10}, retry.BudgetConfig{Capacity: 10, RetryCost: 1}},
		"timeout-cost": {retry.BudgetConfig{Capacity: 10, RetryCost: 2}, retry.BudgetConfig{Capacity: 10, RetryCost: 2, TimeoutCost: 2}},
	} {
		_, err := f1.Budget(name, tc.a)
		require.NoError(t, err, name)
		_, err = f2.Budget(name, tc.b)
		assert.NoError(t, err, name)
	}
	for name, tc := range map[string]struct{ a, b retry.BreakerConfig }{
		"probes":  {retry.BreakerConfig{}, retry.BreakerConfig{HalfOpenProbes: retry.DefaultHalfOpenProbes}},
		"window":  {retry.BreakerConfig{FailureRate: 0.5}, retry.BreakerConfig{FailureRate: 0.5, Window: retry.DefaultWindow}},
		"minimum": {retry.BreakerConfig{FailureRate: 0.5}, retry.BreakerConfig{FailureRate: 0.5, MinimumCalls: retry.DefaultMinimumCalls}},
	} {
		_, err := f1.Breaker(name, tc.a)
		require.NoError(t, err, name)
		_, err = f2.Breaker(name, tc.b)
		assert.NoError(t, err, name)
	}
	_, err := f1.Budget("other", retry.BudgetConfig{Capacity: 10})
	require.NoError(t, err)
	_, err = f2.Budget("other", retry.BudgetConfig{Capacity: 10, RetryCost: 2})
	assert.ErrorContains(t, err, "configured otherwise", "a configuration that differs is still refused")
}
