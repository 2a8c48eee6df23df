package retry_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/retrykit/retry"
)

// hedgeScript is a hedged call in which every copy succeeds: copy k, sent
// at k·delay if the call still runs then, answers lat[k] later. Each
// latency ends in (k+1) µs, so no two copies end together and no copy
// ends as another starts (delays are whole milliseconds).
type hedgeScript struct {
	lat      [4]time.Duration
	delay    time.Duration
	inFlight int  // 2 to 4
	attempts int  // WithMaxAttempts; 0: none
	capacity int  // the budget's Capacity; 0: no budget
	halfOpen bool // the call starts with the breaker half-open (one probe)
}

// attemptKey keys the attempt's number in its context.
type attemptKey struct{}

// hedgeOutcome is what a driver of the script leaves behind.
type hedgeOutcome struct {
	Winner   int // the copy whose value the call returned
	Starts   []retry.AttemptStartInfo
	WinEnd   retry.AttemptEndInfo // the winner's AttemptEnd
	Tokens   float64              // the budget's, when the call ended
	Stats    retry.BreakerStats
	State    retry.BreakerState
	Duration time.Duration // of the call
}

// hedgeRig is the policy of a script, with its own budget, breaker and
// observer, so that each driver starts from the same state.
type hedgeRig struct {
	p      *retry.Policy
	budget *retry.Budget
	br     *retry.Breaker
	mu     sync.Mutex
	out    hedgeOutcome
}

func newHedgeRig(t require.TestingT, sc hedgeScript) *hedgeRig {
	r := &hedgeRig{}
	var err error
	r.br, err = retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second, HalfOpenProbes: 1})
	require.NoError(t, err)
	opts := []retry.Option{retry.WithHedge(sc.delay, sc.inFlight), retry.WithMaxAttempts(sc.attempts),
		retry.WithBreaker(r.br), retry.WithObserver(&retry.Observer{
			AttemptStart: func(ctx context.Context, e retry.AttemptStartInfo) context.Context {
				r.mu.Lock()
				defer r.mu.Unlock()
				r.out.Starts = append(r.out.Starts, e)
				return context.WithValue(ctx, attemptKey{}, e.Attempt)
			},
			AttemptEnd: func(_ context.Context, e retry.AttemptEndInfo) {
				r.mu.Lock()
				defer r.mu.Unlock()
				if e.Err == nil && !e.Lost {
					r.out.WinEnd = e
				}
			},
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
			return k, nil
		case <-ctx.Done():
			return -1, ctx.Err()
		}
	}
	start := time.Now()
	v, err := retry.DoHedged(context.Background(), op, r.p)
	require.NoError(t, err)
	r.out.Winner = v
	return r.finish(time.Now(), start)
}

// hedgeByEngine runs sc through the engine, a driver at explicit instants
// from t0: Begin, a Hedge every HedgeAfter while fewer than MaxInFlight
// copies run and none has answered, until one is refused; then the winner
// is reported with Succeeded and the losers with Failed under a context
// that is done.
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
	require.NoError(t, p.Succeeded(ctx, copies[w], end(w)))
	lost, cancel := context.WithCancel(ctx)
	cancel()
	for k, c := range copies {
		if k != w {
			require.ErrorIs(t, p.Failed(lost, c, lost.Err(), end(w)).Err, context.Canceled)
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
	}
	for k := range sc.lat {
		sc.lat[k] = time.Duration(rapid.IntRange(1, 60).Draw(t, "latency"))*time.Millisecond + time.Duration(k+1)*time.Microsecond
	}
	return sc
}

// For any script of copies and any hedging policy with a budget and a
// breaker, a driver of the engine (Begin, Hedge, Succeeded, Failed) and
// DoHedged send the same copies (the observer's AttemptStart events),
// pick the same winner (its AttemptEnd, duration included), and leave the
// budget and the breaker in the same state.
func TestEngineHedgeMatchesDoHedged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rapid.Check(hedgeBubbleT{t}, func(rt *rapid.T) {
			sc := drawHedgeScript(rt)
			do := hedgeByDo(rt, sc)
			engine := hedgeByEngine(rt, sc, time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC))
			if !assert.Equal(rt, do, engine) {
				rt.Fatalf("script %+v", sc)
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
				assert.Len(t, engine.Starts, tc.copies)
				assert.Equal(t, tc.winner, engine.Winner)
				for k, s := range engine.Starts {
					assert.Equal(t, retry.AttemptStartInfo{Attempt: k + 1, MaxAttempts: tc.sc.attempts, Hedge: k > 0}, s)
				}
			})
		})
	}
}
