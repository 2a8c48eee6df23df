package redisretry_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/redisretry"
)

// twoBreakers returns the breaker of one name in two fleets (two
// processes, as the script sees them), exchanging only when the test says
// so, and the key of their shared state.
func twoBreakers(t *testing.T, cfg retry.BreakerConfig) (f [2]*redisretry.Fleet, b [2]*retry.Breaker, st func() string) {
	addr := redisAddr(t)
	c := newClient(t, addr)
	prefix := newPrefix(t, c)
	o := redisretry.Options{Prefix: prefix, SyncInterval: time.Hour, Expire: 24 * time.Hour}
	for i := range f {
		f[i] = newFleet(t, newClient(t, addr), o)
		var err error
		b[i], err = f[i].Breaker("dep", cfg)
		require.NoError(t, err)
	}
	return f, b, func() string {
		v, err := c.HGet(context.Background(), prefix+":{dep}:breaker", "st").Result()
		require.NoError(t, err)
		return v
	}
}

func succeed(t testing.TB, br *retry.Breaker) {
	t.Helper()
	require.NoError(t, br.Run(context.Background(), func(context.Context) error { return nil }))
}

// The consecutive-failure rule of a shared breaker adds up each process's
// own run of failures (its failures since its own last success), as the
// package documentation says: a success resets the run of the process
// that made it, never another's. So the fleet opens when any
// FailureThreshold failures in a row reach it, as one breaker seeing every
// attempt would, and also when runs of processes add up although another
// process succeeded in between, where that one breaker would not.
func TestBreakerConsecutiveRuleAddsProcessRuns(t *testing.T) {
	f, b, st := twoBreakers(t, retry.BreakerConfig{FailureThreshold: 4, RecoveryTimeout: time.Hour})
	ctx := context.Background()

	fail(t, b[0], 2)
	require.NoError(t, f[0].Sync(ctx)) // A's run: 2
	fail(t, b[1], 1)
	succeed(t, b[1]) // resets B's run, not A's
	fail(t, b[1], 1)
	require.NoError(t, f[1].Sync(ctx)) // B's run: 1
	assert.Equal(t, "closed", st(), "2 + 1 < 4: B's failure before its own success no longer counts")

	succeed(t, b[1]) // in the fleet's order, after A's failures
	fail(t, b[1], 2)
	require.NoError(t, f[1].Sync(ctx)) // B's run: 2
	assert.Equal(t, "open", st(), "2 + 2 = 4: B's success did not reset A's run")
	require.NoError(t, f[0].Sync(ctx))
	assert.Equal(t, retry.BreakerOpen, b[0].State())
}

// A property on the real Redis: whatever the interleaving of failures,
// successes and exchanges of up to four processes, the fleet's breaker is
// open exactly when, at some exchange, the runs the processes last
// reported added up to FailureThreshold, or a process's own run reached it
// (its own trip, sent to the fleet).
func TestBreakerConsecutiveRuleProperty(t *testing.T) {
	addr := redisAddr(t)
	admin := newClient(t, addr)
	prefix := newPrefix(t, admin)
	var n int
	rapid.Check(t, func(rt *rapid.T) {
		procs := rapid.IntRange(1, 4).Draw(rt, "processes")
		threshold := rapid.IntRange(1, 6).Draw(rt, "threshold")
		type step struct {
			p    int
			what string
		}
		steps := rapid.SliceOfN(rapid.Custom(func(rt *rapid.T) step {
			return step{rapid.IntRange(0, procs-1).Draw(rt, "p"), rapid.SampledFrom([]string{"fail", "succeed", "sync"}).Draw(rt, "what")}
		}), 0, 30).Draw(rt, "steps")

		n++
		name := fmt.Sprintf("p%d", n)
		cfg := retry.BreakerConfig{FailureThreshold: threshold, RecoveryTimeout: time.Hour}
		// Timeout as newFleet's: a loaded machine must not make an exchange late.
		o := redisretry.Options{Prefix: prefix, Timeout: 2 * time.Second, SyncInterval: time.Hour, Expire: 24 * time.Hour}
		fleets := make([]*redisretry.Fleet, procs)
		brs := make([]*retry.Breaker, procs)
		for i := range procs {
			f, err := redisretry.New(admin, o)
			require.NoError(rt, err)
			defer f.Close()
			fleets[i] = f
			brs[i], err = f.Breaker(name, cfg)
			require.NoError(rt, err)
		}
		ctx := context.Background()
		run, reported := make([]int, procs), make([]int, procs)
		open := false
		for p := range procs {
			steps = append(steps, step{p, "sync"}) // sends what is left, a trip of its own included
		}
		for _, s := range steps {
			if open {
				require.NoError(rt, fleets[s.p].Sync(ctx))
				continue // every attempt would be refused: nothing counts any more
			}
			switch s.what {
			case "fail":
				_ = brs[s.p].Run(ctx, func(context.Context) error { return errDown })
				run[s.p]++
				open = run[s.p] >= threshold
			case "succeed":
				require.NoError(rt, brs[s.p].Run(ctx, func(context.Context) error { return nil }))
				run[s.p] = 0
			case "sync":
				require.NoError(rt, fleets[s.p].Sync(ctx))
				reported[s.p] = run[s.p]
				sum := 0
				for _, r := range reported {
					sum += r
				}
				open = sum >= threshold
			}
		}
		st, err := admin.HGet(ctx, prefix+":{"+name+"}:breaker", "st").Result()
		if err == redis.Nil {
			st = "closed"
		} else {
			require.NoError(rt, err)
		}
		want := map[bool]string{false: "closed", true: "open"}[open]
		require.Equal(rt, want, st, "runs %v, reported %v", run, reported)
	})
}

