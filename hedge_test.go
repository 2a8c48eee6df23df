package retry_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

var errHedgeOp = errors.New("hedge test: transient")

// step is what one copy of a scripted hedged call does: it runs for
// Latency (cut short when its context ends), then returns Value and Err.
type step struct {
	Latency time.Duration
	Value   int
	Err     error
}

// copies is a scripted operation: copy n (from 1, in the order they
// start) follows steps[n-1]; the last step repeats. It records when each
// copy started and ended, and the cause of a copy's cancellation.
type copies struct {
	steps   []step
	started atomic.Int32
	running atomic.Int32
	peak    atomic.Int32
	mu      sync.Mutex
	starts  []time.Duration // since the epoch
	causes  map[int]error   // the cause of each cancelled copy
	ended   []int           // copies in the order they returned
	epoch   time.Time
}

func script(steps ...step) *copies {
	return &copies{steps: steps, causes: map[int]error{}, epoch: time.Now()}
}

func (c *copies) op(ctx context.Context) (int, error) {
	n := int(c.started.Add(1))
	if r := c.running.Add(1); r > c.peak.Load() {
		c.peak.Store(r)
	}
	defer c.running.Add(-1)
	s := c.steps[min(n, len(c.steps))-1]
	c.mu.Lock()
	c.starts = append(c.starts, time.Since(c.epoch))
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.ended = append(c.ended, n)
		c.mu.Unlock()
	}()
	t := time.NewTimer(s.Latency)
	defer t.Stop()
	select {
	case <-t.C:
		return s.Value, s.Err
	case <-ctx.Done():
		c.mu.Lock()
		c.causes[n] = context.Cause(ctx)
		c.mu.Unlock()
		return 0, ctx.Err()
	}
}

func hedgePolicy(t *testing.T, opts ...retry.Option) *retry.Policy {
	t.Helper()
	p, err := retry.NewPolicy(append([]retry.Option{retry.WithBackoff(retry.Constant(time.Second)), retry.WithJitter(retry.NoJitter)}, opts...)...)
	require.NoError(t, err)
	return p
}

func TestHedgeFirstWinsBeforeDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := script(step{Latency: 5 * time.Millisecond, Value: 1})
		p := hedgePolicy(t, retry.WithHedge(10*time.Millisecond, 3))
		var inside string
		v, err := retry.DoHedged(context.Background(), func(ctx context.Context) (int, error) {
			inside = hedgeGoroutines()
			return c.op(ctx)
		}, p)
		require.NoError(t, err)
		assert.Equal(t, 1, v)
		assert.Equal(t, int32(1), c.started.Load(), "one copy")
		assert.Equal(t, 1, strings.Count("\n"+inside, "\ngoroutine "), "the first copy runs on the caller's goroutine, and no other starts:\n%s", inside)
		synctest.Wait()
		assert.Empty(t, hedgeGoroutines(), "nothing outlives the call")
	})
}

func TestHedgeSlowFirstHedgesAtTheDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := script(step{Latency: time.Second, Value: 1}, step{Latency: 5 * time.Millisecond, Value: 2})
		var discarded []int
		p := hedgePolicy(t, retry.WithHedge(10*time.Millisecond, 2), retry.WithHedgeDiscard(func(v int) { discarded = append(discarded, v) }))
		start := time.Now()
		v, err := retry.DoHedged(context.Background(), c.op, p)
		require.NoError(t, err)
		assert.Equal(t, 2, v, "the hedge won")
		assert.Equal(t, 15*time.Millisecond, time.Since(start), "the hedge's answer, at once")
		assert.Equal(t, []time.Duration{0, 10 * time.Millisecond}, c.starts, "the hedge started at the delay")
		assert.Equal(t, []int{2, 1}, c.ended, "the loser returned before Do did")
		require.Error(t, c.causes[1])
		assert.Contains(t, c.causes[1].Error(), "another copy won")
		assert.Empty(t, discarded, "the loser failed: nothing to discard")
		synctest.Wait()
		assert.Empty(t, hedgeGoroutines(), "nothing outlives the call")
	})
}

