package retry

import (
	"container/heap"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// selfTerminal is an error that says of itself it is not worth retrying.
type selfTerminal struct{}

func (selfTerminal) Error() string   { return "self-terminal" }
func (selfTerminal) Retryable() bool { return false }

// scenario is one drawn call: a policy recipe (built twice, so that each
// run has a fresh budget and breaker) and the outcomes of its attempts.
type scenario struct {
	opts     func(notify func(context.Context, RetryInfo)) []Option
	outcomes []error       // nil: success; past the end every attempt succeeds
	work     time.Duration // how long each attempt runs
	deadline time.Duration
}

// errStop is stopped by the classifier some scenarios draw.
var errStop = errors.New("property: stop")

func scenarioGen(rt *rapid.T) scenario {
	ms := func(label string, lo, hi int) time.Duration {
		return time.Duration(rapid.IntRange(lo, hi).Draw(rt, label)) * time.Millisecond
	}
	seed := rapid.Uint64().Draw(rt, "seed")
	attempts := rapid.IntRange(0, 8).Draw(rt, "attempts")
	var strategy Strategy = Exponential(ms("initial", 0, 100), rapid.Float64Range(1, 3).Draw(rt, "multiplier"))
	if rapid.IntRange(0, 4).Draw(rt, "zeroWaits") == 0 {
		strategy = Constant(0)
	}
	jitter := rapid.SampledFrom([]Jitter{NoJitter, FullJitter, EqualJitter, DecorrelatedJitter, ProportionalJitter(0.3)}).Draw(rt, "jitter")
	maxDelay := ms("maxDelay", 0, 500)
	maxElapsed := rapid.SampledFrom([]time.Duration{0, 0, 300 * time.Millisecond, 2 * time.Second}).Draw(rt, "maxElapsed")
	exact := rapid.Bool().Draw(rt, "exactHints")
	var budget *BudgetConfig
	if rapid.Bool().Draw(rt, "budget") {
		budget = &BudgetConfig{
			Capacity:   float64(rapid.IntRange(1, 4).Draw(rt, "capacity")),
			PerSuccess: rapid.SampledFrom([]float64{0, 0.5, 1}).Draw(rt, "perSuccess"),
			PerSecond:  rapid.SampledFrom([]float64{0, 0, 3}).Draw(rt, "perSecond"),
		}
	}
	var breaker *BreakerConfig
	if rapid.Bool().Draw(rt, "breaker") {
		breaker = &BreakerConfig{
			FailureThreshold: rapid.IntRange(1, 4).Draw(rt, "failureThreshold"),
			RecoveryTimeout:  ms("recovery", 1, 400),
		}
		if rapid.Bool().Draw(rt, "lengthen") {
			breaker.MaxRecoveryTimeout = 4 * breaker.RecoveryTimeout
		}
	}
	outcomes := rapid.SliceOfN(rapid.Custom(func(rt *rapid.T) error {
		switch rapid.IntRange(0, 9).Draw(rt, "kind") {
		case 0:
			return nil
		case 1:
			return Permanent(errProp)
		case 2:
			return After(ms("hint", 0, 700), errProp)
		case 3:
			return selfTerminal{}
		case 4:
			return errStop
		case 5:
			return TimedOut(errProp)
		default:
			return errProp
		}
	}), 0, 14).Draw(rt, "outcomes")
	// Attempts take whole milliseconds plus 1234ns and deadlines end 777ns
	// past a millisecond, so that an attempt never ends at the very instant
	// the deadline does (which of the two Do sees first is then up to the
	// scheduler, in a synctest bubble as anywhere).
	sc := scenario{outcomes: outcomes, work: ms("work", 0, 50) + 1234}
	classify := rapid.Bool().Draw(rt, "classifier")
	if rapid.IntRange(0, 3).Draw(rt, "hasDeadline") == 0 {
		sc.deadline = ms("deadline", 1, 3000) + 777
	}
	sc.opts = func(notify func(context.Context, RetryInfo)) []Option {
		opts := []Option{
			WithMaxAttempts(attempts), WithBackoff(strategy), WithJitter(jitter), WithMaxDelay(maxDelay),
			WithMaxElapsed(maxElapsed), WithRand(rand.New(rand.NewPCG(seed, 1))), WithNotify(notify),
		}
		if exact {
			opts = append(opts, WithExactHints())
		}
		if classify {
			opts = append(opts, WithClassifier(StopOn(errStop)))
		}
		if budget != nil {
			b, err := NewBudget(*budget)
			if err != nil {
				panic(err)
			}
			opts = append(opts, WithBudget(b))
		}
		if breaker != nil {
			b, err := NewBreaker(*breaker)
			if err != nil {
				panic(err)
			}
			opts = append(opts, WithBreaker(b))
		}
		return opts
	}
	return sc
}

// run is what one call did: when each attempt began (since the call began),
// what the notify hook saw, and how it ended.
type run struct {
	starts  []time.Duration
	notes   []RetryInfo
	err     *Error
	budget  BudgetStats
	breaker BreakerStats
}

func (sc scenario) outcome(i int) error {
	if i < len(sc.outcomes) {
		return sc.outcomes[i]
	}
	return nil
}

func statsOf(p *Policy) (BudgetStats, BreakerStats) {
	return p.cfg.budget.Stats(), p.cfg.breaker.Stats()
}

// viaDo runs the scenario through Do, in the caller's synctest bubble.
func (sc scenario) viaDo(t *rapid.T) run {
	var r run
	p, err := NewPolicy(sc.opts(func(_ context.Context, a RetryInfo) { r.notes = append(r.notes, a) })...)
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	ctx := context.Background()
	if sc.deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, sc.deadline)
		defer cancel()
	}
	start := time.Now()
	_, err = Do(ctx, func(context.Context) (int, error) {
		r.starts = append(r.starts, time.Since(start))
		time.Sleep(sc.work)
		return 0, sc.outcome(len(r.starts) - 1)
	}, p)
	if err != nil {
		r.err = err.(*Error)
	}
	r.budget, r.breaker = statsOf(p)
	return r
}

