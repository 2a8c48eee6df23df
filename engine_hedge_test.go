package retry_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/retrykit/retry"
)

// hedgeScript is a hedged call in which every copy answers: copy k, sent
// at k·delay if the call still runs then, answers lat[k] later, with a
// success or the stop fail[k]. Each latency ends in (k+1) µs, so no two
// copies end together and no copy ends as another starts (delays are
// whole milliseconds).
type hedgeScript struct {
	lat      [4]time.Duration
	fail     [4]stopKind
	delay    time.Duration
	inFlight int  // 2 to 4
	attempts int  // WithMaxAttempts; 0: none
	capacity int  // the budget's Capacity; 0: no budget
	halfOpen bool // the call starts with the breaker half-open (one probe)
	adaptive bool // WithAdaptiveHedge, its initial delay delay (when delay > 0)
}

// stopKind is how a copy of a hedgeScript answers.
type stopKind int8

const (
	succeeds      stopKind = iota
	permanent              // fails with Permanent: the call stops
	notIdempotent          // fails with NotIdempotent: the call stops, a failure for the breaker
)

// answer is the error copy k of sc returns.
func (sc hedgeScript) answer(k int) error {
	switch sc.fail[k] {
	case permanent:
		return retry.Permanent(errHedgeOp)
	case notIdempotent:
		return retry.NotIdempotent(errHedgeOp)
	}
	return nil
}

// attemptKey keys the attempt's number in its context.
type attemptKey struct{}

// hedgeOutcome is what a driver of the script leaves behind.
type hedgeOutcome struct {
	Winner   int          // the copy whose value the call returned
	Err      error        // the call's error
	Events   []hedgeEvent // the observer's, in order (see hedgeEvents)
	Tokens   float64      // the budget's, when the call ended
	Stats    retry.BreakerStats
	State    retry.BreakerState
	Duration time.Duration         // of the call
	Observed map[time.Duration]int // the latencies the adaptive delay was fed, with adaptive
	Delay    time.Duration         // its delay, when the call ended
}

// hedgeEvent is one call of an observer's hook: its event, and the
// attempt whose context the hook got (0: the call's, before any attempt).
type hedgeEvent struct {
	Ctx  int
	Info any
}

// starts returns the AttemptStart events of o.
func (o hedgeOutcome) starts() []retry.AttemptStartInfo {
	var s []retry.AttemptStartInfo
	for _, e := range o.Events {
		if i, ok := e.Info.(retry.AttemptStartInfo); ok {
			s = append(s, i)
		}
	}
	return s
}

// done returns the Done events of o.
func (o hedgeOutcome) done() []retry.DoneInfo {
	var s []retry.DoneInfo
	for _, e := range o.Events {
		if i, ok := e.Info.(retry.DoneInfo); ok {
			s = append(s, i)
		}
	}
	return s
}

// hedgeRig is the policy of a script, with its own budget, breaker and
// observer, so that each driver starts from the same state.
type hedgeRig struct {
	p      *retry.Policy
	budget *retry.Budget
	br     *retry.Breaker
	delay  *retry.HedgeDelay // with sc.adaptive
	mu     sync.Mutex
	out    hedgeOutcome
}

// record appends an event the hook got with ctx.
func (r *hedgeRig) record(ctx context.Context, info any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k, _ := ctx.Value(attemptKey{}).(int)
	r.out.Events = append(r.out.Events, hedgeEvent{k, info})
}

// hedgeEvents is events with each run of consecutive AttemptEnd events
// of losers sorted by attempt: DoHedged cancels the losers at once, and
// they return in any order.
func hedgeEvents(events []hedgeEvent) []hedgeEvent {
	out := slices.Clone(events)
	lost := func(e hedgeEvent) bool { i, ok := e.Info.(retry.AttemptEndInfo); return ok && i.Lost }
	for i := 0; i < len(out); {
		j := i
		for j < len(out) && lost(out[j]) {
			j++
		}
		slices.SortFunc(out[i:j], func(a, b hedgeEvent) int {
			return a.Info.(retry.AttemptEndInfo).Attempt - b.Info.(retry.AttemptEndInfo).Attempt
		})
		i = max(j, i+1)
	}
	return out
}

