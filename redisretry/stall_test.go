package redisretry_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/redisretry"
)

// Behind a TCP proxy that stalls for good or cuts every connection, with a
// client that never gives up on a read (ReadTimeout -1, contexts not
// honoured: the fleet's goroutine stays stuck in a stalled exchange):
// successful calls through a shared budget and breaker go on without
// waiting for Redis (were one to wait, the test would hang: the stall
// lasts until the end of the test); a retry that needs tokens waits at
// most Timeout, then the process's own budget grants it; both limits say
// they decide alone (the breaker's when its stalled exchange has run for
// Timeout); the breaker's own rules open it; once the traffic flows again
// both share again, and the trip made alone reaches the fleet.
func TestSuccessPathNeverWaitsForRedis(t *testing.T) {
	for _, mode := range []string{"stall", "cut"} {
		t.Run(mode, func(t *testing.T) {
			addr := redisAddr(t)
			admin := newClient(t, addr)
			prefix := newPrefix(t, admin)
			p := startProxy(t, addr)
			c := redis.NewClient(&redis.Options{Addr: p.addr(), ReadTimeout: -1, WriteTimeout: -1})
			t.Cleanup(func() { _ = c.Close() })
			ev := newSharing()
			f := newFleet(t, c, redisretry.Options{Prefix: prefix, Timeout: 100 * time.Millisecond, SyncInterval: 10 * time.Millisecond,
				Observer: ev.observer()})
			budget, err := f.Budget("dep", retry.BudgetConfig{Capacity: 10}, redisretry.Lease(1))
			require.NoError(t, err)
			breaker, err := f.Breaker("dep", retry.BreakerConfig{FailureThreshold: 3, RecoveryTimeout: time.Hour})
			require.NoError(t, err)
			policy, err := retry.NewPolicy(retry.WithBudget(budget), retry.WithBreaker(breaker),
				retry.WithMaxAttempts(2), retry.WithBackoff(retry.Constant(0)))
			require.NoError(t, err)
			ctx := context.Background()
			ok := func(context.Context) (int, error) { return 1, nil }
			// Until an exchange of both limits is timely (a loaded machine
			// can make one late), then forget the events that came so far.
			waitFor(t, func() bool { return f.Sync(ctx) == nil }, "a timely exchange")
			for len(ev.events) > 0 {
				<-ev.events
			}

			switch mode {
			case "stall":
				p.setStalled(true)
				defer p.setStalled(false) // before the fleet's Close, which waits for the stalled exchange
			case "cut":
				p.setCut(true)
			}
			for range 10000 {
				_, err := retry.Do(ctx, ok, policy)
				require.NoError(t, err)
			}

			// A retry that needs a draw: the lease starts empty.
			n := 0
			_, err = retry.Do(ctx, func(context.Context) (int, error) {
				if n++; n == 1 {
					return 0, errDown
				}
				return 1, nil
			}, policy)
			require.NoError(t, err, "the process's own budget grants the retry")
			assert.Equal(t, 2, n)
			assert.Equal(t, retry.BudgetStats{Allowed: 1}, budget.Stats())

			// Both limits report that they decide alone, the budget's as
			// its draw gave up, the breaker's when its exchange did.
			alone := map[string]error{}
			for len(alone) < 2 {
				if e := ev.next(t, 30*time.Second); !e.Shared { // one that came before the fault may say shared
					alone[e.Kind] = e.Err
				}
			}
			if mode == "stall" {
				assert.ErrorIs(t, alone["budget"], context.DeadlineExceeded)
				assert.ErrorIs(t, alone["breaker"], context.DeadlineExceeded)
			}
			assert.Error(t, alone["budget"])
			assert.Error(t, alone["breaker"])

			// The breaker applies its rules alone.
			for range 3 {
				_, err := retry.Do(ctx, func(context.Context) (int, error) { return 0, errDown }, retry.WithBreaker(breaker), retry.WithMaxAttempts(1))
				require.ErrorIs(t, err, errDown)
			}
			_, err = retry.Do(ctx, ok, policy)
			require.ErrorIs(t, err, retry.ErrCircuitOpen)

			p.setStalled(false)
			p.setCut(false)
			shared := map[string]bool{}
			for len(shared) < 2 {
				e := ev.next(t, 30*time.Second)
				if e.Shared {
					shared[e.Kind] = true
				}
			}
			st, err := admin.HGet(ctx, prefix+":{dep}:breaker", "st").Result()
			require.NoError(t, err)
			assert.Equal(t, "open", st, "the trip made alone reached the fleet with the exchange that shared again")
		})
	}
}