// viaEngine runs the scenario through Begin, Failed and Succeeded, with the
// time passed in and never slept.
func (sc scenario) viaEngine(t *rapid.T) run {
	var r run
	p, err := NewPolicy(sc.opts(func(_ context.Context, a RetryInfo) { r.notes = append(r.notes, a) })...)
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	start := time.Now()
	ctx := context.Background()
	if sc.deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, start.Add(sc.deadline))
		defer cancel()
	}
	now, pr := start, Progress{}
	// The engine never sleeps; the driver keeps the bubble's clock at now
	// only so that ctx's deadline ends when it would for Do.
	catchUp := func() { time.Sleep(time.Until(now)) }
	for {
		catchUp()
		actx, next, err := p.Begin(ctx, pr, now)
		if err != nil {
			r.err = err.(*Error)
			break
		}
		r.starts = append(r.starts, now.Sub(start))
		opErr := sc.outcome(len(r.starts) - 1)
		now = now.Add(sc.work)
		catchUp()
		if opErr == nil {
			if err := p.Succeeded(actx, next, now); err != nil {
				t.Fatalf("Succeeded: %v", err)
			}
			break
		}
		v := p.Failed(actx, next, opErr, now)
		if v.Err != nil {
			r.err = v.Err.(*Error)
			break
		}
		now, pr = now.Add(v.Wait), v.Next
	}
	r.budget, r.breaker = statsOf(p)
	return r
}

// TestPropEngineMatchesDo: a loop driven through the decision API makes the
// same attempts at the same instants, with the same waits, notifications,
// budget and breaker effects, and ends for the same reason as Do, for the
// same seed, policy and sequence of outcomes (hints, permanent errors,
// self-classified errors, budget refusals, breaker states, deadlines and
// elapsed limits included).
func TestPropEngineMatchesDo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for range 5 { // 500 calls: a difference that needs a rare draw still shows
			rapid.Check(bubbleT{t}, engineMatchesDo)
		}
	})
}