func newHedgeRig(t require.TestingT, sc hedgeScript) *hedgeRig {
	r := &hedgeRig{}
	var err error
	r.br, err = retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second, HalfOpenProbes: 1})
	require.NoError(t, err)
	hedge := retry.WithHedge(sc.delay, sc.inFlight)
	if sc.adaptive && sc.delay > 0 {
		r.delay, err = retry.NewHedgeDelay(0.9, sc.delay)
		require.NoError(t, err)
		hedge = retry.WithAdaptiveHedge(r.delay, sc.inFlight)
	}
	opts := []retry.Option{hedge, retry.WithMaxAttempts(sc.attempts),
		retry.WithBreaker(r.br), retry.WithObserver(&retry.Observer{
			AttemptStart: func(ctx context.Context, e retry.AttemptStartInfo) context.Context {
				r.record(ctx, e)
				return context.WithValue(ctx, attemptKey{}, e.Attempt)
			},
			AttemptEnd:     func(ctx context.Context, e retry.AttemptEndInfo) { r.record(ctx, e) },
			RetryScheduled: func(ctx context.Context, e retry.RetryInfo) { r.record(ctx, e) },
			BudgetRefused:  func(ctx context.Context, e retry.BudgetRefusedInfo) { r.record(ctx, e) },
			BreakerChange:  func(ctx context.Context, e retry.BreakerChangeInfo) { r.record(ctx, e) },
			Done:           func(ctx context.Context, e retry.DoneInfo) { r.record(ctx, e) },
		})}
	if sc.capacity > 0 {
		r.budget, err = retry.NewBudget(retry.BudgetConfig{Capacity: float64(sc.capacity), PerSuccess: 0.5})
		require.NoError(t, err)
		opts = append(opts, retry.WithBudget(r.budget))
	}
	r.p, err = retry.NewPolicy(opts...)
	require.NoError(t, err)
	return r
}

// prime opens the rig's breaker at now, with a failed attempt of a policy
// that shares it.
func (r *hedgeRig) prime(t require.TestingT, now time.Time) {
	pp, err := retry.NewPolicy(retry.WithBreaker(r.br), retry.WithMaxAttempts(1))
	require.NoError(t, err)
	_, pr, err := pp.Begin(context.Background(), retry.Progress{}, now)
	require.NoError(t, err)
	require.Error(t, pp.Failed(context.Background(), pr, errHedgeOp, now).Err)
}

// finish records the state of the budget and the breaker at end.
func (r *hedgeRig) finish(end, start time.Time) hedgeOutcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.budget != nil {
		r.out.Tokens = r.budget.TokensAt(end)
	}
	r.out.Stats, r.out.State, r.out.Duration = r.br.Stats(), r.br.StateAt(end), end.Sub(start)
	if r.delay != nil {
		r.out.Observed, r.out.Delay = retry.HedgeDelayObserved(r.delay), r.delay.Delay()
	}
	r.out.Events = hedgeEvents(r.out.Events)
	return r.out
}

// hedgeByDo runs sc through DoHedged, in the virtual time of the synctest
// bubble it is called in.
func hedgeByDo(t require.TestingT, sc hedgeScript) hedgeOutcome {
	r := newHedgeRig(t, sc)
	if sc.halfOpen {
		r.prime(t, time.Now())
		time.Sleep(time.Second)
	}
	op := func(ctx context.Context) (int, error) {
		k := ctx.Value(attemptKey{}).(int) - 1 // copies start in turn, but may run in any order
		select {
		case <-time.After(sc.lat[k]):
			return k, sc.answer(k)
		case <-ctx.Done():
			return -1, ctx.Err()
		}
	}
	start := time.Now()
	v, err := retry.DoHedged(context.Background(), op, r.p)
	r.out.Winner, r.out.Err = v, err
	return r.finish(time.Now(), start)
}