func TestHedgeLoserSucceedingIsDiscarded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var discarded []int
		p := hedgePolicy(t, retry.WithHedge(0, 2), retry.WithHedgeDiscard(func(v int) { discarded = append(discarded, v) }))
		n := atomic.Int32{}
		v, err := retry.DoHedged(context.Background(), func(ctx context.Context) (int, error) {
			i := n.Add(1)
			time.Sleep(time.Duration(i) * time.Millisecond) // ignores its context
			return int(i), nil
		}, p)
		require.NoError(t, err)
		assert.Equal(t, 1, v)
		assert.Equal(t, []int{2}, discarded, "the late success went to the discard function before Do returned")
	})
}

func TestHedgeRetryableFailureLetsOthersRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 1 is slow and wins; 2 fails fast, so 3 starts at once (the first
		// failure since the call began shortcuts the delay, A6), and fails
		// too; 4 would start after the 1s backoff, but 1 wins first.
		c := script(
			step{Latency: 25 * time.Millisecond, Value: 1},
			step{Latency: 2 * time.Millisecond, Err: errHedgeOp},
			step{Latency: 2 * time.Millisecond, Err: errHedgeOp},
			step{Latency: time.Second, Value: 4},
		)
		p := hedgePolicy(t, retry.WithHedge(10*time.Millisecond, 2), retry.WithMaxAttempts(0))
		v, err := retry.DoHedged(context.Background(), c.op, p)
		require.NoError(t, err)
		assert.Equal(t, 1, v)
		assert.Equal(t, []time.Duration{0, 10 * time.Millisecond, 12 * time.Millisecond}, c.starts)
	})
}

func TestHedgeTerminalFailureCancelsOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bad := errors.New("hedge test: not found")
		c := script(step{Latency: time.Second, Value: 1}, step{Latency: time.Millisecond, Err: retry.Permanent(bad)})
		p := hedgePolicy(t, retry.WithHedge(10*time.Millisecond, 3))
		start := time.Now()
		_, err := retry.DoHedged(context.Background(), c.op, p)
		require.ErrorIs(t, err, retry.ErrPermanent)
		require.ErrorIs(t, err, bad)
		var re *retry.Error
		require.ErrorAs(t, err, &re)
		assert.Equal(t, 2, re.Attempts)
		assert.Equal(t, 11*time.Millisecond, time.Since(start))
		assert.Contains(t, c.causes[1].Error(), "ended the call")
	})
}

func TestHedgePushbackStopsHedging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 2 is told to come back in 100ms: 1 is cancelled, no hedge is sent
		// after it, and the retry (3) waits for the hint, then runs alone.
		c := script(
			step{Latency: time.Second, Value: 1},
			step{Latency: time.Millisecond, Err: retry.After(100*time.Millisecond, errHedgeOp)},
			step{Latency: 50 * time.Millisecond, Value: 3},
		)
		p := hedgePolicy(t, retry.WithHedge(10*time.Millisecond, 3))
		v, err := retry.DoHedged(context.Background(), c.op, p)
		require.NoError(t, err)
		assert.Equal(t, 3, v)
		assert.Equal(t, []time.Duration{0, 10 * time.Millisecond, 111 * time.Millisecond}, c.starts)
		assert.Contains(t, c.causes[1].Error(), "told to wait")
		assert.Equal(t, int32(3), c.started.Load(), "no hedge after the pushback")
	})
}

// A hint beyond the maximum delay, from a hedge while the first copy
// runs, ends the call with the hinted copy's value, not the cancelled
// copy's (httpx hands that response back with its Retry-After).
func TestHedgePushbackTooLongKeepsItsValue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := script(
			step{Latency: time.Second, Value: 1},
			step{Latency: time.Millisecond, Value: 2, Err: retry.After(time.Hour, errHedgeOp)},
		)
		p := hedgePolicy(t, retry.WithHedge(10*time.Millisecond, 2), retry.WithMaxDelay(time.Minute))
		v, err := retry.DoHedged(context.Background(), c.op, p)
		require.ErrorIs(t, err, retry.ErrHintTooLong)
		assert.Equal(t, 2, v, "the hinted copy's value")
		assert.Equal(t, int32(2), c.started.Load())
	})
}