func engineMatchesDo(rt *rapid.T) {
	sc := scenarioGen(rt)
	want := sc.viaDo(rt)
	got := sc.viaEngine(rt)
	if fmt.Sprint(got.starts) != fmt.Sprint(want.starts) {
		rt.Fatalf("attempts began at %v, Do's at %v", got.starts, want.starts)
	}
	if fmt.Sprint(got.notes) != fmt.Sprint(want.notes) {
		rt.Fatalf("notified %v, Do %v", got.notes, want.notes)
	}
	if got.budget != want.budget || got.breaker != want.breaker {
		rt.Fatalf("budget %+v breaker %+v, Do's %+v %+v", got.budget, got.breaker, want.budget, want.breaker)
	}
	if (got.err == nil) != (want.err == nil) {
		rt.Fatalf("error %v, Do's %v", got.err, want.err)
	}
	if want.err == nil {
		return
	}
	if got.err.Attempts != want.err.Attempts || got.err.Reason != want.err.Reason {
		rt.Fatalf("error %v, Do's %v", got.err, want.err)
	}
	if errors.Is(want.err, ErrCircuitOpen) {
		return // Begin keeps no last error
	}
	if got.err.Last != want.err.Last || got.err.RetryAfter != want.err.RetryAfter {
		rt.Fatalf("error %#v, Do's %#v", got.err, want.err)
	}
}

// message is a queued piece of work: due at a virtual instant, with the
// retry progress stored beside it, as a queue would keep it in a header.
type message struct {
	id       int
	due      time.Time
	progress []byte // Progress.MarshalBinary, as a header would carry it
}

type queue []message

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	return q[i].due.Before(q[j].due) || q[i].due.Equal(q[j].due) && q[i].id < q[j].id
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(message)) }
func (q *queue) Pop() any {
	old := *q
	m := old[len(old)-1]
	*q = old[:len(old)-1]
	return m
}

// TestQueueRedeliveryMatchesDo: 10,000 messages, each failing a drawn
// number of times, are re-delivered by a simulated queue at now + the
// engine's wait, their progress stored in binary between deliveries, on
// the test's own goroutine: nothing blocks. Each message ends with exactly
// the attempts, reason and total wait that Do gives the same message.
func TestQueueRedeliveryMatchesDo(t *testing.T) {
	const n = 10_000
	policy := func(id int) *Policy {
		p, err := NewPolicy(WithMaxAttempts(5), WithBackoff(Exponential(10*time.Millisecond, 2)),
			WithJitter(DecorrelatedJitter), WithMaxDelay(time.Second), WithRand(rand.New(rand.NewPCG(uint64(id), 7))))
		require.NoError(t, err)
		return p
	}
	failures := func(id int) int { return id % 7 } // 0 to 6 failures, then success
	type result struct {
		attempts int
		reason   error
		waited   time.Duration
	}
	var viaQueue [n]result
	start := time.Unix(1_700_000_000, 0)
	q := &queue{}
	for id := range n {
		heap.Push(q, message{id: id, due: start})
	}
	policies := make([]*Policy, n)
	for q.Len() > 0 {
		m := heap.Pop(q).(message)
		if policies[m.id] == nil {
			policies[m.id] = policy(m.id)
		}
		p := policies[m.id]
		var pr Progress
		if m.progress != nil {
			require.NoError(t, pr.UnmarshalBinary(m.progress))
		}
		ctx, pr, err := p.Begin(context.Background(), pr, m.due)
		require.NoError(t, err)
		if pr.Attempts > failures(m.id) {
			p.Succeeded(ctx, pr, m.due)
			viaQueue[m.id] = result{pr.Attempts, nil, m.due.Sub(start)}
			continue
		}
		v := p.Failed(ctx, pr, errProp, m.due)
		if v.Err != nil {
			viaQueue[m.id] = result{pr.Attempts, v.Err.(*Error).Reason, m.due.Sub(start)}
			continue
		}
		b, err := v.Next.MarshalBinary()
		require.NoError(t, err)
		heap.Push(q, message{id: m.id, due: m.due.Add(v.Wait), progress: b})
	}

	synctest.Test(t, func(t *testing.T) {
		for id := range n {
			calls, began := 0, time.Now()
			_, err := Do(context.Background(), func(context.Context) (int, error) {
				calls++
				if calls > failures(id) {
					return 0, nil
				}
				return 0, errProp
			}, policy(id))
			var reason error
			if err != nil {
				reason = err.(*Error).Reason
			}
			require.Equal(t, result{calls, reason, time.Since(began)}, viaQueue[id], "message %d", id)
		}
	})
}