// hedgeByEngine runs sc through the engine, a driver at explicit instants
// from t0: Begin, a Hedge every HedgeAfter while fewer than MaxInFlight
// copies run and none has answered, until one is refused; then the first
// copy to answer is reported, with Succeeded or Failed under the caller's
// context, and the losers with Failed under a context that is done.
func hedgeByEngine(t require.TestingT, sc hedgeScript, t0 time.Time) hedgeOutcome {
	r := newHedgeRig(t, sc)
	if sc.halfOpen {
		r.prime(t, t0)
		t0 = t0.Add(time.Second)
	}
	p, ctx := r.p, context.Background()
	_, pr, err := p.Begin(ctx, retry.Progress{}, t0)
	require.NoError(t, err)
	copies := []retry.Progress{pr}
	end := func(k int) time.Time { return t0.Add(time.Duration(k)*sc.delay + sc.lat[k]) }
	w := 0
	for k := 1; k < p.MaxInFlight(); k++ {
		at := t0.Add(time.Duration(k) * p.HedgeAfter())
		if !at.Before(end(w)) {
			break // the call is over before the next hedge
		}
		_, hp, err := p.Hedge(ctx, copies[k-1], at)
		if err != nil {
			break // no further hedge this call
		}
		copies = append(copies, hp)
		if end(k).Before(end(w)) {
			w = k
		}
	}
	if err := sc.answer(w); err == nil {
		require.NoError(t, p.Succeeded(ctx, copies[w], end(w)))
	} else {
		v := p.Failed(ctx, copies[w], err, end(w))
		require.Error(t, v.Err, "a stop ends the call, even while other copies run")
		require.Zero(t, v.Wait)
		r.out.Err = v.Err
	}
	lost, cancel := context.WithCancel(ctx)
	cancel()
	for k, c := range copies {
		if k == w {
			continue
		}
		e := p.Failed(lost, c, lost.Err(), end(w)).Err
		if r.out.Err == nil {
			require.ErrorIs(t, e, context.Canceled)
		} else {
			require.EqualError(t, e, "retry: hedged call: another copy ended the call after "+
				strconv.Itoa(e.(*retry.Error).Attempts)+" attempts: context canceled")
		}
	}
	r.out.Winner = w
	return r.finish(end(w), t0)
}

func drawHedgeScript(t *rapid.T) hedgeScript {
	sc := hedgeScript{
		delay:    time.Duration(rapid.SampledFrom([]int{0, 5, 10, 20}).Draw(t, "delay")) * time.Millisecond,
		inFlight: rapid.IntRange(2, 4).Draw(t, "inFlight"),
		attempts: rapid.IntRange(0, 4).Draw(t, "attempts"),
		capacity: rapid.IntRange(0, 3).Draw(t, "capacity"),
		halfOpen: rapid.Bool().Draw(t, "halfOpen"),
		adaptive: rapid.Bool().Draw(t, "adaptive"),
	}
	for k := range sc.lat {
		sc.lat[k] = time.Duration(rapid.IntRange(1, 60).Draw(t, "latency"))*time.Millisecond + time.Duration(k+1)*time.Microsecond
		sc.fail[k] = rapid.SampledFrom([]stopKind{succeeds, succeeds, permanent, notIdempotent}).Draw(t, "fail")
	}
	return sc
}

