package retry

// Stress properties of the engine's record of a hedged call
// (engine_round.go), from the review of engine_round_review_test.go.

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// Stress: a first copy reported while several goroutines hedge the call
// with the same Progress (Begin's), each reporting its own copy at once,
// one copy (or none) succeeding. Whatever the interleaving: one Done, with
// Attempts = 1 + the hedges admitted and Hedges = those; every started
// copy ends; the budget paid one RetryCost per admitted hedge and one
// PerSuccess deposit for the winner only. (Passed on the code reviewed.)
func TestEngineConcurrentHedgersAccounting(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		hedgers := rapid.IntRange(0, 4).Draw(rt, "hedgers")
		winner := rapid.IntRange(-1, hedgers).Draw(rt, "winner") // -1: none; 0: Begin's copy
		ctx := context.Background()
		b, err := NewBudget(BudgetConfig{Capacity: 100, PerSuccess: 0.5, RetryCost: 1})
		require.NoError(rt, err)
		var d revDones
		var starts, ends, lost atomic.Int32
		p, err := NewPolicy(WithHedge(0, 8), WithBudget(b), WithObserver(&Observer{
			AttemptStart: func(ctx context.Context, _ AttemptStartInfo) context.Context { starts.Add(1); return ctx },
			AttemptEnd: func(_ context.Context, e AttemptEndInfo) {
				ends.Add(1)
				if e.Lost {
					lost.Add(1)
				}
			},
			Done: d.done,
		}))
		require.NoError(rt, err)
		before := b.TokensAt(revT0)
		_, first, err := p.Begin(ctx, Progress{}, revT0)
		require.NoError(rt, err)
		report := func(c Progress, k int) {
			if k == winner {
				assert.NoError(rt, p.Succeeded(ctx, c, revT0))
			} else {
				assert.Error(rt, p.Failed(canceledRevCtx(), c, errRevOp, revT0).Err)
			}
		}
		var admitted atomic.Int32
		var wg sync.WaitGroup
		wg.Add(1 + hedgers)
		go func() { defer wg.Done(); report(first, 0) }()
		for k := 1; k <= hedgers; k++ {
			go func() {
				defer wg.Done()
				if _, h, err := p.Hedge(ctx, first, revT0); err == nil {
					admitted.Add(1)
					report(h, k)
				}
			}()
		}
		wg.Wait()
		_, info := d.take()
		require.Len(rt, info, 1, "one Done")
		n := int(admitted.Load())
		assert.Equal(rt, 1+n, info[0].Attempts)
		assert.Equal(rt, n, info[0].Hedges)
		assert.Equal(rt, starts.Load(), ends.Load())
		won := 0.0
		if info[0].Err == nil {
			won = 0.5
		}
		assert.InDelta(rt, min(100, before-float64(n)+won), b.TokensAt(revT0), 1e-6, "budget")
	})
}

// Stress, breaker half-open: the copies of a hedged call are the breaker's
// probes (HalfOpenProbes 5, enough for every copy), hedged concurrently
// with the same Progress and reported at once, one winning or none (every
// other copy reported under a done context: counts as nothing). After the
// call, no probe slot is held: the breaker is closed (a copy won), or
// still half-open with all its slots free. (Passed on the code reviewed.)
func TestEngineConcurrentHedgersFreeProbeSlots(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		hedgers := rapid.IntRange(0, 4).Draw(rt, "hedgers")
		winner := rapid.IntRange(-1, hedgers).Draw(rt, "winner")
		ctx := context.Background()
		br, err := NewBreaker(BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second, HalfOpenProbes: 5})
		require.NoError(rt, err)
		p, err := NewPolicy(WithHedge(0, 8), WithBreaker(br))
		require.NoError(rt, err)
		_, pr, err := p.Begin(ctx, Progress{}, revT0)
		require.NoError(rt, err)
		require.Error(rt, p.Failed(ctx, pr, NotIdempotent(errRevOp), revT0).Err)
		require.Equal(rt, BreakerOpen, br.StateAt(revT0))
		at := revT0.Add(time.Second)
		_, first, err := p.Begin(ctx, Progress{}, at)
		require.NoError(rt, err)
		report := func(c Progress, k int) {
			if k == winner {
				assert.NoError(rt, p.Succeeded(ctx, c, at))
			} else {
				_ = p.Failed(canceledRevCtx(), c, errRevOp, at)
			}
		}
		var wg sync.WaitGroup
		wg.Add(1 + hedgers)
		go func() { defer wg.Done(); report(first, 0) }()
		for k := 1; k <= hedgers; k++ {
			go func() {
				defer wg.Done()
				if _, h, err := p.Hedge(ctx, first, at); err == nil {
					report(h, k)
				}
			}()
		}
		wg.Wait()
		if br.StateAt(at) == BreakerClosed {
			return
		}
		require.Equal(rt, BreakerHalfOpen, br.StateAt(at))
		for i := range 5 {
			_, probe, err := p.Begin(ctx, Progress{}, at)
			require.NoError(rt, err, "probe slot %d of 5 is free", i+1)
			defer func() { _ = p.Failed(canceledRevCtx(), probe, errRevOp, at) }()
		}
	})
}