func TestProgressRoundTrips(t *testing.T) {
	pr := Progress{Attempts: 3, Start: time.Date(2026, 11, 30, 7, 15, 0, 123, time.UTC), Prev: 1500 * time.Millisecond}
	pr.ticket, pr.held = 42, true // the admission of a running attempt is not kept

	b, err := pr.MarshalBinary()
	require.NoError(t, err)
	var back Progress
	require.NoError(t, back.UnmarshalBinary(b))
	assert.Equal(t, Progress{Attempts: 3, Start: pr.Start, Prev: pr.Prev}, back)

	j, err := json.Marshal(pr)
	require.NoError(t, err)
	assert.JSONEq(t, `{"attempts":3,"start":"2026-11-30T07:15:00.000000123Z","prev":1500000000}`, string(j))
	var fromJSON Progress
	require.NoError(t, json.Unmarshal(j, &fromJSON))
	assert.Equal(t, back, fromJSON)

	var zero Progress
	b, err = zero.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, back.UnmarshalBinary(b))
	assert.Equal(t, zero, back)
}

func TestProgressUnmarshalBinaryRejects(t *testing.T) {
	good, err := Progress{Attempts: 2, Prev: time.Second}.MarshalBinary()
	require.NoError(t, err)
	for name, b := range map[string][]byte{
		"empty":            nil,
		"wrong version":    append([]byte{9}, good[1:]...),
		"truncated count":  {progressVersion, 0x80},
		"negative count":   {progressVersion, 0x01, 0x00},
		"truncated wait":   {progressVersion, 0x02},
		"negative wait":    {progressVersion, 0x02, 0x03},
		"no time":          good[:3],
		"time cut in half": good[:len(good)-3],
	} {
		t.Run(name, func(t *testing.T) {
			pr := Progress{Attempts: 7}
			assert.Error(t, pr.UnmarshalBinary(b))
			assert.Equal(t, Progress{Attempts: 7}, pr, "left unchanged")
		})
	}
}

// progressV1 is pr in the binary form of the previous release (version 1,
// without the sum of the waits).
func progressV1(t testing.TB, pr Progress) []byte {
	tb, err := pr.Start.MarshalBinary()
	require.NoError(t, err)
	b := binary.AppendVarint(binary.AppendVarint([]byte{1}, int64(pr.Attempts)), int64(pr.Prev))
	return append(b, tb...)
}

// TestProgressWaitedRoundTrips: the sum of the waits survives both forms,
// the previous binary version still reads (with no sum), and a negative
// sum is refused.
func TestProgressWaitedRoundTrips(t *testing.T) {
	pr := Progress{Attempts: 3, Start: time.Unix(5, 6).UTC(), Prev: time.Second, waited: 3 * time.Second}
	b, err := pr.MarshalBinary()
	require.NoError(t, err)
	assert.Equal(t, byte(2), b[0])
	var back Progress
	require.NoError(t, back.UnmarshalBinary(b))
	assert.Equal(t, pr, back)
	j, err := json.Marshal(pr)
	require.NoError(t, err)
	assert.JSONEq(t, `{"attempts":3,"start":"1970-01-01T00:00:05.000000006Z","prev":1000000000,"waited":3000000000}`, string(j))
	back = Progress{}
	require.NoError(t, json.Unmarshal(j, &back))
	assert.Equal(t, pr, back)

	back = Progress{}
	require.NoError(t, back.UnmarshalBinary(progressV1(t, pr)))
	assert.Equal(t, Progress{Attempts: 3, Start: pr.Start, Prev: time.Second}, back, "version 1 has no sum")

	bad := append([]byte{2, 0x06, 0x02, 0x01}, b[4:]...) // waited -1
	assert.ErrorContains(t, back.UnmarshalBinary(bad), "sum of waits")
	assert.Error(t, json.Unmarshal([]byte(`{"attempts":1,"waited":-1}`), &back))
}

