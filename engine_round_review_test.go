package retry

// The engine's record of a hedged call (engine_round.go), from an
// independent review: each test states what the doc promises; each failed
// on the code reviewed (4595a25..8a3bb48) and passes since engfix.

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var revT0 = time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)

var errRevOp = errors.New("review: op failed")

// revDones counts the observer's Done events and keeps their errors.
type revDones struct {
	mu   sync.Mutex
	errs []error
	info []DoneInfo
}

func (d *revDones) done(_ context.Context, e DoneInfo) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.errs = append(d.errs, e.Err)
	d.info = append(d.info, e)
}

func (d *revDones) take() ([]error, []DoneInfo) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, i := d.errs, d.info
	d.errs, d.info = nil, nil
	return e, i
}

// A hedge's AttemptStart hook panics while another goroutine reports the
// call's other copy (a report from another goroutine is allowed: only a
// hook must not report its own call). The doc: "Every call that starts gets
// exactly one Done, unless a hook panics" - but the copy that reports is
// told it "counts as nothing, the others go on" (the panicking hedge was
// counted as running by join), then unjoin takes the hedge back and leaves
// the call with no copy running, no decision and no Done: the call is lost.
// Fixed: join, observeStart and the unjoin of a panic run under rd.mu
// (Policy.joinHedge): the other copy's report waits, then finds itself the
// last copy and decides.
func TestEngineHedgeStartPanicLeavesTheCallToItsCopies(t *testing.T) {
	for _, wins := range []bool{false, true} {
		name := map[bool]string{false: "other copy fails permanently", true: "other copy wins"}[wins]
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			var d revDones
			var first Progress
			var p *Policy
			var armed atomic.Bool
			var reported atomic.Bool
			var verdict Verdict
			var succErr error
			var wg sync.WaitGroup
			obs := &Observer{
				AttemptStart: func(ctx context.Context, e AttemptStartInfo) context.Context {
					if !e.Hedge || !armed.Load() {
						return ctx
					}
					wg.Add(1)
					go func() { // the driver's goroutine for the first copy
						defer wg.Done()
						if wins {
							succErr = p.Succeeded(ctx, first, revT0)
						} else {
							verdict = p.Failed(ctx, first, Permanent(errRevOp), revT0)
						}
						reported.Store(true)
					}()
					for i := 0; i < 200000 && !reported.Load(); i++ {
						runtime.Gosched()
					}
					panic("observer")
				},
				Done: d.done,
			}
			var err error
			p, err = NewPolicy(WithHedge(0, 3), WithObserver(obs))
			require.NoError(t, err)
			_, first, err = p.Begin(ctx, Progress{}, revT0)
			require.NoError(t, err)
			armed.Store(true)
			require.PanicsWithValue(t, "observer", func() { _, _, _ = p.Hedge(ctx, first, revT0) })
			wg.Wait()
			errs, _ := d.take()
			if wins {
				require.NoError(t, succErr)
				assert.Equal(t, []error{nil}, errs, "the call succeeded: its one Done")
			} else {
				assert.ErrorIs(t, verdict.Err, ErrPermanent, "the only copy of the call failed permanently: its report decides (Verdict.Err=%v)", verdict.Err)
				assert.Len(t, errs, 1, "the call's one Done")
			}
		})
	}
}

// Two copies of a hedged call reported with bad input (a nil error): each
// report goes through ended, which calls abort and reports a Done, so the
// observer heard two Dones for one call. Fixed: the first bad report ends
// the call (its Done), a later copy's report is a loser's (endedCopy).
func TestEngineBadReportsOfAHedgedCallMakeOneDone(t *testing.T) {
	ctx := context.Background()
	var d revDones
	p, err := NewPolicy(WithHedge(0, 3), WithObserver(&Observer{Done: d.done}))
	require.NoError(t, err)
	_, c1, err := p.Begin(ctx, Progress{}, revT0)
	require.NoError(t, err)
	_, h1, err := p.Hedge(ctx, c1, revT0)
	require.NoError(t, err)
	_, h2, err := p.Hedge(ctx, h1, revT0)
	require.NoError(t, err)
	require.ErrorIs(t, p.Failed(ctx, h1, nil, revT0).Err, ErrInvalidConfig)
	require.ErrorIs(t, p.Failed(ctx, h2, nil, revT0).Err, ErrInvalidConfig)
	v := p.Failed(ctx, c1, errRevOp, revT0)
	require.Error(t, v.Err)
	errs, _ := d.take()
	assert.Len(t, errs, 1, "one Done per call; got %v", errs)
}

