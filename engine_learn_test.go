package retry_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// The engine feeds WithAdaptiveHedge's HedgeDelay what DoHedged feeds it:
// the latency of every copy that succeeds, from Begin's or Hedge's now to
// the report's, and that of a copy reported after another won when it ran
// for at least the delay; no failure, and nothing when hedging is off.
func TestEngineFeedsAdaptiveHedge(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	at := func(n int) time.Time { return hedgeT0.Add(ms(n)) }
	ctx := context.Background()
	type drive func(t *testing.T, p *retry.Policy)
	begin := func(t *testing.T, p *retry.Policy, pr retry.Progress, n int) retry.Progress {
		_, pr, err := p.Begin(ctx, pr, at(n))
		require.NoError(t, err)
		return pr
	}
	hedge := func(t *testing.T, p *retry.Policy, pr retry.Progress, n int) retry.Progress {
		_, h, err := p.Hedge(ctx, pr, at(n))
		require.NoError(t, err)
		return h
	}
	tests := []struct {
		name     string
		inFlight int
		drive    drive
		want     []time.Duration
	}{
		{"a call that answers before the delay", 2, func(t *testing.T, p *retry.Policy) {
			require.NoError(t, p.Succeeded(ctx, begin(t, p, retry.Progress{}, 0), at(5)))
		}, []time.Duration{ms(5)}},
		{"a retry that succeeds, not the failure before it", 2, func(t *testing.T, p *retry.Policy) {
			v := p.Failed(ctx, begin(t, p, retry.Progress{}, 0), errHedgeOp, at(3))
			require.NoError(t, v.Err)
			require.NoError(t, p.Succeeded(ctx, begin(t, p, v.Next, 20), at(24)))
		}, []time.Duration{ms(4)}},
		{"a hedge wins, and the first, beaten after the delay, is fed its time", 2, func(t *testing.T, p *retry.Policy) {
			c1 := begin(t, p, retry.Progress{}, 0)
			c2 := hedge(t, p, c1, 10)
			require.NoError(t, p.Succeeded(ctx, c2, at(14)))
			require.ErrorIs(t, p.Failed(canceledCtx(), c1, context.Canceled, at(14)).Err, context.Canceled)
		}, []time.Duration{ms(4), ms(14)}},
		{"a hedge beaten before the delay is not fed", 2, func(t *testing.T, p *retry.Policy) {
			c1 := begin(t, p, retry.Progress{}, 0)
			c2 := hedge(t, p, c1, 10)
			require.NoError(t, p.Succeeded(ctx, c1, at(15)))
			require.ErrorIs(t, p.Failed(canceledCtx(), c2, context.Canceled, at(15)).Err, context.Canceled)
		}, []time.Duration{ms(15)}},
		{"a loser that succeeds anyway is fed", 2, func(t *testing.T, p *retry.Policy) {
			c1 := begin(t, p, retry.Progress{}, 0)
			c2 := hedge(t, p, c1, 10)
			require.NoError(t, p.Succeeded(ctx, c1, at(15)))
			require.NoError(t, p.Succeeded(ctx, c2, at(16)))
		}, []time.Duration{ms(15), ms(6)}},
		{"a copy that failed while another ran is not fed", 3, func(t *testing.T, p *retry.Policy) {
			c1 := begin(t, p, retry.Progress{}, 0)
			c2 := hedge(t, p, c1, 10)
			require.Error(t, p.Failed(canceledCtx(), c2, errHedgeOp, at(25)).Err)
			require.NoError(t, p.Succeeded(ctx, c1, at(30)))
		}, []time.Duration{ms(30)}},
		{"the copies of a call that fails are not fed", 2, func(t *testing.T, p *retry.Policy) {
			c1 := begin(t, p, retry.Progress{}, 0)
			c2 := hedge(t, p, c1, 10)
			require.Error(t, p.Failed(canceledCtx(), c1, errHedgeOp, at(30)).Err)
			require.NoError(t, p.Failed(ctx, c2, errHedgeOp, at(40)).Err)
		}, nil},
		{"a copy cancelled because a bad report ended the call is not fed", 2, func(t *testing.T, p *retry.Policy) {
			c1 := begin(t, p, retry.Progress{}, 0)
			c2 := hedge(t, p, c1, 10)
			require.ErrorIs(t, p.Failed(ctx, c1, nil, at(30)).Err, retry.ErrInvalidConfig)
			require.Error(t, p.Failed(canceledCtx(), c2, context.Canceled, at(30)).Err)
		}, nil},
		{"hedging off (maxInFlight 1), as DoHedged then runs Do's loop", 1, func(t *testing.T, p *retry.Policy) {
			require.NoError(t, p.Succeeded(ctx, begin(t, p, retry.Progress{}, 0), at(5)))
		}, nil},
		{"a report before the attempt began (a clock stepped back)", 2, func(t *testing.T, p *retry.Policy) {
			require.NoError(t, p.Succeeded(ctx, begin(t, p, retry.Progress{}, 10), at(5)))
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := retry.NewHedgeDelay(0.9, ms(10))
			require.NoError(t, err)
			p, err := retry.NewPolicy(retry.WithAdaptiveHedge(d, tc.inFlight), retry.WithMaxAttempts(3),
				retry.WithBackoff(retry.Constant(ms(20))), retry.WithJitter(retry.NoJitter))
			require.NoError(t, err)
			tc.drive(t, p)
			want, err := retry.NewHedgeDelay(0.9, ms(10))
			require.NoError(t, err)
			for _, l := range tc.want {
				want.Observe(l)
			}
			assert.Equal(t, retry.HedgeDelayObserved(want), retry.HedgeDelayObserved(d))
		})
	}
}

// A driver of the engine that never calls Observe teaches the adaptive
// delay: after enough calls that answer in 3ms, HedgeAfter is about 3ms,
// not the initial 50ms.
func TestEngineAdaptiveHedgeLearns(t *testing.T) {
	d, err := retry.NewHedgeDelay(0.9, 50*time.Millisecond)
	require.NoError(t, err)
	p, err := retry.NewPolicy(retry.WithAdaptiveHedge(d, 2))
	require.NoError(t, err)
	ctx := context.Background()
	now := hedgeT0
	for range 200 {
		assert.LessOrEqual(t, p.HedgeAfter(), 50*time.Millisecond)
		_, pr, err := p.Begin(ctx, retry.Progress{}, now)
		require.NoError(t, err)
		now = now.Add(3 * time.Millisecond)
		require.NoError(t, p.Succeeded(ctx, pr, now))
	}
	assert.InDelta(t, float64(3*time.Millisecond), float64(p.HedgeAfter()), float64(3*time.Millisecond)/64+1)
}

// Feeding the adaptive delay costs a call of the engine no allocation.
func TestEngineAdaptiveHedgeAllocs(t *testing.T) {
	d, err := retry.NewHedgeDelay(0.9, time.Millisecond)
	require.NoError(t, err)
	p, err := retry.NewPolicy(retry.WithAdaptiveHedge(d, 2))
	require.NoError(t, err)
	ctx := context.Background()
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		_, pr, _ := p.Begin(ctx, retry.Progress{}, hedgeT0)
		_ = p.Succeeded(ctx, pr, hedgeT0.Add(time.Millisecond))
	}))
	assert.NotEmpty(t, retry.HedgeDelayObserved(d))
}
