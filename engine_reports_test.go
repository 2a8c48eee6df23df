package retry

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// The engine's reports (issue 20, item 5): every attempt Begin admits is
// reported once; a second report of it, from the same Progress or a copy,
// and a report of an attempt that never began, are refused and change
// nothing in the budget, the breaker or the observer.

var engineT0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// begin is Begin that must succeed.
func begin(t testing.TB, p *Policy, pr Progress, now time.Time) (context.Context, Progress) {
	t.Helper()
	ctx, next, err := p.Begin(context.Background(), pr, now)
	require.NoError(t, err)
	return ctx, next
}

// TestEngineSecondReportOfAProbe: Succeeded twice on one half-open probe
// does not close a breaker that needs two successes while the other probe
// still runs.
func TestEngineSecondReportOfAProbe(t *testing.T) {
	br := mustBreaker(t, BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second, HalfOpenProbes: 2})
	p, err := NewPolicy(WithBreaker(br), WithBackoff(Constant(0)))
	require.NoError(t, err)
	ctx, pr := begin(t, p, Progress{}, engineT0)
	require.ErrorIs(t, p.Failed(ctx, pr, errProp, engineT0).Err, ErrCircuitOpen) // trips it
	half := engineT0.Add(time.Second)
	actx, a := begin(t, p, Progress{}, half)
	bctx, b := begin(t, p, Progress{}, half)

	require.NoError(t, p.Succeeded(actx, a, half))
	copied := a
	for _, again := range []Progress{a, copied} {
		err := p.Succeeded(actx, again, half)
		require.ErrorIs(t, err, ErrDuplicateReport)
		assert.ErrorContains(t, err, "second report")
	}
	assert.Equal(t, BreakerHalfOpen, br.StateAt(half), "one success of two, the other probe still running")
	require.NoError(t, p.Succeeded(bctx, b, half))
	assert.Equal(t, BreakerClosed, br.StateAt(half))
}

// TestEngineSecondFailedReport: Failed twice on one Progress counts one
// failure: a breaker that opens after two stays closed.
func TestEngineSecondFailedReport(t *testing.T) {
	br := mustBreaker(t, BreakerConfig{FailureThreshold: 2, RecoveryTimeout: time.Hour})
	bu, err := NewBudget(BudgetConfig{Capacity: 10})
	require.NoError(t, err)
	p, err := NewPolicy(WithBreaker(br), WithBudget(bu), WithBackoff(Constant(0)))
	require.NoError(t, err)
	ctx, pr := begin(t, p, Progress{}, engineT0)
	v := p.Failed(ctx, pr, errProp, engineT0)
	require.NoError(t, v.Err)
	again := p.Failed(ctx, pr, errProp, engineT0)
	require.ErrorIs(t, again.Err, ErrDuplicateReport)
	assert.Equal(t, pr.Attempts, again.Next.Attempts)
	assert.Nil(t, again.Next.adm, "a refused report hands back no admission")
	assert.Equal(t, BreakerClosed, br.StateAt(engineT0), "one failure")
	assert.Equal(t, BreakerStats{Failures: 1}, br.Stats())
	assert.Equal(t, BudgetStats{Allowed: 1}, bu.Stats(), "one retry granted")
	assert.Equal(t, 9.0, bu.TokensAt(engineT0))
}

// TestEngineReportsOfNoAttempt: Succeeded twice, plus once on the zero
// Progress, deposits one token where PerSuccess is 1; Failed on the zero
// Progress withdraws nothing either.
func TestEngineReportsOfNoAttempt(t *testing.T) {
	bu, err := NewBudget(BudgetConfig{Capacity: 10, PerSuccess: 1})
	require.NoError(t, err)
	p, err := NewPolicy(WithBudget(bu), WithBackoff(Constant(0)), WithMaxAttempts(0))
	require.NoError(t, err)
	var pr Progress
	for range 5 { // spend 5 tokens on retries
		ctx, next := begin(t, p, pr, engineT0)
		v := p.Failed(ctx, next, errProp, engineT0)
		require.NoError(t, v.Err)
		pr = v.Next
	}
	require.Equal(t, 5.0, bu.TokensAt(engineT0))

	ctx, next := begin(t, p, pr, engineT0)
	require.NoError(t, p.Succeeded(ctx, next, engineT0))
	assert.ErrorIs(t, p.Succeeded(ctx, next, engineT0), ErrDuplicateReport)
	err = p.Succeeded(ctx, Progress{}, engineT0)
	assert.ErrorIs(t, err, ErrInvalidConfig)
	assert.ErrorContains(t, err, "not begun")
	v := p.Failed(context.Background(), Progress{}, errProp, engineT0)
	assert.ErrorIs(t, v.Err, ErrInvalidConfig)
	assert.Equal(t, Progress{}, v.Next)
	assert.Equal(t, 6.0, bu.TokensAt(engineT0), "one deposit, nothing withdrawn")
	assert.Equal(t, BudgetStats{Allowed: 5}, bu.Stats())

	_, _, err = p.Begin(context.Background(), next, engineT0)
	assert.ErrorIs(t, err, ErrInvalidConfig, "the Progress of an attempt already begun is not begun again")
}