// A copy cancelled because another was told to wait fails with its
// cancellation, which the operation may well mark Permanent (gRPC's
// CANCELLED is not retried): that failure is the call's own doing, so it
// neither ends the call nor counts; the retry after the hint runs.
func TestHedgePushbackCancelledCopyIsNotJudged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := script(
			step{Latency: time.Second, Value: 1},
			step{Latency: time.Millisecond, Err: retry.After(100*time.Millisecond, errHedgeOp)},
			step{Latency: 50 * time.Millisecond, Value: 3},
		)
		op := func(ctx context.Context) (int, error) {
			v, err := c.op(ctx)
			if err != nil && ctx.Err() != nil {
				return v, retry.Permanent(err)
			}
			return v, err
		}
		var lost []bool
		obs := &retry.Observer{AttemptEnd: func(_ context.Context, a retry.AttemptEndInfo) { lost = append(lost, a.Lost) }}
		p := hedgePolicy(t, retry.WithHedge(10*time.Millisecond, 2), retry.WithObserver(obs))
		v, err := retry.DoHedged(context.Background(), op, p)
		require.NoError(t, err)
		assert.Equal(t, 3, v)
		assert.Equal(t, int32(3), c.started.Load())
		assert.Equal(t, []bool{false, true, false}, lost, "the cancelled copy lost")
	})
}

func TestHedgeMaxAttemptsShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := script(step{Latency: 25 * time.Millisecond, Err: errHedgeOp})
		p := hedgePolicy(t, retry.WithHedge(10*time.Millisecond, 5), retry.WithMaxAttempts(3))
		_, err := retry.DoHedged(context.Background(), c.op, p)
		require.ErrorIs(t, err, retry.ErrExhausted)
		var re *retry.Error
		require.ErrorAs(t, err, &re)
		assert.Equal(t, 3, re.Attempts)
		assert.Equal(t, int32(3), c.started.Load(), "copies and retries share the limit")
		assert.Equal(t, []time.Duration{0, 10 * time.Millisecond, 20 * time.Millisecond}, c.starts)
	})
}

func TestHedgeRetriesAfterAllCopiesFail(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 1 fails before the delay: no copy runs, so the backoff (1s)
		// applies; the retry (2) is slow and hedged at its own delay (3).
		c := script(
			step{Latency: 5 * time.Millisecond, Err: errHedgeOp},
			step{Latency: time.Second, Value: 2},
			step{Latency: 5 * time.Millisecond, Value: 3},
		)
		p := hedgePolicy(t, retry.WithHedge(10*time.Millisecond, 2), retry.WithMaxAttempts(0))
		start := time.Now()
		v, err := retry.DoHedged(context.Background(), c.op, p)
		require.NoError(t, err)
		assert.Equal(t, 3, v)
		assert.Equal(t, []time.Duration{0, 5*time.Millisecond + time.Second, 15*time.Millisecond + time.Second}, c.starts)
		assert.Equal(t, time.Second+20*time.Millisecond, time.Since(start))
	})
}

func TestHedgeCallerCancelEndsAllCopies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := script(step{Latency: time.Hour})
		p := hedgePolicy(t, retry.WithHedge(10*time.Millisecond, 3))
		ctx, cancel := context.WithTimeout(context.Background(), 25*time.Millisecond)
		defer cancel()
		_, err := retry.DoHedged(ctx, c.op, p)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, int32(3), c.started.Load())
		assert.Equal(t, int32(0), c.running.Load(), "every copy returned before Do did")
	})
}