// For any script of copies and any hedging policy with a budget and a
// breaker, a driver of the engine (Begin, Hedge, Succeeded, Failed) and
// DoHedged send the same copies, pick the same winner, tell the observer
// the same (every event and the context it gets, in order: the hedges'
// AttemptStart marked Hedge, the winner's AttemptEnd, the losers' marked
// Lost, and one Done, after them, with the call's Attempts and Hedges and
// the winner's context), leave the budget and the breaker in the same
// state, and, with WithAdaptiveHedge, feed its HedgeDelay the same
// latencies (the winner's, and the losers' that ran for the delay).
func TestEngineHedgeMatchesDoHedged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rapid.Check(hedgeBubbleT{t}, func(rt *rapid.T) {
			sc := drawHedgeScript(rt)
			do := hedgeByDo(rt, sc)
			engine := hedgeByEngine(rt, sc, time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC))
			if !assert.Equal(rt, do, engine) {
				rt.Fatalf("script %+v", sc)
			}
			if sc.adaptive && sc.delay > 0 && engine.Err == nil && len(engine.Observed) == 0 {
				rt.Fatalf("the adaptive delay was not fed the winner's latency: %v", engine.Observed)
			}
		})
	})
}

func TestEngineHedgeMatchesDoHedgedTable(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name   string
		sc     hedgeScript
		copies int
		winner int
	}{
		{"the first answers before the delay", hedgeScript{lat: [4]time.Duration{5 * ms, 1 * ms, 1 * ms, 1 * ms}, delay: 10 * ms, inFlight: 3}, 1, 0},
		{"a hedge wins", hedgeScript{lat: [4]time.Duration{50 * ms, 5 * ms, 1 * ms, 1 * ms}, delay: 10 * ms, inFlight: 3}, 2, 1},
		{"every copy at once", hedgeScript{lat: [4]time.Duration{50 * ms, 40 * ms, 30 * ms, 20 * ms}, inFlight: 4}, 4, 3},
		{"the attempt limit", hedgeScript{lat: [4]time.Duration{50 * ms, 30 * ms, 1 * ms, 1 * ms}, delay: 10 * ms, inFlight: 4, attempts: 2}, 2, 1},
		{"the budget stops hedges", hedgeScript{lat: [4]time.Duration{50 * ms, 30 * ms, 1 * ms, 1 * ms}, delay: 10 * ms, inFlight: 4, capacity: 1}, 2, 1},
		{"a half-open breaker refuses the hedge", hedgeScript{lat: [4]time.Duration{50 * ms, 1 * ms, 1 * ms, 1 * ms}, delay: 10 * ms, inFlight: 3, capacity: 2, halfOpen: true}, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k := range tc.sc.lat {
				tc.sc.lat[k] += time.Duration(k+1) * time.Microsecond
			}
			synctest.Test(t, func(t *testing.T) {
				do := hedgeByDo(t, tc.sc)
				engine := hedgeByEngine(t, tc.sc, time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC))
				assert.Equal(t, do, engine)
				assert.Len(t, engine.starts(), tc.copies)
				assert.Equal(t, tc.winner, engine.Winner)
				for k, s := range engine.starts() {
					assert.Equal(t, retry.AttemptStartInfo{Attempt: k + 1, MaxAttempts: tc.sc.attempts, Hedge: k > 0}, s)
				}
				require.Len(t, engine.done(), 1, "one Done per call")
				assert.Equal(t, tc.copies, engine.done()[0].Attempts)
				assert.Equal(t, tc.copies-1, engine.done()[0].Hedges)
				assert.Equal(t, tc.winner+1, engine.Events[len(engine.Events)-1].Ctx, "the Done gets the winner's context")
			})
		})
	}
}

var hedgeT0 = time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)