func FuzzProgressUnmarshalBinary(f *testing.F) {
	for _, pr := range []Progress{{}, {Attempts: 1, Start: time.Unix(1, 2)}, {Attempts: math.MaxInt32, Prev: maxDuration, waited: maxDuration}} {
		b, err := pr.MarshalBinary()
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add(progressV1(f, Progress{Attempts: 2, Prev: time.Second, Start: time.Unix(1, 2)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var pr Progress
		if pr.UnmarshalBinary(b) != nil {
			return
		}
		if pr.Attempts < 0 || pr.Prev < 0 || pr.waited < 0 {
			t.Fatalf("decoded a negative field: %+v", pr)
		}
		again, err := pr.MarshalBinary()
		require.NoError(t, err)
		var back Progress
		require.NoError(t, back.UnmarshalBinary(again))
		require.True(t, back.Start.Equal(pr.Start) && back.Attempts == pr.Attempts && back.Prev == pr.Prev && back.waited == pr.waited, "%+v != %+v", back, pr)
	})
}

func TestEngineBadInput(t *testing.T) {
	ctx, now := context.Background(), time.Unix(0, 0)
	p, err := NewPolicy()
	require.NoError(t, err)
	for name, p := range map[string]*Policy{"nil": nil, "zero": {}} {
		t.Run(name, func(t *testing.T) {
			_, _, err := p.Begin(ctx, Progress{}, now)
			assert.ErrorIs(t, err, ErrInvalidConfig)
			assert.ErrorIs(t, p.Failed(ctx, Progress{Attempts: 1}, errProp, now).Err, ErrInvalidConfig)
			assert.NotPanics(t, func() { p.Succeeded(ctx, Progress{}, now) })
		})
	}
	//lint:ignore SA1012 a nil context is the bad input under test
	_, _, err = p.Begin(nil, Progress{}, now) //nolint:staticcheck
	assert.ErrorIs(t, err, ErrInvalidConfig)
	v := p.Failed(ctx, Progress{Attempts: 1}, nil, now)
	assert.ErrorIs(t, v.Err, ErrInvalidConfig, "a nil error is not a failure")

	done, cancel := context.WithCancelCause(ctx)
	cause := errors.New("gave up")
	cancel(cause)
	_, _, err = p.Begin(done, Progress{Attempts: 2}, now)
	assert.Equal(t, &Error{Attempts: 2, Reason: cause}, err)
	v = p.Failed(done, Progress{Attempts: 2}, errProp, now)
	assert.Equal(t, &Error{Attempts: 2, Last: errProp, Reason: cause}, v.Err)
}

// TestEngineWithoutBegin: Failed counts an attempt it was not told about,
// and starts the elapsed limit then.
func TestEngineWithoutBegin(t *testing.T) {
	p, err := NewPolicy(WithMaxAttempts(2), WithBackoff(Constant(time.Second)), WithJitter(NoJitter))
	require.NoError(t, err)
	now := time.Unix(100, 0)
	v := p.Failed(context.Background(), Progress{}, errProp, now)
	require.NoError(t, v.Err)
	assert.Equal(t, Progress{Attempts: 1, Start: now, Prev: time.Second}, v.Next)
	assert.Equal(t, time.Second, v.Wait)
}

// The engine reads no clock: the breaker's open period and the budget's
// refill follow the instants passed in, whatever the wall clock says.
func TestEngineRunsOnVirtualTime(t *testing.T) {
	br, err := NewBreaker(BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Minute})
	require.NoError(t, err)
	bu, err := NewBudget(BudgetConfig{Capacity: 1, PerSecond: 1})
	require.NoError(t, err)
	p, err := NewPolicy(WithBreaker(br), WithBudget(bu), WithBackoff(Constant(0)), WithMaxAttempts(0))
	require.NoError(t, err)
	ctx, t0 := context.Background(), time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)

	_, pr, err := p.Begin(ctx, Progress{}, t0)
	require.NoError(t, err)
	v := p.Failed(ctx, pr, errProp, t0)
	require.NoError(t, v.Err, "the budget's one token pays for this retry")
	_, _, err = p.Begin(ctx, v.Next, t0.Add(59*time.Second))
	require.ErrorIs(t, err, ErrCircuitOpen, "open for a minute of virtual time")

	_, pr, err = p.Begin(ctx, v.Next, t0.Add(time.Minute))
	require.NoError(t, err, "half-open after a minute")
	v = p.Failed(ctx, pr, errProp, t0.Add(time.Minute))
	require.NoError(t, v.Err, "60s of refill bought a token")
	v = p.Failed(ctx, v.Next, errProp, t0.Add(time.Minute))
	require.ErrorIs(t, v.Err, ErrBudgetExhausted, "no refill within one instant")
}