// The failure-rate rule of a shared breaker divides the fleet's failures
// by the fleet's attempts, once they reach MinimumCalls: two processes,
// neither of which has MinimumCalls attempts alone, open it together at
// the rate, and stay closed below it.
func TestBreakerFailureRateShared(t *testing.T) {
	cfg := retry.BreakerConfig{FailureRate: 0.5, MinimumCalls: 10, Window: time.Hour, RecoveryTimeout: time.Hour}
	ctx := context.Background()
	for _, tc := range []struct {
		name         string
		failA, failB int // of 5 attempts each
		want         string
	}{
		{"6 of 10", 4, 2, "open"},
		{"5 of 10: the rate reached", 4, 1, "open"},
		{"4 of 10", 4, 0, "closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, b, st := twoBreakers(t, cfg)
			for i, n := range []int{tc.failA, tc.failB} {
				fail(t, b[i], n)
				for range 5 - n {
					succeed(t, b[i])
				}
				require.Equal(t, retry.BreakerClosed, b[i].State(), "5 attempts alone are below MinimumCalls")
				require.NoError(t, f[i].Sync(ctx))
			}
			assert.Equal(t, tc.want, st())
			require.NoError(t, f[0].Sync(ctx))
			assert.Equal(t, map[string]retry.BreakerState{"open": retry.BreakerOpen, "closed": retry.BreakerClosed}[tc.want], b[0].State())
		})
	}
}

// As the package documentation says, a process whose own window reaches
// MinimumCalls at the failure rate trips its own breaker, and that opens
// the fleet's, although the fleet's rate is below it.
func TestBreakerFailureRateOwnTripOpensFleet(t *testing.T) {
	cfg := retry.BreakerConfig{FailureRate: 0.5, MinimumCalls: 10, Window: time.Hour, RecoveryTimeout: time.Hour}
	f, b, st := twoBreakers(t, cfg)
	ctx := context.Background()
	for range 30 {
		succeed(t, b[1])
	}
	require.NoError(t, f[1].Sync(ctx))
	fail(t, b[0], 10) // 10 of the fleet's 40 attempts: 25%
	require.Equal(t, retry.BreakerOpen, b[0].State(), "its own rule")
	require.NoError(t, f[0].Sync(ctx)) // the trip, if the kick has not sent it yet
	assert.Equal(t, "open", st())
	require.NoError(t, f[1].Sync(ctx))
	assert.Equal(t, retry.BreakerOpen, b[1].State())
}