func TestEngineHedgeRefusals(t *testing.T) {
	ctx := context.Background()
	budget := func(t *testing.T, capacity float64) *retry.Budget {
		b, err := retry.NewBudget(retry.BudgetConfig{Capacity: capacity})
		require.NoError(t, err)
		return b
	}
	t.Run("the budget refuses, and the call goes on", func(t *testing.T) {
		b := budget(t, 1)
		var events int
		p, err := retry.NewPolicy(retry.WithHedge(10*time.Millisecond, 4), retry.WithBudget(b),
			retry.WithObserver(&retry.Observer{
				AttemptStart: func(ctx context.Context, _ retry.AttemptStartInfo) context.Context { events++; return ctx },
				Done:         func(context.Context, retry.DoneInfo) { events++ },
			}))
		require.NoError(t, err)
		_, first, err := p.Begin(ctx, retry.Progress{}, hedgeT0)
		require.NoError(t, err)
		_, h1, err := p.Hedge(ctx, first, hedgeT0.Add(10*time.Millisecond))
		require.NoError(t, err)
		assert.Equal(t, 2, h1.Attempts)
		assert.Zero(t, b.TokensAt(hedgeT0))
		_, h2, err := p.Hedge(ctx, h1, hedgeT0.Add(20*time.Millisecond))
		require.ErrorIs(t, err, retry.ErrBudgetExhausted)
		assert.Equal(t, "budget", retry.ReasonOf(err))
		assert.Equal(t, h1, h2, "a refusal returns pr")
		assert.Equal(t, 2, events, "a refusal is reported to nobody")
		require.NoError(t, p.Succeeded(ctx, first, hedgeT0.Add(25*time.Millisecond)))
		assert.Equal(t, 2, events, "the call's Done comes with its last copy")
		require.ErrorIs(t, p.Failed(canceledCtx(), h1, context.Canceled, hedgeT0.Add(25*time.Millisecond)).Err, context.Canceled)
		assert.Equal(t, 3, events)
	})
	t.Run("past the elapsed limit, as DoHedged sends no hedge", func(t *testing.T) {
		b := budget(t, 10)
		p, err := retry.NewPolicy(retry.WithHedge(10*time.Millisecond, 2), retry.WithMaxElapsed(time.Second), retry.WithBudget(b))
		require.NoError(t, err)
		_, first, err := p.Begin(ctx, retry.Progress{}, hedgeT0)
		require.NoError(t, err)
		_, h, err := p.Hedge(ctx, first, hedgeT0.Add(999*time.Millisecond))
		require.NoError(t, err, "within the limit")
		require.ErrorIs(t, p.Failed(canceledCtx(), h, context.Canceled, hedgeT0.Add(999*time.Millisecond)).Err, context.Canceled) // the loser counts as nothing
		tokens := b.TokensAt(hedgeT0.Add(time.Second))
		_, same, err := p.Hedge(ctx, first, hedgeT0.Add(time.Second))
		require.ErrorIs(t, err, retry.ErrMaxElapsed)
		assert.Equal(t, first, same, "a refusal returns pr")
		assert.Equal(t, tokens, b.TokensAt(hedgeT0.Add(time.Second)), "nothing withdrawn")
		require.NoError(t, p.Succeeded(ctx, first, hedgeT0.Add(time.Second)))
	})
	t.Run("the breaker refuses, and the budget gets its tokens back", func(t *testing.T) {
		b := budget(t, 2)
		br, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second})
		require.NoError(t, err)
		p, err := retry.NewPolicy(retry.WithHedge(0, 2), retry.WithBudget(b), retry.WithBreaker(br), retry.WithMaxAttempts(1))
		require.NoError(t, err)
		_, first, err := p.Begin(ctx, retry.Progress{}, hedgeT0)
		require.NoError(t, err)
		require.Error(t, p.Failed(ctx, first, errHedgeOp, hedgeT0).Err) // opens the circuit
		require.Equal(t, retry.BreakerOpen, br.StateAt(hedgeT0))
		p2, err := p.With(retry.WithMaxAttempts(0))
		require.NoError(t, err)
		_, second, err := p2.Begin(ctx, retry.Progress{}, hedgeT0.Add(time.Second)) // the half-open probe
		require.NoError(t, err)
		before := b.TokensAt(hedgeT0.Add(time.Second))
		_, _, err = p2.Hedge(ctx, second, hedgeT0.Add(time.Second))
		require.ErrorIs(t, err, retry.ErrCircuitOpen)
		assert.Equal(t, before, b.TokensAt(hedgeT0.Add(time.Second)))
		assert.Equal(t, uint64(1), br.Stats().Rejected)
		require.NoError(t, p2.Succeeded(ctx, second, hedgeT0.Add(time.Second)))
		assert.Equal(t, retry.BreakerClosed, br.StateAt(hedgeT0.Add(time.Second)))
	})
	t.Run("the attempt limit", func(t *testing.T) {
		p, err := retry.NewPolicy(retry.WithHedge(0, 3), retry.WithMaxAttempts(2))
		require.NoError(t, err)
		_, first, err := p.Begin(ctx, retry.Progress{}, hedgeT0)
		require.NoError(t, err)
		_, h, err := p.Hedge(ctx, first, hedgeT0)
		require.NoError(t, err)
		_, _, err = p.Hedge(ctx, h, hedgeT0)
		require.ErrorIs(t, err, retry.ErrExhausted)
	})
	t.Run("a context that is done", func(t *testing.T) {
		p, err := retry.NewPolicy(retry.WithHedge(0, 3))
		require.NoError(t, err)
		_, first, err := p.Begin(ctx, retry.Progress{}, hedgeT0)
		require.NoError(t, err)
		why := errors.New("shutting down")
		done, cancel := context.WithCancelCause(ctx)
		cancel(why)
		_, _, err = p.Hedge(done, first, hedgeT0)
		require.ErrorIs(t, err, why)
	})
}