// A decision with a prebuilt policy and no budget or breaker allocates
// nothing: Begin, a Failed that retries, and Succeeded.
func TestEngineDecisionAllocatesNothing(t *testing.T) {
	p, err := NewPolicy(WithMaxAttempts(0), WithJitter(DecorrelatedJitter))
	require.NoError(t, err)
	ctx, now := context.Background(), time.Unix(1, 0)
	var pr Progress
	allocs := testing.AllocsPerRun(1000, func() {
		_, next, err := p.Begin(ctx, pr, now)
		if err != nil {
			panic(err)
		}
		v := p.Failed(ctx, next, errProp, now)
		if v.Err != nil {
			panic(v.Err)
		}
		p.Succeeded(ctx, v.Next, now)
		pr = v.Next
	})
	assert.Zero(t, allocs)
}

// Options written inline in the call cost at most the two allocations of
// their own values (the Exponential strategy and the StopOn closure):
// WithBackoff and a one-classifier WithClassifier box nothing, and the
// configuration stays on the stack.
func TestInlineOptionsAllocateLittle(t *testing.T) {
	ctx := context.Background()
	op := func(context.Context) (int, error) { return 1, nil }
	allocs := testing.AllocsPerRun(1000, func() {
		_, _ = Do(ctx, op, WithMaxAttempts(5), WithBackoff(Exponential(10*time.Millisecond, 2)), WithClassifier(StopOn(errProp)))
	})
	assert.LessOrEqual(t, allocs, 2.0)
}

// TokensAt and StateAt observe a budget and a breaker on the caller's clock.
func TestObservingOnVirtualTime(t *testing.T) {
	br, err := NewBreaker(BreakerConfig{FailureThreshold: 1, RecoveryTimeout: 10 * time.Second})
	require.NoError(t, err)
	bu, err := NewBudget(BudgetConfig{Capacity: 2, PerSecond: 0.5})
	require.NoError(t, err)
	p, err := NewPolicy(WithBreaker(br), WithBudget(bu), WithBackoff(Constant(0)))
	require.NoError(t, err)
	ctx, t0 := context.Background(), time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
	_, pr, err := p.Begin(ctx, Progress{}, t0)
	require.NoError(t, err)
	require.NoError(t, p.Failed(ctx, pr, errProp, t0).Err)

	assert.Equal(t, 1.0, bu.TokensAt(t0))
	assert.Equal(t, 1.5, bu.TokensAt(t0.Add(time.Second)))
	assert.Equal(t, 2.0, bu.TokensAt(t0.Add(time.Hour)), "never above capacity")
	assert.Equal(t, BreakerOpen, br.StateAt(t0.Add(9*time.Second)))
	assert.Equal(t, BreakerHalfOpen, br.StateAt(t0.Add(10*time.Second)))
	var nilBudget *Budget
	var nilBreaker *Breaker
	assert.Zero(t, nilBudget.TokensAt(t0))
	assert.Equal(t, BreakerClosed, nilBreaker.StateAt(t0))
}