// TestEngineStoredProgressDecidesAgain: a Progress decoded from storage,
// whose latest attempt's report was lost (its worker died), is reported
// to Failed without Begin: the limits and the budget decide its retry
// again; the breaker, which never admitted it in this process, hears
// nothing.
func TestEngineStoredProgressDecidesAgain(t *testing.T) {
	br := mustBreaker(t, BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Hour})
	bu, err := NewBudget(BudgetConfig{Capacity: 2})
	require.NoError(t, err)
	p, err := NewPolicy(WithBreaker(br), WithBudget(bu), WithBackoff(Constant(time.Second)), WithJitter(NoJitter), WithMaxAttempts(3))
	require.NoError(t, err)
	var stored Progress
	require.NoError(t, json.Unmarshal([]byte(`{"attempts":2,"start":"2030-01-01T00:00:00Z","prev":1000000000}`), &stored))
	v := p.Failed(context.Background(), stored, errProp, engineT0.Add(5*time.Second))
	require.NoError(t, v.Err)
	assert.Equal(t, time.Second, v.Wait)
	assert.Equal(t, 1.0, bu.TokensAt(engineT0), "the retry is paid for")
	assert.Equal(t, BreakerClosed, br.StateAt(engineT0), "no admission, no breaker outcome")
	v = p.Failed(context.Background(), Progress{Attempts: 3, Start: engineT0}, errProp, engineT0)
	assert.ErrorIs(t, v.Err, ErrExhausted)
}

// job is an attempt in flight between the code that begins it and the code
// that reports it, as a dispatcher hands it to a worker through a queue.
type job struct {
	id  int
	ctx context.Context
	pr  Progress
	ok  bool
}

// TestPropRedeliveredReportsChangeNothing: the redelivery pattern. A
// dispatcher begins attempts and puts them on a queue; the workers report
// each outcome. An at-least-once queue delivers some jobs twice or three
// times, in any order: the budget, the breaker and the observer end
// exactly as when every job is delivered once, and every extra delivery's
// report is refused.
func TestPropRedeliveredReportsChangeNothing(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(1, 40).Draw(rt, "jobs")
		oks := rapid.SliceOfN(rapid.Bool(), n, n).Draw(rt, "oks")
		copies := rapid.SliceOfN(rapid.IntRange(1, 3), n, n).Draw(rt, "deliveries")
		seed := rapid.Uint64().Draw(rt, "shuffle")
		once := runJobs(rt, oks, copies, seed, true)
		twice := runJobs(rt, oks, copies, seed, false)
		if once.state != twice.state {
			rt.Fatalf("delivered at least once: %+v\ndelivered once:       %+v", twice.state, once.state)
		}
		extra := 0
		for _, c := range copies {
			extra += c - 1
		}
		if twice.refused != extra {
			rt.Fatalf("%d reports refused, %d extra deliveries", twice.refused, extra)
		}
	})
}

// jobState is what the jobs left behind in the shared budget, breaker and
// observer.
type jobState struct {
	budget  BudgetStats
	tokens  float64
	breaker BreakerStats
	state   BreakerState
	events  int
}

type jobRun struct {
	state   jobState
	refused int
}