func TestHedgeBadInput(t *testing.T) {
	ctx := context.Background()
	op := func(context.Context) (int, error) { return 1, nil }
	d, err := retry.NewHedgeDelay(0.95, time.Millisecond)
	require.NoError(t, err)
	for name, opt := range map[string]retry.Option{
		"negative delay":       retry.WithHedge(-time.Millisecond, 2),
		"zero copies":          retry.WithHedge(time.Millisecond, 0),
		"nil adaptive":         retry.WithAdaptiveHedge(nil, 2),
		"zero adaptive":        retry.WithAdaptiveHedge(&retry.HedgeDelay{}, 2),
		"adaptive zero copies": retry.WithAdaptiveHedge(d, -1),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := retry.NewPolicy(opt)
			require.ErrorIs(t, err, retry.ErrInvalidConfig)
			_, err = retry.DoHedged(ctx, op, opt)
			require.ErrorIs(t, err, retry.ErrInvalidConfig)
		})
	}
	_, err = retry.DoHedged(ctx, op, retry.WithHedge(0, 2), retry.WithHedgeDiscard(func(string) {}))
	require.ErrorIs(t, err, retry.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "func(int)")
	err = retry.RunHedged(ctx, func(context.Context) error { return nil }, retry.WithHedge(0, 2), retry.WithHedgeDiscard(func(struct{}) {}))
	require.NoError(t, err, "RunHedged's result is struct{}")

	// Do and Run refuse a policy that hedges: their op stays on the
	// caller's goroutine.
	p, err := retry.NewPolicy(retry.WithHedge(time.Millisecond, 2))
	require.NoError(t, err)
	calls := 0
	_, err = retry.Do(ctx, func(context.Context) (int, error) { calls++; return 1, nil }, p)
	require.ErrorIs(t, err, retry.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "DoHedged")
	err = retry.Run(ctx, func(context.Context) error { calls++; return nil }, retry.WithHedge(0, 2))
	require.ErrorIs(t, err, retry.ErrInvalidConfig)
	_, err = retry.Do(ctx, func(context.Context) (int, error) { calls++; return 1, nil }, retry.WithAdaptiveHedge(d, 2))
	require.ErrorIs(t, err, retry.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "WithAdaptiveHedge", "the message names the adaptive option too")
	assert.Zero(t, calls)
	off, err := p.With(retry.WithHedge(0, 1))
	require.NoError(t, err)
	_, err = retry.Do(ctx, op, off)
	require.NoError(t, err, "a policy whose hedging is turned off is Do's")

	for _, q := range []float64{0, 1, -0.5, 2} {
		_, err := retry.NewHedgeDelay(q, time.Millisecond)
		require.ErrorIs(t, err, retry.ErrInvalidConfig, "q=%v", q)
	}
	_, err = retry.NewHedgeDelay(math.NaN(), time.Millisecond)
	require.ErrorIs(t, err, retry.ErrInvalidConfig)
	_, err = retry.NewHedgeDelay(0.9, 0)
	require.ErrorIs(t, err, retry.ErrInvalidConfig)
}

func TestHedgeOneCopyIsOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := script(step{Latency: time.Second, Value: 1})
		base := hedgePolicy(t, retry.WithHedge(10*time.Millisecond, 3))
		p, err := base.With(retry.WithHedge(0, 1))
		require.NoError(t, err)
		v, err := retry.DoHedged(context.Background(), c.op, p)
		require.NoError(t, err)
		assert.Equal(t, 1, v)
		assert.Equal(t, int32(1), c.started.Load(), "WithHedge(0, 1) turns hedging off")
	})
}

func TestHedgeNoHedgeSuccessStillAllocatesNothing(t *testing.T) {
	p, err := retry.NewPolicy()
	require.NoError(t, err)
	ctx := context.Background()
	assert.Zero(t, testing.AllocsPerRun(100, func() { _, _ = retry.Do(ctx, succeedOp, p) }))
	x := 0
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		y := x
		_, _ = retry.Do(ctx, func(context.Context) (int, error) { y++; return y, nil }, p)
		x = y
	}), "Do's op never leaves the caller's goroutine: a func literal stays on the stack")
}

func succeedOp(context.Context) (int, error) { return 1, nil }