// A caller's own attempt timeout, marked with TimedOut, is retried whatever
// the classifiers say and costs TimeoutCost, as Do's own timeouts; through
// Do as through the engine.
func TestEngineCallersAttemptTimeout(t *testing.T) {
	bu, err := NewBudget(BudgetConfig{Capacity: 10, RetryCost: 1, TimeoutCost: 4})
	require.NoError(t, err)
	p, err := NewPolicy(WithBudget(bu), WithClassifier(RetryOn()), WithBackoff(Constant(0)))
	require.NoError(t, err)
	ctx, now := context.Background(), time.Unix(5, 0)

	v := p.Failed(ctx, Progress{Attempts: 1}, TimedOut(errProp), now)
	require.NoError(t, v.Err, "retried although RetryOn() stops on everything else")
	assert.Equal(t, 6.0, bu.TokensAt(now), "TimeoutCost")

	v = p.Failed(ctx, v.Next, errProp, now)
	assert.ErrorIs(t, v.Err, ErrPermanent, "an unmarked error is classified")
	assert.Equal(t, 6.0, bu.TokensAt(now))

	calls := 0
	err = Run(ctx, func(context.Context) error {
		if calls++; calls == 1 {
			return TimedOut(errProp)
		}
		return errProp
	}, p)
	assert.ErrorIs(t, err, ErrPermanent)
	assert.Equal(t, 2, calls, "Do retried the marked error")
	assert.Equal(t, 2.0, bu.Tokens(), "at TimeoutCost")
	assert.Nil(t, TimedOut(nil))
	assert.Equal(t, errProp.Error(), TimedOut(errProp).Error())
	assert.ErrorIs(t, TimedOut(After(time.Second, errProp)), errProp)
}

func TestEngineRejectsMisuse(t *testing.T) {
	ctx, t0 := context.Background(), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	newProbe := func(t *testing.T) (*Policy, *Breaker, Progress) {
		br, err := NewBreaker(BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second})
		require.NoError(t, err)
		p, err := NewPolicy(WithBreaker(br))
		require.NoError(t, err)
		_, pr, err := p.Begin(ctx, Progress{}, t0)
		require.NoError(t, err)
		require.Error(t, p.Failed(ctx, pr, Permanent(errProp), t0).Err) // a success for the breaker: still closed
		_, pr, err = p.Begin(ctx, Progress{}, t0)
		require.NoError(t, err)
		v := p.Failed(ctx, pr, errProp, t0) // trips it
		require.NoError(t, v.Err)
		_, pr, err = p.Begin(ctx, v.Next, t0.Add(time.Second)) // the one probe
		require.NoError(t, err)
		return p, br, pr
	}
	probeFree := func(t *testing.T, p *Policy) {
		t.Helper()
		_, pr, err := p.Begin(ctx, Progress{}, t0.Add(2*time.Second))
		require.NoError(t, err, "the probe slot is free")
		require.NoError(t, p.Succeeded(ctx, pr, t0.Add(2*time.Second)))
	}

	t.Run("zero now", func(t *testing.T) {
		p, err := NewPolicy()
		require.NoError(t, err)
		_, _, err = p.Begin(ctx, Progress{}, time.Time{})
		assert.ErrorIs(t, err, ErrInvalidConfig)
		assert.ErrorIs(t, p.Failed(ctx, Progress{Attempts: 1}, errProp, time.Time{}).Err, ErrInvalidConfig)
		assert.ErrorIs(t, p.Succeeded(ctx, Progress{Attempts: 1}, time.Time{}), ErrInvalidConfig)
	})
	t.Run("invalid progress", func(t *testing.T) {
		p, err := NewPolicy(WithMaxAttempts(3))
		require.NoError(t, err)
		for _, pr := range []Progress{{Attempts: -100}, {Attempts: math.MaxInt}, {Attempts: 1, Prev: -time.Second}} {
			_, _, err = p.Begin(ctx, pr, t0)
			assert.ErrorIs(t, err, ErrInvalidConfig, "%+v", pr)
			assert.ErrorIs(t, p.Failed(ctx, pr, errProp, t0).Err, ErrInvalidConfig, "%+v", pr)
			assert.ErrorIs(t, p.Succeeded(ctx, pr, t0), ErrInvalidConfig, "%+v", pr)
		}
	})
	t.Run("Begin on a held admission", func(t *testing.T) {
		p, _, pr := newProbe(t)
		_, again, err := p.Begin(ctx, pr, t0.Add(time.Second))
		assert.ErrorIs(t, err, ErrInvalidConfig)
		require.NoError(t, p.Succeeded(ctx, again, t0.Add(time.Second)), "the admission survived the refusal")
		probeFree(t, p)
	})
	t.Run("invalid Failed releases the admission", func(t *testing.T) {
		p, _, pr := newProbe(t)
		//lint:ignore SA1012 a nil context is the bad input under test
		assert.ErrorIs(t, p.Failed(nil, pr, errProp, t0.Add(time.Second)).Err, ErrInvalidConfig) //nolint:staticcheck
		probeFree(t, p)
	})
	t.Run("an abandoned attempt is released with a done context", func(t *testing.T) {
		p, br, pr := newProbe(t)
		done, cancel := context.WithCancel(ctx)
		cancel()
		assert.ErrorIs(t, p.Failed(done, pr, errProp, t0.Add(time.Second)).Err, context.Canceled)
		assert.Equal(t, BreakerHalfOpen, br.StateAt(t0.Add(time.Second)), "counted as nothing")
		probeFree(t, p)
	})
}