// A hedged call whose first copy won (Succeeded returned nil: the driver
// returned the result) and whose loser is then reported with bad input: the
// loser's report ends the call with ErrInvalidConfig, so the observer's
// one Done says the call failed, with the loser's context and its own
// attempt number, and the winner's success Done never comes. The doc: the
// call's Done comes "after a success, [with] the winner's context"; a
// loser "reported with Failed ... counts as nothing, under any context".
// Fixed: in ended, a copy of a call already won is a loser (AttemptEnd
// Lost); the Done, if it is the last, is the success's, with rd.wctx; see
// TestEngineBadLoserReportIsALosers for its events.
func TestEngineBadLoserReportKeepsTheSuccess(t *testing.T) {
	ctx := context.Background()
	var d revDones
	p, err := NewPolicy(WithHedge(0, 2), WithObserver(&Observer{Done: d.done}))
	require.NoError(t, err)
	_, c1, err := p.Begin(ctx, Progress{}, revT0)
	require.NoError(t, err)
	_, h1, err := p.Hedge(ctx, c1, revT0)
	require.NoError(t, err)
	require.NoError(t, p.Succeeded(ctx, c1, revT0))
	_ = p.Failed(ctx, h1, nil, revT0)
	errs, info := d.take()
	require.Len(t, errs, 1)
	assert.NoError(t, errs[0], "the call succeeded")
	assert.Equal(t, 2, info[0].Attempts, "the call's count")
}

// The doc (and the brief): the observer hooks of one hedged call run one at
// a time under the record's lock, as DoHedged's events "never overlap". A
// hedge's AttemptStart ran outside rd.mu (Hedge's startHedge), so it could
// overlap another copy's AttemptEnd or the call's Done. Same fix as
// TestEngineHedgeStartPanicLeavesTheCallToItsCopies.
func TestEngineHedgeStartUnderTheCallsLock(t *testing.T) {
	ctx := context.Background()
	var rd *hedgeRound
	var unlockedStarts int
	p, err := NewPolicy(WithHedge(0, 3), WithObserver(&Observer{
		AttemptStart: func(ctx context.Context, e AttemptStartInfo) context.Context {
			if rd != nil && e.Hedge && rd.mu.TryLock() {
				rd.mu.Unlock()
				unlockedStarts++
			}
			return ctx
		},
	}))
	require.NoError(t, err)
	_, c1, err := p.Begin(ctx, Progress{}, revT0)
	require.NoError(t, err)
	_, h1, err := p.Hedge(ctx, c1, revT0)
	require.NoError(t, err)
	rd = h1.round
	require.NotNil(t, rd)
	_, h2, err := p.Hedge(ctx, h1, revT0)
	require.NoError(t, err)
	for _, c := range []Progress{c1, h1, h2} {
		_ = p.Failed(canceledRevCtx(), c, errRevOp, revT0)
	}
	assert.Zero(t, unlockedStarts, "a hedge's AttemptStart ran while another copy's report could run its hooks")
}

func canceledRevCtx() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// Progress's doc: it "round-trips through encoding/json and through
// MarshalBinary, with the sum of the waits so far that an observer's Done
// reports". The Done's Hedges (the call's count of hedges) is not kept:
// a Verdict's Next after a hedged round, stored and decoded, makes the
// call's Done report fewer hedges than the same call not stored.
// (Pre-existing: progressJSON never had hedges; the diff makes the count
// the call's, so it now matters.) Fixed: JSON "hedges" (omitempty) and
// binary version 3, written when the count is not 0 (progress.go).
func TestEngineStoredProgressKeepsHedges(t *testing.T) {
	run := func(t *testing.T, store func(Progress) Progress) DoneInfo {
		ctx := context.Background()
		var d revDones
		p, err := NewPolicy(WithHedge(0, 2), WithObserver(&Observer{Done: d.done}),
			WithBackoff(Constant(time.Second)), WithJitter(NoJitter))
		require.NoError(t, err)
		_, c1, err := p.Begin(ctx, Progress{}, revT0)
		require.NoError(t, err)
		_, h1, err := p.Hedge(ctx, c1, revT0)
		require.NoError(t, err)
		require.Error(t, p.Failed(canceledRevCtx(), c1, errRevOp, revT0).Err) // aside
		v := p.Failed(ctx, h1, errRevOp, revT0)                               // last: a retry
		require.NoError(t, v.Err)
		next := store(v.Next)
		at := revT0.Add(v.Wait)
		_, c2, err := p.Begin(ctx, next, at)
		require.NoError(t, err)
		require.ErrorIs(t, p.Failed(ctx, c2, Permanent(errRevOp), at).Err, ErrPermanent)
		_, info := d.take()
		require.Len(t, info, 1)
		return info[0]
	}
	direct := run(t, func(pr Progress) Progress { return pr })
	require.Equal(t, 1, direct.Hedges)
	viaJSON := run(t, func(pr Progress) Progress {
		b, err := json.Marshal(pr)
		require.NoError(t, err)
		var out Progress
		require.NoError(t, json.Unmarshal(b, &out))
		return out
	})
	viaBinary := run(t, func(pr Progress) Progress {
		b, err := pr.MarshalBinary()
		require.NoError(t, err)
		var out Progress
		require.NoError(t, out.UnmarshalBinary(b))
		return out
	})
	assert.Equal(t, direct.Hedges, viaJSON.Hedges, "Done.Hedges after a JSON round trip")
	assert.Equal(t, direct.Hedges, viaBinary.Hedges, "Done.Hedges after a binary round trip")
	assert.Equal(t, direct.Waited, viaJSON.Waited, "Done.Waited after a JSON round trip (kept)")
}