func TestHedgeBudgetStopsHedgesInABrownout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Every request is slow (50ms, past the 10ms delay): without a budget
		// every call sends two copies; with one that earns 0.1 token per
		// success, about one call in ten may hedge.
		run := func(opts ...retry.Option) (calls, copies int) {
			c := script(step{Latency: 50 * time.Millisecond, Value: 1})
			p := hedgePolicy(t, append([]retry.Option{retry.WithHedge(10*time.Millisecond, 2)}, opts...)...)
			for range 200 {
				_, err := retry.DoHedged(context.Background(), c.op, p)
				require.NoError(t, err)
			}
			return 200, int(c.started.Load())
		}
		calls, copies := run()
		assert.Equal(t, 2*calls, copies, "without a budget the load doubles")
		b, err := retry.NewBudget(retry.BudgetConfig{Capacity: 5, PerSuccess: 0.1})
		require.NoError(t, err)
		calls, copies = run(retry.WithBudget(b))
		assert.LessOrEqual(t, float64(copies), 1.15*float64(calls), "with a budget the load stays near one copy per call")
		assert.Greater(t, b.Stats().Denied, uint64(0))
	})
}

func TestHedgeBreakerAdmitsEachCopy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		br, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second})
		require.NoError(t, err)
		_, err = retry.DoHedged(context.Background(), func(context.Context) (int, error) { return 0, errHedgeOp }, retry.WithMaxAttempts(1), retry.WithBreaker(br))
		require.Error(t, err)
		require.Equal(t, retry.BreakerOpen, br.State())

		c := script(step{Latency: 50 * time.Millisecond, Value: 1})
		p := hedgePolicy(t, retry.WithHedge(10*time.Millisecond, 3), retry.WithBreaker(br))
		_, err = retry.DoHedged(context.Background(), c.op, p)
		require.ErrorIs(t, err, retry.ErrCircuitOpen, "open: nothing is sent")
		assert.Zero(t, c.started.Load())

		time.Sleep(time.Second)
		v, err := retry.DoHedged(context.Background(), c.op, p)
		require.NoError(t, err)
		assert.Equal(t, 1, v)
		assert.Equal(t, int32(1), c.started.Load(), "half-open with one probe: the hedge is refused, the probe runs on")
		assert.Equal(t, retry.BreakerClosed, br.State())

		c2 := script(step{Latency: 50 * time.Millisecond, Value: 1})
		_, err = retry.DoHedged(context.Background(), c2.op, p)
		require.NoError(t, err)
		assert.Equal(t, int32(3), c2.started.Load(), "closed: every hedge is admitted")
	})
}

func TestHedgePanicInAHedge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := retry.NewBudget(retry.BudgetConfig{Capacity: 10})
		require.NoError(t, err)
		br, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second})
		require.NoError(t, err)
		var running, started atomic.Int32
		op := func(ctx context.Context) (int, error) {
			n := started.Add(1)
			running.Add(1)
			defer running.Add(-1)
			if n == 2 {
				time.Sleep(time.Millisecond)
				panic("hedge test: boom")
			}
			<-ctx.Done()
			return 0, ctx.Err()
		}
		p := hedgePolicy(t, retry.WithHedge(10*time.Millisecond, 2), retry.WithBudget(b), retry.WithBreaker(br))
		func() {
			defer func() {
				assert.Equal(t, "hedge test: boom", recover(), "the hedge's panic reaches the caller")
				assert.Zero(t, running.Load(), "the other copy was cancelled and waited for")
			}()
			_, _ = retry.DoHedged(context.Background(), op, p)
			t.Error("Do returned")
		}()
		assert.InDelta(t, 9, b.Tokens(), 1e-9, "the hedge that ran was charged, nothing else")
		assert.Equal(t, retry.BreakerClosed, br.State())
		assert.Zero(t, br.Stats().Failures, "a panic and a cancelled copy count as nothing")
		v, err := retry.DoHedged(context.Background(), succeedOp, p)
		require.NoError(t, err)
		assert.Equal(t, 1, v)
	})
}