func TestEngineHedgeReportsOnce(t *testing.T) {
	ctx := context.Background()
	p, err := retry.NewPolicy(retry.WithHedge(time.Millisecond, 2))
	require.NoError(t, err)
	_, first, err := p.Begin(ctx, retry.Progress{}, hedgeT0)
	require.NoError(t, err)
	_, h, err := p.Hedge(ctx, first, hedgeT0.Add(time.Millisecond))
	require.NoError(t, err)
	later := hedgeT0.Add(2 * time.Millisecond)
	require.NoError(t, p.Succeeded(ctx, h, later))
	assert.ErrorIs(t, p.Succeeded(ctx, h, later), retry.ErrDuplicateReport)
	assert.ErrorIs(t, p.Failed(ctx, h, errHedgeOp, later).Err, retry.ErrDuplicateReport)
	lost, cancel := context.WithCancel(ctx)
	cancel()
	// The hedge's admission is its own: Begin refuses it as a running attempt.
	_, _, err = p.Begin(ctx, first, later)
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	assert.ErrorIs(t, p.Failed(lost, first, context.Canceled, later).Err, context.Canceled)
	assert.ErrorIs(t, p.Failed(lost, first, context.Canceled, later).Err, retry.ErrDuplicateReport)
	// The call is over: no copy joins it.
	_, _, err = p.Hedge(ctx, h, later)
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
}

func TestEngineHedgeBadInput(t *testing.T) {
	ctx := context.Background()
	hedging, err := retry.NewPolicy(retry.WithHedge(time.Millisecond, 2))
	require.NoError(t, err)
	plain, err := retry.NewPolicy()
	require.NoError(t, err)
	_, begun, err := hedging.Begin(ctx, retry.Progress{}, hedgeT0)
	require.NoError(t, err)
	defer hedging.Succeeded(ctx, begun, hedgeT0)
	tests := []struct {
		name string
		p    *retry.Policy
		ctx  context.Context
		pr   retry.Progress
		now  time.Time
	}{
		{"nil policy", nil, ctx, begun, hedgeT0},
		{"zero policy", &retry.Policy{}, ctx, begun, hedgeT0},
		{"a policy that does not hedge", plain, ctx, begun, hedgeT0},
		{"nil context", hedging, nil, begun, hedgeT0},
		{"zero time", hedging, ctx, begun, time.Time{}},
		{"a call not begun", hedging, ctx, retry.Progress{}, hedgeT0},
		{"negative attempts", hedging, ctx, retry.Progress{Attempts: -1}, hedgeT0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := tc.p.Hedge(tc.ctx, tc.pr, tc.now)
			require.ErrorIs(t, err, retry.ErrInvalidConfig)
		})
	}
}

