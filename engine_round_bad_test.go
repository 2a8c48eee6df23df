package retry

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type revCtxKey struct{}

// TestEngineBadLoserReportIsALosers: a copy of a hedged call reported with
// bad input (a nil error) after another copy won is a loser: its caller
// gets the error of its bad report, the observer its AttemptEnd marked Lost
// (no Stop: it ends nothing) and then the call's one Done, the success's,
// with the winner's context and the call's counts; the budget pays the
// winner's deposit alone, and the breaker hears the winner's success alone
// (its half-open probe slots: the loser's is freed, counting as nothing).
func TestEngineBadLoserReportIsALosers(t *testing.T) {
	ctx := context.Background()
	b, err := NewBudget(BudgetConfig{Capacity: 10, PerSuccess: 0.5, RetryCost: 1})
	require.NoError(t, err)
	var ends []AttemptEndInfo
	var dones []DoneInfo
	var doneCtx context.Context
	p, err := NewPolicy(WithHedge(0, 2), WithBudget(b), WithObserver(&Observer{
		AttemptStart: func(ctx context.Context, e AttemptStartInfo) context.Context {
			return context.WithValue(ctx, revCtxKey{}, e.Attempt)
		},
		AttemptEnd: func(_ context.Context, e AttemptEndInfo) { ends = append(ends, e) },
		Done: func(ctx context.Context, e DoneInfo) {
			dones = append(dones, e)
			doneCtx = ctx
		},
	}))
	require.NoError(t, err)
	before := b.TokensAt(revT0)
	_, c1, err := p.Begin(ctx, Progress{}, revT0)
	require.NoError(t, err)
	_, h1, err := p.Hedge(ctx, c1, revT0)
	require.NoError(t, err)
	require.NoError(t, p.Succeeded(ctx, c1, revT0.Add(time.Second)))
	require.Empty(t, dones, "the Done waits for the loser")
	v := p.Failed(ctx, h1, nil, revT0.Add(2*time.Second))
	require.ErrorIs(t, v.Err, ErrInvalidConfig, "the bad report's own error")
	require.Len(t, ends, 2)
	assert.Equal(t, AttemptEndInfo{Attempt: 2, MaxAttempts: 4, Err: v.Err, Duration: 2 * time.Second, Hedge: true, Lost: true}, ends[1])
	require.Len(t, dones, 1)
	assert.NoError(t, dones[0].Err)
	assert.Equal(t, 2, dones[0].Attempts)
	assert.Equal(t, 1, dones[0].Hedges)
	assert.Equal(t, 1, doneCtx.Value(revCtxKey{}), "the winner's context")
	assert.InDelta(t, before-1+0.5, b.TokensAt(revT0), 1e-9, "a hedge's cost, one deposit")
	assert.Equal(t, 2, v.Next.Attempts, "Next holds the call's count")
	assert.ErrorIs(t, p.Succeeded(ctx, h1, revT0), ErrDuplicateReport, "the loser was reported")
}

// TestEngineBadReportEndsTheCallOnce: the first copy of a hedged call
// reported with bad input (a zero now) ends it: its AttemptEnd and the
// call's Done carry the error; the copies reported after it are losers
// (AttemptEnd marked Lost, no Done), whatever their report, a bad one too,
// and a Hedge of the call is then refused.
func TestEngineBadReportEndsTheCallOnce(t *testing.T) {
	ctx := context.Background()
	var ends []AttemptEndInfo
	var d revDones
	p, err := NewPolicy(WithHedge(0, 4), WithObserver(&Observer{
		AttemptEnd: func(_ context.Context, e AttemptEndInfo) { ends = append(ends, e) },
		Done:       d.done,
	}))
	require.NoError(t, err)
	_, c1, err := p.Begin(ctx, Progress{}, revT0)
	require.NoError(t, err)
	_, h1, err := p.Hedge(ctx, c1, revT0)
	require.NoError(t, err)
	_, h2, err := p.Hedge(ctx, h1, revT0)
	require.NoError(t, err)
	bad := p.Failed(ctx, h1, errRevOp, time.Time{}).Err
	require.ErrorIs(t, bad, ErrInvalidConfig)
	errs, _ := d.take()
	require.Equal(t, []error{bad}, errs, "the bad report ends the call")
	_, _, err = p.Hedge(ctx, h2, revT0)
	require.ErrorIs(t, err, ErrInvalidConfig, "the call is over")
	require.ErrorIs(t, p.Succeeded(ctx, h2, time.Time{}), ErrInvalidConfig)
	require.NoError(t, p.Succeeded(ctx, c1, revT0), "a loser's success")
	errs, _ = d.take()
	assert.Empty(t, errs, "no second Done")
	require.Len(t, ends, 3)
	assert.Equal(t, []bool{false, true, true}, []bool{ends[0].Lost, ends[1].Lost, ends[2].Lost})
	assert.Equal(t, bad, ends[0].Stop)
	assert.Nil(t, ends[1].Stop)
}

// TestEngineAdmissionReuseDropsTheRound: an admission record that goes
// back to the pool and is reused by a later Begin no longer holds the
// record of the hedged call its earlier use began.
func TestEngineAdmissionReuseDropsTheRound(t *testing.T) {
	ctx := context.Background()
	p, err := NewPolicy(WithHedge(0, 2))
	require.NoError(t, err)
	reused := 0
	for range 50 {
		_, c1, err := p.Begin(ctx, Progress{}, revT0)
		require.NoError(t, err)
		_, h1, err := p.Hedge(ctx, c1, revT0)
		require.NoError(t, err)
		require.NotNil(t, c1.adm.round.Load())
		require.NoError(t, p.Succeeded(ctx, c1, revT0))
		_ = p.Failed(canceledRevCtx(), h1, errRevOp, revT0)
		_, next, err := p.Begin(ctx, Progress{}, revT0)
		require.NoError(t, err)
		if next.adm == c1.adm {
			reused++
			assert.Nil(t, next.adm.round.Load(), "the reused record keeps no call's round")
		}
		require.NoError(t, p.Succeeded(ctx, next, revT0))
	}
	require.Positive(t, reused, "the pool reused a record (50 tries)")
}