func TestProgressJSONRejectsInvalid(t *testing.T) {
	for _, in := range []string{
		`{"attempts":-100,"start":"2026-01-01T00:00:00Z","prev":0}`,
		`{"attempts":1,"prev":-5}`,
		`{"attempts":9223372036854775807}`,
		`{"attempts":"two"}`,
	} {
		pr := Progress{Attempts: 7}
		assert.Error(t, json.Unmarshal([]byte(in), &pr), in)
		assert.Equal(t, Progress{Attempts: 7}, pr, "unchanged")
	}
	b, err := Progress{Attempts: math.MaxInt}.MarshalBinary()
	require.NoError(t, err)
	assert.Error(t, new(Progress).UnmarshalBinary(b), "a count at its largest could not be incremented")
}

// The engine driven from several goroutines at once, sharing a budget and
// a breaker with each other and with calls of Do (run it under -race).
func TestEngineConcurrentWithDo(t *testing.T) {
	br, err := NewBreaker(BreakerConfig{FailureRate: 0.5, Window: time.Second, MinimumCalls: 20, RecoveryTimeout: time.Millisecond, MaxRecoveryTimeout: 4 * time.Millisecond})
	require.NoError(t, err)
	bu, err := NewBudget(BudgetConfig{Capacity: 20, PerSuccess: 0.5, PerSecond: 100})
	require.NoError(t, err)
	p, err := NewPolicy(WithBreaker(br), WithBudget(bu), WithBackoff(Constant(0)), WithMaxAttempts(5))
	require.NoError(t, err)
	ctx := context.Background()
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			r := rand.New(rand.NewPCG(uint64(g), 9))
			for i := range 500 {
				fail := func() bool { return r.IntN(3) == 0 }
				if g%2 == 0 {
					_ = Run(ctx, func(context.Context) error {
						if fail() {
							return errProp
						}
						return nil
					}, p)
					continue
				}
				var pr Progress
				for {
					now := time.Now()
					_, next, err := p.Begin(ctx, pr, now)
					if err != nil {
						break
					}
					if !fail() {
						if err := p.Succeeded(ctx, next, now); err != nil {
							panic(err)
						}
						break
					}
					v := p.Failed(ctx, next, errProp, now)
					if v.Err != nil {
						break
					}
					pr = v.Next
				}
				_ = i
			}
		}()
	}
	for range 4 {
		<-done
	}
	st := bu.Stats()
	assert.Positive(t, st.Allowed)
	assert.LessOrEqual(t, bu.Tokens(), 20.0)
}