// A hedge whose AttemptStart panics is not sent: the budget gets its
// tokens back and a half-open probe slot is freed.
func TestEngineHedgeStartPanics(t *testing.T) {
	ctx := context.Background()
	b, err := retry.NewBudget(retry.BudgetConfig{Capacity: 2})
	require.NoError(t, err)
	br, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second, HalfOpenProbes: 2})
	require.NoError(t, err)
	panics := false
	p, err := retry.NewPolicy(retry.WithHedge(0, 2), retry.WithBudget(b), retry.WithBreaker(br),
		retry.WithObserver(&retry.Observer{AttemptStart: func(ctx context.Context, e retry.AttemptStartInfo) context.Context {
			if panics && e.Hedge {
				panic("observer")
			}
			return ctx
		}}))
	require.NoError(t, err)
	_, pr, err := p.Begin(ctx, retry.Progress{}, hedgeT0)
	require.NoError(t, err)
	require.Error(t, p.Failed(ctx, pr, retry.NotIdempotent(errHedgeOp), hedgeT0).Err) // a failure: opens the circuit
	require.Equal(t, retry.BreakerOpen, br.StateAt(hedgeT0))

	at := hedgeT0.Add(time.Second)
	_, first, err := p.Begin(ctx, retry.Progress{}, at) // probe 1 of 2
	require.NoError(t, err)
	tokens := b.TokensAt(at)
	panics = true
	require.PanicsWithValue(t, "observer", func() { _, _, _ = p.Hedge(ctx, first, at) })
	panics = false
	assert.Equal(t, tokens, b.TokensAt(at), "the budget got its tokens back")
	_, h, err := p.Hedge(ctx, first, at) // probe 2 of 2: the slot was freed
	require.NoError(t, err)
	require.NoError(t, p.Succeeded(ctx, first, at))
	require.NoError(t, p.Succeeded(ctx, h, at))
	assert.Equal(t, retry.BreakerClosed, br.StateAt(at))
}

func TestEngineHedgeAfter(t *testing.T) {
	fixed, err := retry.NewPolicy(retry.WithHedge(15*time.Millisecond, 2))
	require.NoError(t, err)
	assert.Equal(t, 15*time.Millisecond, fixed.HedgeAfter())
	d, err := retry.NewHedgeDelay(0.9, 40*time.Millisecond)
	require.NoError(t, err)
	adaptive, err := retry.NewPolicy(retry.WithAdaptiveHedge(d, 3))
	require.NoError(t, err)
	assert.Equal(t, 40*time.Millisecond, adaptive.HedgeAfter(), "the initial delay during warm-up")
	for range 2000 {
		d.Observe(10 * time.Millisecond)
	}
	assert.Equal(t, d.Delay(), adaptive.HedgeAfter())
	assert.InDelta(t, float64(10*time.Millisecond), float64(adaptive.HedgeAfter()), float64(10*time.Millisecond)/64+1)
	off, err := fixed.With(retry.WithHedge(0, 1))
	require.NoError(t, err)
	assert.Zero(t, off.HedgeAfter())
	assert.Zero(t, (*retry.Policy)(nil).HedgeAfter())
	assert.Zero(t, (&retry.Policy{}).HedgeAfter())
}