// Each failed probe lengthens the fleet's open time as a retry.Breaker's:
// doubled from RecoveryTimeout up to MaxRecoveryTimeout, then jittered
// into [d/2, d], never below RecoveryTimeout (the script's instants are
// the server's, read before and after each exchange).
func TestBreakerOpenTimeLengthened(t *testing.T) {
	addr := redisAddr(t)
	c := newClient(t, addr)
	prefix := newPrefix(t, c)
	f := newFleet(t, c, redisretry.Options{Prefix: prefix, SyncInterval: time.Hour, Expire: 24 * time.Hour})
	const recovery, maxRecovery = 40, 320 // ms
	br, err := f.Breaker("dep", retry.BreakerConfig{FailureThreshold: 1,
		RecoveryTimeout: recovery * time.Millisecond, MaxRecoveryTimeout: maxRecovery * time.Millisecond})
	require.NoError(t, err)
	ctx := context.Background()
	ms := func() int64 { tm, err := c.Time(ctx).Result(); require.NoError(t, err); return tm.UnixMilli() }
	key := prefix + ":{dep}:breaker"
	d := int64(recovery)
	for trip := 1; trip <= 5; trip++ {
		if trip > 1 {
			waitFor(t, func() bool { require.NoError(t, f.Sync(ctx)); return br.State() == retry.BreakerHalfOpen }, "the fleet names this process to probe")
			d = min(2*d, maxRecovery)
		}
		// The trip may reach Redis on the failure's own exchange, so the
		// lower bound is read before the failure.
		before := ms()
		fail(t, br, 1) // a trip, or a failed probe
		require.NoError(t, f.Sync(ctx))
		after := ms()
		v, err := c.HMGet(ctx, key, "trips", "until").Result()
		require.NoError(t, err)
		require.Equal(t, fmt.Sprint(trip), v[0])
		var until int64
		_, err = fmt.Sscan(v[1].(string), &until)
		require.NoError(t, err)
		lo, hi := max(d/2, recovery), d
		if trip == 1 {
			lo = recovery
		}
		assert.GreaterOrEqual(t, until-before, lo, "trip %d", trip)
		assert.LessOrEqual(t, until-after, hi, "trip %d", trip)
	}
}

// A probe slower than the leader's lease, 3 × (SyncInterval + Timeout):
// the process probing keeps the role while its probe is in flight (its
// exchanges renew the lease), so no other process starts probes of its
// own meanwhile; the slow probe's success closes the breaker for both.
func TestBreakerSlowProbeKeepsLeader(t *testing.T) {
	addr := redisAddr(t)
	admin := newClient(t, addr)
	prefix := newPrefix(t, admin)
	// Exchanges every 10ms, and a Timeout a loaded machine keeps: the
	// lease is 3 × (10ms + 200ms).
	o := redisretry.Options{Prefix: prefix, SyncInterval: 10 * time.Millisecond, Timeout: 200 * time.Millisecond}
	var f [2]*redisretry.Fleet
	var b [2]*retry.Breaker
	for i := range f {
		f[i] = newFleet(t, newClient(t, addr), o)
		var err error
		b[i], err = f[i].Breaker("dep", retry.BreakerConfig{FailureThreshold: 1, RecoveryTimeout: 50 * time.Millisecond})
		require.NoError(t, err)
	}
	ctx := context.Background()
	key := prefix + ":{dep}:breaker"
	fail(t, b[0], 1)
	release := make(chan struct{})
	var p int
	var probe chan error
	for {
		waitFor(t, func() bool { return b[0].State() == retry.BreakerHalfOpen || b[1].State() == retry.BreakerHalfOpen }, "a process named to probe")
		p = 0
		if b[1].State() == retry.BreakerHalfOpen {
			p = 1
		}
		started, ran := make(chan struct{}), make(chan error, 1)
		go func(br *retry.Breaker) {
			ran <- br.Run(ctx, func(context.Context) error { close(started); <-release; return nil })
		}(b[p])
		select {
		case <-started:
			probe = ran
		case err := <-ran:
			// The half-open state went before the probe began (an exchange
			// made late by a loaded machine handed the role on): again.
			require.ErrorIs(t, err, retry.ErrCircuitOpen)
			continue
		}
		break
	}
	leader, err := admin.HGet(ctx, key, "leader").Result()
	require.NoError(t, err)
	// Past two leases of the server's time, with exchanges all along.
	lu, err := admin.HGet(ctx, key, "lu").Int64()
	require.NoError(t, err)
	lease := 3 * (o.SyncInterval + o.Timeout).Milliseconds()
	waitFor(t, func() bool { tm, err := admin.Time(ctx).Result(); return err == nil && tm.UnixMilli() > lu+lease }, "two leases")
	require.NoError(t, f[0].Sync(ctx))
	require.NoError(t, f[1].Sync(ctx))
	now, err := admin.HGet(ctx, key, "leader").Result()
	require.NoError(t, err)
	assert.Equal(t, leader, now, "the process probing still leads")
	assert.Equal(t, retry.BreakerOpen, b[1-p].State(), "the other process does not probe")

	close(release)
	require.NoError(t, <-probe)
	waitFor(t, func() bool { return b[0].State() == retry.BreakerClosed && b[1].State() == retry.BreakerClosed }, "closed for both")
}
