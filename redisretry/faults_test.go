package redisretry_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/redisretry"
)

// load runs calls of a failing operation through b from a few goroutines
// until stop is closed, and checks that every call ends for the
// operation's own reasons (attempts used up, or the budget refused a
// retry): never with an error of Redis's. It returns the retries made.
type load struct {
	retries, calls atomic.Int64
	wg             sync.WaitGroup
	stop           chan struct{}
	bad            atomic.Value // the first call that ended otherwise
}

func startLoad(t testing.TB, b *retry.Budget) *load {
	t.Helper()
	l := &load{stop: make(chan struct{})}
	p, err := retry.NewPolicy(retry.WithBudget(b), retry.WithMaxAttempts(3), retry.WithBackoff(retry.Constant(0)))
	require.NoError(t, err)
	for range 4 {
		l.wg.Go(func() {
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				n := 0
				_, err := retry.Do(context.Background(), func(context.Context) (int, error) { n++; return 0, errDown }, p)
				l.calls.Add(1)
				l.retries.Add(int64(n - 1))
				if !errors.Is(err, errDown) || !(errors.Is(err, retry.ErrExhausted) || errors.Is(err, retry.ErrBudgetExhausted)) {
					l.bad.CompareAndSwap(nil, err)
				}
			}
		})
	}
	t.Cleanup(l.end)
	return l
}

func (l *load) end() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

// Redis killed in the middle of a run, then started again: calls never
// fail because of it; the budget falls back to the process's own at the
// first failed exchange and says so; once Redis is back it rejoins, and
// the shared state is in Redis again.
func TestBudgetRedisKilled(t *testing.T) {
	s := startServer(t)
	c := newClient(t, s.addr())
	ev := newSharing()
	f := newFleet(t, c, redisretry.Options{Prefix: "kill", Timeout: 200 * time.Millisecond, SyncInterval: 10 * time.Millisecond,
		Observer: ev.observer()})
	// PerSecond refills the shared budget, so that retries keep drawing on
	// it, and the fallback refills too.
	b, err := f.Budget("dep", retry.BudgetConfig{Capacity: 20, PerSecond: 2000}, redisretry.Lease(2))
	require.NoError(t, err)
	l := startLoad(t, b)
	waitFor(t, func() bool { return l.retries.Load() > 100 }, "retries through the shared budget")

	s.kill()
	e := ev.next(t, 10*time.Second)
	require.False(t, e.Shared, "%+v", e)
	assert.Error(t, e.Err)
	t.Logf("fell back: %v", e.Err)
	before := l.retries.Load()
	waitFor(t, func() bool { return l.retries.Load() > before+100 }, "retries through the fallback budget")

	s.start()
	ev.until(t, true, "shares again")
	ctx := context.Background()
	waitFor(t, func() bool { return c.Exists(ctx, "kill:{dep}:budget").Val() == 1 }, "the shared state back in Redis")
	before = l.retries.Load()
	waitFor(t, func() bool { return l.retries.Load() > before+100 }, "retries through the shared budget again")
	l.end()
	assert.Nil(t, l.bad.Load(), "a call ended because of Redis")
}

// A TCP proxy that stalls: the exchange a retry waits for gives up after
// Timeout and the budget decides alone, even with a client that does not
// let contexts bound its reads (go-redis's default); released, the
// budget shares again. Latency above Timeout does the same.
func TestBudgetRedisStalled(t *testing.T) {
	addr := redisAddr(t)
	admin := newClient(t, addr)
	prefix := newPrefix(t, admin)
	p := startProxy(t, addr)
	c := redis.NewClient(&redis.Options{Addr: p.addr()}) // ReadTimeout 3s, contexts not honoured
	t.Cleanup(func() { _ = c.Close() })
	ev := newSharing()
	f := newFleet(t, c, redisretry.Options{Prefix: prefix, Timeout: 100 * time.Millisecond, SyncInterval: 10 * time.Millisecond,
		Observer: ev.observer()})
	b, err := f.Budget("dep", retry.BudgetConfig{Capacity: 20, PerSecond: 2000}, redisretry.Lease(2))
	require.NoError(t, err)
	l := startLoad(t, b)
	waitFor(t, func() bool { return l.retries.Load() > 100 }, "retries through the shared budget")

	for _, fault := range []struct {
		name    string
		on, off func()
	}{
		{"stall", func() { p.setStalled(true) }, func() { p.setStalled(false) }},
		{"latency", func() { p.setDelay(500 * time.Millisecond) }, func() { p.setDelay(0) }},
	} {
		fault.on()
		e := ev.next(t, 10*time.Second)
		require.False(t, e.Shared, "%s: %+v", fault.name, e)
		assert.ErrorIs(t, e.Err, context.DeadlineExceeded, fault.name)
		before := l.retries.Load()
		waitFor(t, func() bool { return l.retries.Load() > before+100 }, fault.name+": retries through the fallback budget")
		fault.off()
		ev.until(t, true, fault.name+": shares again")
	}
	l.end()
	assert.Nil(t, l.bad.Load(), "a call ended because of Redis")
}

// waitFor waits until cond holds, checking every millisecond, at most 30s.
func waitFor(t testing.TB, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s", what)
		}
		<-time.After(time.Millisecond)
	}
}

// A shared breaker whose Redis is killed decides alone (its own rules trip
// it), says so, and shares again when Redis is back; a key of garbage
// written while it runs does the same, without a panic.
func TestBreakerRedisKilled(t *testing.T) {
	s := startServer(t)
	c := newClient(t, s.addr())
	ev := newSharing()
	f := newFleet(t, c, redisretry.Options{Prefix: "kill", Timeout: 200 * time.Millisecond, SyncInterval: 10 * time.Millisecond,
		Observer: ev.observer()})
	br, err := f.Breaker("dep", retry.BreakerConfig{FailureThreshold: 3, RecoveryTimeout: time.Hour})
	require.NoError(t, err)
	s.kill()
	e := ev.next(t, 10*time.Second)
	require.False(t, e.Shared, "%+v", e)
	assert.Equal(t, "breaker", e.Kind)
	fail(t, br, 3)
	assert.Equal(t, retry.BreakerOpen, br.State(), "its own rules, alone")

	s.start()
	ev.until(t, true, "shares again")
	ctx := context.Background()
	waitFor(t, func() bool {
		st, _ := c.HGet(ctx, "kill:{dep}:breaker", "st").Result()
		return st == "open"
	}, "the trip made alone reaches the fleet once Redis is back")

	require.NoError(t, c.HSet(ctx, "kill:{dep}:breaker", "gen", "many").Err())
	ev.until(t, false, "garbage: decides alone")
	require.NoError(t, c.Del(ctx, "kill:{dep}:breaker").Err())
	ev.until(t, true, "a fresh key: shares again")
}
