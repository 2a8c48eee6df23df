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

// startFleet makes a fleet whose client reaches Redis through a proxy, and
// whose limits exchange only when asked (no periodic exchange within the
// test).
func startFleet(t *testing.T, timeout, start time.Duration) (*redisretry.Fleet, *proxy, *sharing) {
	t.Helper()
	addr := redisAddr(t)
	prefix := newPrefix(t, newClient(t, addr))
	p := startProxy(t, addr)
	c := redis.NewClient(&redis.Options{Addr: p.addr()})
	t.Cleanup(func() { _ = c.Close() })
	ev := newSharing()
	f := newFleet(t, c, redisretry.Options{Prefix: prefix, Timeout: timeout, StartTimeout: start,
		SyncInterval: time.Hour, Expire: 10 * time.Hour, Observer: ev.observer()})
	return f, p, ev
}

// A first exchange slower than Timeout but within StartTimeout (the proxy
// holds Redis's first reply, the handshake's, for 20 × Timeout, then the
// breaker's first reply likewise while the budget waits) makes no Sharing
// event: both limits share from the start.
func TestSlowFirstExchangeWithinStartTimeout(t *testing.T) {
	const timeout = 5 * time.Millisecond
	f, p, ev := startFleet(t, timeout, time.Minute)
	delayFirstReply := func() {
		held, release := p.holdReplies()
		go func() {
			<-held
			<-time.After(20 * timeout) // the proxy's latency: the input of the test, not a wait for an outcome
			release()
		}()
	}

	delayFirstReply()
	_, err := f.Budget("dep", retry.BudgetConfig{Capacity: 10})
	require.NoError(t, err)
	delayFirstReply()
	_, err = f.Breaker("dep", retry.BreakerConfig{})
	require.NoError(t, err)
	ev.none(t)
	waitFor(t, func() bool { return f.Sync(context.Background()) == nil }, "a timely exchange")
	for len(ev.events) > 0 {
		assert.True(t, (<-ev.events).Shared, "a limit that shared from the start reports nothing but sharing")
	}
}

// A first exchange past StartTimeout (the proxy holds Redis's replies
// until the event comes) makes the limit decide alone, with a Sharing
// event that says why, and Budget returns it anyway; once Redis answers,
// the limit shares again.
func TestFirstExchangePastStartTimeout(t *testing.T) {
	f, p, ev := startFleet(t, 20*time.Millisecond, 100*time.Millisecond)
	_, release := p.holdReplies()
	defer release()
	budget, err := f.Budget("dep", retry.BudgetConfig{Capacity: 10})
	require.NoError(t, err)
	require.NotNil(t, budget)
	e := ev.next(t, 30*time.Second)
	assert.Equal(t, "budget", e.Kind)
	assert.False(t, e.Shared)
	assert.ErrorIs(t, e.Err, context.DeadlineExceeded)
	assert.ErrorContains(t, e.Err, "100ms")

	release()
	waitFor(t, func() bool { return f.Sync(context.Background()) == nil }, "a timely exchange")
	ev.until(t, true, "sharing again")
}

// While a limit makes its first exchange (the proxy holds its reply), a
// retry through another limit of the fleet that needs tokens draws on the
// process's own budget after Timeout, without a Sharing event: the
// fleet's goroutine is busy, Redis has not failed.
func TestDrawDuringAFirstExchange(t *testing.T) {
	f, p, ev := startFleet(t, 5*time.Millisecond, time.Minute)
	budget, err := f.Budget("a", retry.BudgetConfig{Capacity: 10}, redisretry.Lease(1))
	require.NoError(t, err)
	ev.none(t)
	held, release := p.holdReplies()
	defer release()
	made := make(chan error, 1)
	go func() {
		_, err := f.Breaker("b", retry.BreakerConfig{})
		made <- err
	}()
	<-held // the breaker's first exchange waits for its reply

	n := 0
	_, err = retry.Do(context.Background(), func(context.Context) (int, error) {
		if n++; n == 1 {
			return 0, errDown
		}
		return 1, nil
	}, retry.WithBudget(budget), retry.WithMaxAttempts(2), retry.WithBackoff(retry.Constant(0)))
	require.NoError(t, err, "the process's own budget grants the retry")
	assert.Equal(t, 2, n)
	ev.none(t)

	release()
	require.NoError(t, <-made)
	ev.none(t)
}