// runJobs begins len(oks) attempts, one call each, then reports them in
// waves of up to 4 (a breaker with 4 probes), each job delivered copies[i]
// times in an order shuffled by seed; once keeps only the first delivery
// of each job, in the same order.
func runJobs(t *rapid.T, oks []bool, copies []int, seed uint64, once bool) jobRun {
	br, err := NewBreaker(BreakerConfig{FailureThreshold: 3, RecoveryTimeout: time.Second, HalfOpenProbes: 4})
	if err != nil {
		t.Fatal(err)
	}
	bu, err := NewBudget(BudgetConfig{Capacity: 5, PerSuccess: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	var r jobRun
	count := func(context.Context, AttemptEndInfo) { r.state.events++ }
	p, err := NewPolicy(WithBreaker(br), WithBudget(bu), WithBackoff(Constant(0)),
		WithObserver(&Observer{AttemptEnd: count, Done: func(context.Context, DoneInfo) { r.state.events++ }}))
	if err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(seed, 1))
	now := engineT0
	for wave := 0; wave < len(oks); wave += 4 {
		var queue []job
		for i := wave; i < min(wave+4, len(oks)); i++ {
			ctx, pr, err := p.Begin(context.Background(), Progress{}, now)
			if err != nil {
				continue // the breaker refused it: nothing to report
			}
			for range copies[i] {
				queue = append(queue, job{i, ctx, pr, oks[i]})
			}
		}
		rnd.Shuffle(len(queue), func(i, j int) { queue[i], queue[j] = queue[j], queue[i] })
		delivered := map[int]bool{}
		for _, j := range queue {
			if once && delivered[j.id] {
				continue
			}
			delivered[j.id] = true
			var err error
			if j.ok {
				err = p.Succeeded(j.ctx, j.pr, now)
			} else {
				err = p.Failed(j.ctx, j.pr, errProp, now).Err
			}
			if err != nil && ReasonOf(err) == "duplicate_report" {
				r.refused++
			}
		}
		now = now.Add(time.Second)
	}
	r.state.budget, r.state.tokens = bu.Stats(), bu.TokensAt(now)
	r.state.breaker, r.state.state = br.Stats(), br.StateAt(now)
	return r
}

// TestEngineConcurrentDuplicateReports: two workers that got the same job
// report it at once; exactly one report is recorded (run under -race).
func TestEngineConcurrentDuplicateReports(t *testing.T) {
	bu, err := NewBudget(BudgetConfig{Capacity: 1000, PerSuccess: 1})
	require.NoError(t, err)
	p, err := NewPolicy(WithBudget(bu), WithBackoff(Constant(0)), WithMaxAttempts(0))
	require.NoError(t, err)
	// Spend 500 tokens, so that deposits show.
	var pr Progress
	for range 500 {
		ctx, next := begin(t, p, pr, engineT0)
		v := p.Failed(ctx, next, errProp, engineT0)
		require.NoError(t, v.Err)
		pr = v.Next
	}
	const jobs = 200
	var wg sync.WaitGroup
	var mu sync.Mutex
	recorded := 0
	for range jobs {
		ctx, next := begin(t, p, Progress{}, engineT0)
		for range 2 {
			wg.Go(func() {
				if p.Succeeded(ctx, next, engineT0) == nil {
					mu.Lock()
					recorded++
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	assert.Equal(t, jobs, recorded)
	assert.Equal(t, float64(500+jobs), bu.TokensAt(engineT0))
}

// TestEngineStartInTheFuture: a Progress whose Start is after now (a
// stored "9999-01-01", a clock stepped back) does not switch
// WithMaxElapsed off: the elapsed time counts from the earliest instant
// the call was given, and the call ends within the limit of it.
func TestEngineStartInTheFuture(t *testing.T) {
	p, err := NewPolicy(WithMaxElapsed(10*time.Second), WithBackoff(Constant(time.Second)),
		WithJitter(NoJitter), WithMaxAttempts(0))
	require.NoError(t, err)
	// drive runs the call from pr at now, each attempt failing at once,
	// and returns the instant it ended and its error; step moves the clock
	// after each attempt (a clock stepped back: negative).
	drive := func(t *testing.T, pr Progress, now time.Time, step func(n int) time.Duration) (time.Time, *Error) {
		for n := range 10_000 {
			ctx, next, err := p.Begin(context.Background(), pr, now)
			require.NoError(t, err)
			require.False(t, next.Start.After(now), "start %v after now %v", next.Start, now)
			v := p.Failed(ctx, next, errProp, now)
			if v.Err != nil {
				return now, v.Err.(*Error)
			}
			now = now.Add(v.Wait + step(n))
			pr = v.Next
		}
		t.Fatal("10,000 attempts under a 10s elapsed limit")
		return now, nil
	}
	t.Run("stored start 9999-01-01", func(t *testing.T) {
		var pr Progress
		require.NoError(t, json.Unmarshal([]byte(`{"attempts":1,"start":"9999-01-01T00:00:00Z"}`), &pr))
		end, e := drive(t, pr, engineT0, func(int) time.Duration { return 0 })
		assert.ErrorIs(t, e, ErrMaxElapsed)
		assert.Equal(t, engineT0.Add(9*time.Second), end, "nine 1s waits, the tenth would end at the limit")
	})
	t.Run("clock stepped back an hour", func(t *testing.T) {
		var steppedAt time.Time
		end, e := drive(t, Progress{}, engineT0, func(n int) time.Duration {
			if n == 3 {
				return -time.Hour
			}
			return 0
		})
		steppedAt = engineT0.Add(4*time.Second - time.Hour)
		assert.ErrorIs(t, e, ErrMaxElapsed)
		assert.False(t, end.After(steppedAt.Add(10*time.Second)), "ended at %v, the step at %v", end, steppedAt)
	})
	t.Run("stepped back between Begin and Failed", func(t *testing.T) {
		ctx, pr := begin(t, p, Progress{}, engineT0)
		v := p.Failed(ctx, pr, errProp, engineT0.Add(-time.Hour))
		require.NoError(t, v.Err)
		assert.Equal(t, engineT0.Add(-time.Hour), v.Next.Start, "the earliest instant given")
	})
}

// TestEngineRefusedBeginChangesNothing: Begin on a Progress that already
// holds an attempt, running or reported, is refused, and the attempt it
// holds is still reported once.
func TestEngineRefusedBeginChangesNothing(t *testing.T) {
	br := mustBreaker(t, BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second})
	p, err := NewPolicy(WithBreaker(br))
	require.NoError(t, err)
	ctx, pr := begin(t, p, Progress{}, engineT0)
	for i := range 3 {
		_, again, err := p.Begin(context.Background(), pr, engineT0)
		require.ErrorIs(t, err, ErrInvalidConfig, fmt.Sprint(i))
		assert.Equal(t, pr, again)
	}
	require.NoError(t, p.Succeeded(ctx, pr, engineT0))
	_, _, err = p.Begin(context.Background(), pr, engineT0)
	require.ErrorIs(t, err, ErrInvalidConfig, "a reported attempt's Progress is not begun again either")
	assert.Equal(t, BreakerStats{}, br.Stats())
}

// TestEngineSucceededNeedsAnAdmission: a success reported on a copy of the
// Progress that lost its admission (a JSON or binary round trip, after the
// real report) is refused and deposits nothing (review of issue 20, item 5:
// each decoded copy used to deposit again).
func TestEngineSucceededNeedsAnAdmission(t *testing.T) {
	bu, err := NewBudget(BudgetConfig{Capacity: 10, PerSuccess: 1, RetryCost: 5})
	require.NoError(t, err)
	clk := at(engineT0)
	require.True(t, bu.withdraw(false, &clk), "5 tokens left, so a deposit shows")
	p, err := NewPolicy(WithBudget(bu))
	require.NoError(t, err)
	ctx, pr, err := p.Begin(context.Background(), Progress{}, engineT0)
	require.NoError(t, err)
	js, err := json.Marshal(pr)
	require.NoError(t, err)
	bin, err := pr.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, p.Succeeded(ctx, pr, engineT0))
	after := bu.TokensAt(engineT0)
	var fromJSON, fromBin Progress
	require.NoError(t, json.Unmarshal(js, &fromJSON))
	require.NoError(t, fromBin.UnmarshalBinary(bin))
	for name, copy := range map[string]Progress{"json": fromJSON, "binary": fromBin} {
		err := p.Succeeded(ctx, copy, engineT0)
		require.ErrorIs(t, err, ErrInvalidConfig, name)
		assert.Equal(t, after, bu.TokensAt(engineT0), "%s: no second deposit", name)
	}
}
