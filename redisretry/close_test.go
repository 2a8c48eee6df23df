package redisretry_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/redisretry"
)

// Close stops the fleet's goroutine (nothing it started outlives it),
// sends the deposits gathered since the last exchange, and leaves the
// budget usable alone, without events.
func TestClose(t *testing.T) {
	addr := redisAddr(t)
	before := goleak.IgnoreCurrent()
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	prefix := newPrefix(t, newClient(t, addr))
	ev := newSharing()
	f, err := redisretry.New(c, redisretry.Options{Prefix: prefix, SyncInterval: time.Hour, Expire: 24 * time.Hour, Observer: ev.observer()})
	require.NoError(t, err)
	b, err := f.Budget("dep", retry.BudgetConfig{Capacity: 10, PerSuccess: 1}, redisretry.Lease(1))
	require.NoError(t, err)
	require.Equal(t, 10, retries(t, b, 10, 2, failing))
	retries(t, b, 4, 1, succeeding) // 1 fills the lease, 3 are pending

	require.NoError(t, f.Close())
	assert.NoError(t, f.Close(), "a second Close")
	tok, err := c.HGet(context.Background(), prefix+":{dep}:budget", "tok").Float64()
	require.NoError(t, err)
	assert.Equal(t, 3e6, tok, "Close sent the pending deposits")

	assert.Equal(t, 1+10, retries(t, b, 20, 2, failing), "alone: the lease, then a budget of its own")
	_, err = f.Budget("late", retry.BudgetConfig{Capacity: 1})
	assert.ErrorContains(t, err, "closed")
	assert.ErrorContains(t, f.Sync(context.Background()), "closed")
	ev.none(t)
	require.NoError(t, c.Close())
	goleak.VerifyNone(t, before, goRedisOwn)
}