func TestHedgePanicInTheCallersCopy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The breaker is half-open: the first copy is its only probe.
		br, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second})
		require.NoError(t, err)
		_, _ = retry.DoHedged(context.Background(), func(context.Context) (int, error) { return 0, errHedgeOp }, retry.WithMaxAttempts(1), retry.WithBreaker(br))
		time.Sleep(time.Second)
		var running, started atomic.Int32
		op := func(ctx context.Context) (int, error) {
			n := started.Add(1)
			running.Add(1)
			defer running.Add(-1)
			if n == 1 {
				time.Sleep(20 * time.Millisecond)
				panic("hedge test: first")
			}
			<-ctx.Done()
			return 0, ctx.Err()
		}
		p := hedgePolicy(t, retry.WithHedge(10*time.Millisecond, 2), retry.WithBreaker(br))
		func() {
			defer func() {
				assert.Equal(t, "hedge test: first", recover())
				assert.Zero(t, running.Load())
			}()
			_, _ = retry.DoHedged(context.Background(), op, p)
		}()
		assert.Equal(t, int32(1), started.Load(), "the probe held the only slot: no hedge")
		v, err := retry.DoHedged(context.Background(), succeedOp, p)
		require.NoError(t, err, "the probe slot was freed")
		assert.Equal(t, 1, v)
		assert.Equal(t, retry.BreakerClosed, br.State())
	})
}

func TestHedgeObserverEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var events []string
		add := func(s string) { mu.Lock(); events = append(events, s); mu.Unlock() }
		o := &retry.Observer{
			AttemptStart: func(ctx context.Context, e retry.AttemptStartInfo) context.Context {
				add(fmtEvent("start", e.Attempt, e.Hedge, false, nil))
				return ctx
			},
			AttemptEnd: func(_ context.Context, e retry.AttemptEndInfo) {
				add(fmtEvent("end", e.Attempt, e.Hedge, e.Lost, e.Err))
			},
			Done: func(_ context.Context, e retry.DoneInfo) {
				add("done " + itoa(e.Attempts) + " hedges " + itoa(e.Hedges) + " " + retry.ReasonOf(e.Err))
			},
		}
		c := script(step{Latency: time.Second, Value: 1}, step{Latency: 5 * time.Millisecond, Value: 2})
		p := hedgePolicy(t, retry.WithHedge(10*time.Millisecond, 2), retry.WithObserver(o))
		v, err := retry.DoHedged(context.Background(), c.op, p)
		require.NoError(t, err)
		assert.Equal(t, 2, v)
		assert.Equal(t, []string{
			"start 1",
			"start 2 hedge",
			"end 2 hedge won",
			"end 1 lost: context canceled",
			"done 2 hedges 1 success",
		}, events)
	})
}

func fmtEvent(kind string, n int, hedge, lost bool, err error) string {
	s := kind + " " + itoa(n)
	if hedge {
		s += " hedge"
	}
	switch {
	case lost:
		s += " lost"
	case kind == "end" && err == nil:
		s += " won"
	}
	if err != nil {
		s += ": " + err.Error()
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestHedgeRunDoesNotAllocateWithoutHedging(t *testing.T) {
	p, err := retry.NewPolicy()
	require.NoError(t, err)
	ctx := context.Background()
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = retry.Run(ctx, runNil, p) }),
		"Run hands a hedged call op itself: its adapter stays on the stack")
}

func runNil(context.Context) error { return nil }

func TestHedgeLogTo(t *testing.T) {
	l, buf := jsonLogger(slog.LevelDebug)
	o := retry.LogTo(l)
	ctx := context.Background()
	o.Done(ctx, retry.DoneInfo{Attempts: 2, MaxAttempts: 4, Hedges: 1})
	o.Done(ctx, retry.DoneInfo{Attempts: 3, MaxAttempts: 3, Hedges: 2, Err: &retry.Error{Attempts: 3, Last: errHedgeOp, Reason: retry.ErrExhausted}})
	assert.Equal(t, []map[string]any{
		{"level": "DEBUG", "msg": "succeeded", "attempt": 2.0, "max_attempts": 4.0, "hedges": 1.0},
		{"level": "WARN", "msg": "giving up", "attempt": 3.0, "max_attempts": 3.0, "reason": "exhausted", "hedges": 2.0, "error": errHedgeOp.Error()},
	}, records(t, buf))
}

func TestHedgeDelayZeroStartsAllAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := script(step{Latency: 30 * time.Millisecond, Value: 1}, step{Latency: 20 * time.Millisecond, Value: 2}, step{Latency: 10 * time.Millisecond, Value: 3})
		p := hedgePolicy(t, retry.WithHedge(0, 3))
		v, err := retry.DoHedged(context.Background(), c.op, p)
		require.NoError(t, err)
		assert.Equal(t, 3, v, "the fastest copy wins")
		assert.Equal(t, []time.Duration{0, 0, 0}, c.starts)
		assert.Equal(t, int32(3), c.peak.Load())
	})
}

func TestHedgeAdaptiveDelayInDo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, err := retry.NewHedgeDelay(0.9, 50*time.Millisecond)
		require.NoError(t, err)
		p := hedgePolicy(t, retry.WithAdaptiveHedge(d, 2))
		fast := script(step{Latency: 2 * time.Millisecond, Value: 1})
		for range 100 {
			_, err := retry.DoHedged(context.Background(), fast.op, p)
			require.NoError(t, err)
		}
		assert.InEpsilon(t, float64(2*time.Millisecond), float64(d.Delay()), 1.0/64, "Do fed the latencies: %v", d.Delay())
		slow := script(step{Latency: time.Second, Value: 1}, step{Latency: 2 * time.Millisecond, Value: 2})
		v, err := retry.DoHedged(context.Background(), slow.op, p)
		require.NoError(t, err)
		assert.Equal(t, 2, v)
		assert.Equal(t, d.Delay(), slow.starts[1], "the hedge started at the learned delay")
	})
}

func TestHedgeAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 1 hits its attempt timeout at 30ms while 2 (a hedge at 10ms) runs:
		// a retryable failure, so 3 starts at once and wins.
		c := script(step{Latency: time.Hour}, step{Latency: time.Hour}, step{Latency: time.Millisecond, Value: 3})
		p := hedgePolicy(t, retry.WithHedge(10*time.Millisecond, 2), retry.WithAttemptTimeout(30*time.Millisecond), retry.WithMaxAttempts(0))
		start := time.Now()
		v, err := retry.DoHedged(context.Background(), c.op, p)
		require.NoError(t, err)
		assert.Equal(t, 3, v)
		assert.Equal(t, []time.Duration{0, 10 * time.Millisecond, 30 * time.Millisecond}, c.starts)
		assert.Equal(t, 31*time.Millisecond, time.Since(start))
		assert.ErrorIs(t, c.causes[1], context.DeadlineExceeded)
	})
}

func TestHedgeStartHookPanicRefundsTheBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := retry.NewBudget(retry.BudgetConfig{Capacity: 10})
		require.NoError(t, err)
		o := &retry.Observer{AttemptStart: func(ctx context.Context, e retry.AttemptStartInfo) context.Context {
			if e.Hedge {
				panic("hedge test: hook")
			}
			return ctx
		}}
		c := script(step{Latency: time.Hour})
		p := hedgePolicy(t, retry.WithHedge(10*time.Millisecond, 2), retry.WithBudget(b), retry.WithObserver(o))
		func() {
			defer func() { assert.Equal(t, "hedge test: hook", recover()) }()
			_, _ = retry.DoHedged(context.Background(), c.op, p)
		}()
		assert.Equal(t, int32(0), c.running.Load(), "the first copy was cancelled and waited for")
		assert.Equal(t, int32(1), c.started.Load(), "the hedge never ran")
		assert.InDelta(t, 10, b.Tokens(), 1e-9, "the hedge that was not sent is refunded")
	})
}

func TestHedgeLogToEndToEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, buf := jsonLogger(slog.LevelDebug)
		c := script(step{Latency: time.Second, Value: 1}, step{Latency: 5 * time.Millisecond, Value: 2})
		p := hedgePolicy(t, retry.WithHedge(10*time.Millisecond, 2), retry.WithObserver(retry.LogTo(l)))
		v, err := retry.DoHedged(context.Background(), c.op, p)
		require.NoError(t, err)
		assert.Equal(t, 2, v)
		assert.Equal(t, []map[string]any{
			{"level": "DEBUG", "msg": "succeeded", "attempt": 2.0, "max_attempts": 4.0, "hedges": 1.0},
		}, records(t, buf))
	})
}