// Every copy fails: the copies that fail while another runs are reported
// as nothing, the last with Failed under the caller's context, and the
// decision is DoHedged's: the same attempts, the same reason, the same
// budget.
func TestEngineHedgeLastFailureDecides(t *testing.T) {
	newPolicy := func(t *testing.T) (*retry.Policy, *retry.Budget) {
		b, err := retry.NewBudget(retry.BudgetConfig{Capacity: 3})
		require.NoError(t, err)
		p, err := retry.NewPolicy(retry.WithHedge(10*time.Millisecond, 2), retry.WithMaxAttempts(3), retry.WithBudget(b),
			retry.WithBackoff(retry.Constant(100*time.Millisecond)), retry.WithJitter(retry.NoJitter))
		require.NoError(t, err)
		return p, b
	}
	lat := []time.Duration{30 * time.Millisecond, 25 * time.Millisecond, 5 * time.Millisecond}
	var doErr error
	var doTokens float64
	synctest.Test(t, func(t *testing.T) {
		p, b := newPolicy(t)
		var mu sync.Mutex
		n := 0
		_, doErr = retry.DoHedged(context.Background(), func(ctx context.Context) (int, error) {
			mu.Lock()
			k := n
			n++
			mu.Unlock()
			time.Sleep(lat[k])
			return 0, errHedgeOp
		}, p)
		doTokens = b.TokensAt(time.Now())
	})

	p, b := newPolicy(t)
	ctx := context.Background()
	lost, cancel := context.WithCancel(ctx)
	cancel()
	t0 := hedgeT0
	_, c1, err := p.Begin(ctx, retry.Progress{}, t0)
	require.NoError(t, err)
	_, c2, err := p.Hedge(ctx, c1, t0.Add(p.HedgeAfter())) // at 10ms, ends at 35ms
	require.NoError(t, err)
	// Copy 1 fails at 30ms while copy 2 runs: nothing; no hedge is left
	// under the attempt limit after the retry, so none is sent now.
	require.ErrorIs(t, p.Failed(lost, c1, errHedgeOp, t0.Add(30*time.Millisecond)).Err, context.Canceled)
	// Copy 2 fails last, at 35ms: the decision, on the call's count (the
	// engine knows it: the driver sets nothing).
	v := p.Failed(ctx, c1, errHedgeOp, t0.Add(35*time.Millisecond))
	require.ErrorIs(t, v.Err, retry.ErrDuplicateReport)
	v = p.Failed(ctx, c2, errHedgeOp, t0.Add(35*time.Millisecond))
	require.NoError(t, v.Err)
	assert.Equal(t, 100*time.Millisecond, v.Wait)
	// The retry, alone (one attempt left): it fails, and the call is over.
	at := t0.Add(35*time.Millisecond + v.Wait)
	_, c3, err := p.Begin(ctx, v.Next, at)
	require.NoError(t, err)
	_, _, err = p.Hedge(ctx, c3, at.Add(p.HedgeAfter()))
	require.ErrorIs(t, err, retry.ErrExhausted)
	v = p.Failed(ctx, c3, errHedgeOp, at.Add(5*time.Millisecond))
	require.Error(t, v.Err)

	assert.Equal(t, doErr.Error(), v.Err.Error())
	assert.Equal(t, retry.ReasonOf(doErr), retry.ReasonOf(v.Err))
	assert.Equal(t, doTokens, b.TokensAt(at))
}

// A call of a hedging policy that is not hedged allocates nothing in the
// steady state; a hedged one allocates the record its copies share, once,
// at its first Hedge, whatever the number of hedges.
func TestEngineHedgeAllocs(t *testing.T) {
	p, err := retry.NewPolicy(retry.WithHedge(time.Millisecond, 3))
	require.NoError(t, err)
	ctx := context.Background()
	unhedged := testing.AllocsPerRun(100, func() {
		_, first, _ := p.Begin(ctx, retry.Progress{}, hedgeT0)
		_ = p.Succeeded(ctx, first, hedgeT0)
	})
	assert.Zero(t, unhedged)
	hedged := testing.AllocsPerRun(100, func() {
		_, first, _ := p.Begin(ctx, retry.Progress{}, hedgeT0)
		_, h, err := p.Hedge(ctx, first, hedgeT0)
		if err != nil {
			panic(err)
		}
		_, h2, err := p.Hedge(ctx, h, hedgeT0)
		if err != nil {
			panic(err)
		}
		_ = p.Succeeded(ctx, h, hedgeT0)
		_ = p.Succeeded(ctx, first, hedgeT0) // a late success: a loser
		_ = p.Succeeded(ctx, h2, hedgeT0)
	})
	assert.Equal(t, 1.0, hedged)
}

// canceledCtx is a context that is done: a report under it counts as
// nothing (a cancelled copy).
func canceledCtx() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
