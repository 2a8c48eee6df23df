package redisretry_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/redisretry"
)

var errDown = errors.New("test: dependency down")

// failing is an operation that always fails.
func failing(context.Context) (int, error) { return 0, errDown }

// succeeding is an operation that always succeeds.
func succeeding(context.Context) (int, error) { return 1, nil }

// retries runs calls calls of op through b, each with up to attempts
// attempts and no wait, and returns the retries made.
func retries(t testing.TB, b *retry.Budget, calls, attempts int, op func(context.Context) (int, error)) int {
	t.Helper()
	p, err := retry.NewPolicy(retry.WithBudget(b), retry.WithMaxAttempts(attempts), retry.WithBackoff(retry.Constant(0)))
	require.NoError(t, err)
	n := 0
	for range calls {
		_, err := retry.Do(context.Background(), func(ctx context.Context) (int, error) { n++; return op(ctx) }, p)
		_ = err
	}
	return n - calls
}

// Two processes (two fleets, two clients) share a budget of 10: together
// they make at most 10 retries plus what their leases held (none: leases
// start empty), and the shared budget is then dry for both.
func TestBudgetShared(t *testing.T) {
	addr := redisAddr(t)
	c1, c2 := newClient(t, addr), newClient(t, addr)
	prefix := newPrefix(t, c1)
	cfg := retry.BudgetConfig{Capacity: 10}
	f1 := newFleet(t, c1, redisretry.Options{Prefix: prefix})
	f2 := newFleet(t, c2, redisretry.Options{Prefix: prefix})
	b1, err := f1.Budget("dep", cfg, redisretry.Lease(2))
	require.NoError(t, err)
	b2, err := f2.Budget("dep", cfg, redisretry.Lease(2))
	require.NoError(t, err)

	r1 := retries(t, b1, 3, 3, failing) // 6 retries
	r2 := retries(t, b2, 10, 3, failing)
	assert.Equal(t, 6, r1)
	assert.Equal(t, 4, r2, "the other process finds 4 tokens left")
	assert.Zero(t, retries(t, b1, 5, 3, failing), "dry for both")
	tok, err := c1.HGet(context.Background(), prefix+":{dep}:budget", "tok").Float64()
	require.NoError(t, err)
	assert.Zero(t, tok)
}

// Deposits beyond a full lease go back to Redis at the next exchange, and
// another process can spend them.
func TestBudgetDepositsShared(t *testing.T) {
	addr := redisAddr(t)
	c1, c2 := newClient(t, addr), newClient(t, addr)
	prefix := newPrefix(t, c1)
	cfg := retry.BudgetConfig{Capacity: 10, PerSuccess: 0.5}
	f1 := newFleet(t, c1, redisretry.Options{Prefix: prefix, SyncInterval: time.Hour, Expire: 24 * time.Hour})
	f2 := newFleet(t, c2, redisretry.Options{Prefix: prefix, SyncInterval: time.Hour, Expire: 24 * time.Hour})
	b1, err := f1.Budget("dep", cfg, redisretry.Lease(1))
	require.NoError(t, err)
	b2, err := f2.Budget("dep", cfg, redisretry.Lease(1))
	require.NoError(t, err)

	require.Equal(t, 10, retries(t, b2, 10, 2, failing), "process 2 drains the shared budget")
	retries(t, b1, 10, 1, succeeding) // 5 tokens deposited: 1 fills the empty lease, 4 are its surplus
	assert.InDelta(t, 1, b1.Tokens(), 1e-9, "process 1's lease is full")
	require.NoError(t, f1.Sync(context.Background()))
	require.NoError(t, f2.Sync(context.Background()))
	assert.Equal(t, 4, retries(t, b2, 10, 2, failing), "process 2 spends process 1's deposits")
}

// The shared state is a hash under the prefix, with the name as its hash
// tag, and it expires.
func TestBudgetKey(t *testing.T) {
	addr := redisAddr(t)
	c := newClient(t, addr)
	prefix := newPrefix(t, c)
	f := newFleet(t, c, redisretry.Options{Prefix: prefix, SyncInterval: time.Second, Expire: 10 * time.Second})
	_, err := f.Budget("payments", retry.BudgetConfig{Capacity: 10, PerSuccess: 0.1})
	require.NoError(t, err)
	ctx := context.Background()
	k := prefix + ":{payments}:budget"
	h, err := c.HGetAll(ctx, k).Result()
	require.NoError(t, err)
	assert.Equal(t, "10000000", h["tok"], "micro-tokens")
	assert.Contains(t, h["cfg"], "capacity=10 per-success=0.1")
	_, err = strconv.ParseInt(h["at"], 10, 64)
	assert.NoError(t, err)
	ttl, err := c.PTTL(ctx, k).Result()
	require.NoError(t, err)
	assert.Greater(t, ttl, time.Duration(0))
	assert.LessOrEqual(t, ttl, 10*time.Second)
}
