package retry_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/retrykit/retry"
)

// Regressions found by a review of the hedged loop (branch review-hedge).
// hedgePolicy's backoff is a constant 1s without jitter.

// While one copy hangs, failed hedges do not follow one another without
// a pause: the first failure's replacement starts at once, the next would
// wait the 1s backoff, which passes the 100ms limit, so no more are sent
// and the call stops with ErrMaxElapsed once the slow copy ends.
func TestHedgeRegressionStormStopsAtMaxElapsed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		op := func(ctx context.Context) (int, error) {
			d := time.Millisecond
			if n.Add(1) == 1 {
				d = time.Second // the first copy hangs (ignores its ctx)
			}
			time.Sleep(d)
			return 0, errHedgeOp
		}
		p := hedgePolicy(t, retry.WithHedge(10*time.Millisecond, 2), retry.WithMaxAttempts(0),
			retry.WithMaxElapsed(100*time.Millisecond))
		start := time.Now()
		_, err := retry.DoHedged(context.Background(), op, p)
		require.ErrorIs(t, err, retry.ErrMaxElapsed)
		assert.Equal(t, int32(3), n.Load(), "the first copy, the hedge at 10ms, its replacement at 11ms")
		assert.Equal(t, time.Second, time.Since(start), "the call ends with its slow copy")
	})
}

// Two copies that fail in turn do not keep each other going: the call
// backs off and checks the elapsed limit as Do does.
func TestHedgeRegressionLeapfrogBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var starts []time.Duration
		epoch := time.Now()
		op := func(ctx context.Context) (int, error) {
			mu.Lock()
			starts = append(starts, time.Since(epoch))
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
			return 0, errHedgeOp
		}
		p := hedgePolicy(t, retry.WithHedge(2*time.Millisecond, 2), retry.WithMaxAttempts(0),
			retry.WithMaxElapsed(100*time.Millisecond))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := retry.DoHedged(ctx, op, p)
		require.ErrorIs(t, err, retry.ErrMaxElapsed)
		assert.Equal(t, []time.Duration{0, 2 * time.Millisecond, 5 * time.Millisecond}, starts,
			"the first copy, the hedge at its delay, the replacement of the first failure at once; then the 1s backoff passes the limit")
		assert.Equal(t, 10*time.Millisecond, time.Since(epoch))
	})
}

// Without an elapsed limit, a failure's replacement after the first one
// waits the policy's backoff, so the load is bounded like retries.
func TestHedgeRegressionReplacementWaitsBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var starts []time.Duration
		epoch := time.Now()
		op := func(ctx context.Context) (int, error) {
			mu.Lock()
			starts = append(starts, time.Since(epoch))
			i := len(starts)
			mu.Unlock()
			if i == 1 {
				time.Sleep(2500 * time.Millisecond) // slow, and wins
				return 1, nil
			}
			time.Sleep(time.Millisecond)
			return 0, errHedgeOp
		}
		p := hedgePolicy(t, retry.WithHedge(10*time.Millisecond, 2), retry.WithMaxAttempts(0))
		v, err := retry.DoHedged(context.Background(), op, p)
		require.NoError(t, err)
		assert.Equal(t, 1, v)
		ms := time.Millisecond
		assert.Equal(t, []time.Duration{0, 10 * ms, 11 * ms, 1012 * ms, 2013 * ms}, starts,
			"a hedge at the delay; its failure's replacement at once; every later one after the 1s backoff")
	})
}

// A run of the hedge timer that fires as the last copy fails must not end
// the retry's backoff: the retry begins after its 1s wait, every time.
func TestHedgeRegressionStaleFireKeepsBackoff(t *testing.T) {
	for range 100 {
		synctest.Test(t, func(t *testing.T) {
			epoch := time.Now()
			var retried []time.Duration
			p := hedgePolicy(t, retry.WithHedge(10*time.Millisecond, 2), retry.WithMaxAttempts(2),
				retry.WithObserver(&retry.Observer{AttemptStart: func(ctx context.Context, e retry.AttemptStartInfo) context.Context {
					if e.Attempt == 2 && !e.Hedge {
						retried = append(retried, time.Since(epoch))
					}
					return ctx
				}}))
			_, err := retry.DoHedged(context.Background(), func(ctx context.Context) (int, error) {
				select {
				case <-time.After(10 * time.Millisecond): // the hedge delay
				case <-ctx.Done():
				}
				return 0, errHedgeOp
			}, p)
			require.ErrorIs(t, err, retry.ErrExhausted)
			for _, at := range retried {
				assert.Equal(t, 1010*time.Millisecond, at, "the retry waits its 1s backoff")
			}
		})
	}
}

// The same race with a server's hint: the retry waits the whole hint.
func TestHedgeRegressionStaleFireKeepsHint(t *testing.T) {
	for range 100 {
		synctest.Test(t, func(t *testing.T) {
			epoch := time.Now()
			var retried []time.Duration
			p := hedgePolicy(t, retry.WithHedge(10*time.Millisecond, 2), retry.WithMaxAttempts(3),
				retry.WithObserver(&retry.Observer{AttemptStart: func(ctx context.Context, e retry.AttemptStartInfo) context.Context {
					if e.Attempt > 1 && !e.Hedge {
						retried = append(retried, time.Since(epoch))
					}
					return ctx
				}}))
			_, _ = retry.DoHedged(context.Background(), func(ctx context.Context) (int, error) {
				select {
				case <-time.After(10 * time.Millisecond): // the hedge delay
				case <-ctx.Done():
					return 0, ctx.Err()
				}
				return 0, retry.After(500*time.Millisecond, errHedgeOp)
			}, p)
			require.NotEmpty(t, retried)
			assert.Equal(t, 510*time.Millisecond, retried[0], "the retry waits the whole hint")
		})
	}
}

// runtime.Goexit in a hedge (t.FailNow in an op) ends the call: the other
// copies are cancelled and waited for, and the caller's goroutine exits
// as it would had the copy run there.
func TestHedgeRegressionGoexitInAHedge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n, ended atomic.Int32
		var dones atomic.Int32
		returned, exited := false, false
		p := hedgePolicy(t, retry.WithHedge(time.Millisecond, 2), retry.WithMaxAttempts(3),
			retry.WithObserver(&retry.Observer{Done: func(context.Context, retry.DoneInfo) { dones.Add(1) }}))
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer func() { exited = !returned }()
			_, _ = retry.DoHedged(context.Background(), func(ctx context.Context) (int, error) {
				if n.Add(1) == 2 {
					runtime.Goexit()
				}
				<-ctx.Done()
				ended.Add(1)
				return 0, ctx.Err()
			}, p)
			returned = true
		}()
		<-done
		assert.True(t, exited, "the caller's goroutine exits")
		assert.False(t, returned)
		assert.Equal(t, int32(2), n.Load(), "no copy after the one that exited")
		assert.Equal(t, int32(1), ended.Load(), "the first copy was cancelled and returned before the call ended")
		assert.Equal(t, int32(1), dones.Load())
	})
}

// runtime.Goexit in the caller's copy: the hedges are cancelled and
// waited for, Done is reported once, and the goroutine exits, as with Do.
func TestHedgeRegressionGoexitInTheCallersCopy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n, ended, dones atomic.Int32
		returned, exited := false, false
		p := hedgePolicy(t, retry.WithHedge(time.Millisecond, 2), retry.WithMaxAttempts(3),
			retry.WithObserver(&retry.Observer{Done: func(context.Context, retry.DoneInfo) { dones.Add(1) }}))
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer func() { exited = !returned }()
			_, _ = retry.DoHedged(context.Background(), func(ctx context.Context) (int, error) {
				if n.Add(1) == 1 {
					time.Sleep(5 * time.Millisecond)
					runtime.Goexit()
				}
				<-ctx.Done()
				ended.Add(1)
				return 0, ctx.Err()
			}, p)
			returned = true
		}()
		<-done
		assert.True(t, exited)
		assert.Equal(t, int32(2), n.Load())
		assert.Equal(t, int32(1), ended.Load(), "the hedge was cancelled and waited for")
		assert.Equal(t, int32(1), dones.Load())
	})
}

// A Done hook that panics is called once, hedged or not, when the call
// ends between attempts (here: the context ends during the backoff).
func TestHedgeRegressionDonePanicsOnce(t *testing.T) {
	for _, hedged := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			dones := 0
			opts := []retry.Option{retry.WithMaxAttempts(3), retry.WithObserver(&retry.Observer{Done: func(context.Context, retry.DoneInfo) {
				dones++
				panic("done hook")
			}})}
			if hedged {
				opts = append(opts, retry.WithHedge(time.Hour, 2))
			} else {
				opts = append(opts, retry.WithHedge(0, 1))
			}
			p := hedgePolicy(t, opts...)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			time.AfterFunc(500*time.Millisecond, cancel) // during the 1s backoff
			var r any
			func() {
				defer func() { r = recover() }()
				_, _ = retry.DoHedged(ctx, func(context.Context) (int, error) { return 0, errHedgeOp }, p)
			}()
			assert.Equal(t, "done hook", r, "hedged=%v", hedged)
			assert.Equal(t, 1, dones, "hedged=%v: Done calls", hedged)
		})
	}
}

// After a pushback the call cancels its other copies itself: their
// cancellation is not judged (with RetryOn it would stop the call), nor
// counted by the breaker, and the retry waits for the hint.
func TestHedgeRegressionPushbackSiblingNotJudged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 100})
		require.NoError(t, err)
		c := script(
			step{Latency: time.Second, Value: 1},
			step{Latency: time.Millisecond, Err: retry.After(100*time.Millisecond, errHedgeOp)},
			step{Latency: 50 * time.Millisecond, Value: 3},
		)
		var lost []bool
		p := hedgePolicy(t, retry.WithHedge(10*time.Millisecond, 3), retry.WithBreaker(b),
			retry.WithClassifier(retry.RetryOn(errHedgeOp)),
			retry.WithObserver(&retry.Observer{AttemptEnd: func(_ context.Context, e retry.AttemptEndInfo) { lost = append(lost, e.Lost) }}))
		v, err := retry.DoHedged(context.Background(), c.op, p)
		require.NoError(t, err)
		assert.Equal(t, 3, v)
		assert.Equal(t, uint64(1), b.Stats().Failures, "only the pushback is a failure")
		assert.Equal(t, []bool{false, true, false}, lost, "the pushback, the copy the call cancelled (lost), the retry")
	})
}

// One Done per call, one AttemptEnd per AttemptStart, whatever the copies
// do (success, transient, permanent, pushback), with a breaker, and the
// caller's context ending at any time.
func TestHedgeRegressionObserverBalance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rapid.Check(hedgeBubbleT{t}, func(rt *rapid.T) {
			n := rapid.IntRange(1, 6).Draw(rt, "steps")
			steps := make([]step, n)
			for i := range steps {
				steps[i].Latency = time.Duration(rapid.IntRange(1, 40).Draw(rt, "lat")) * time.Millisecond
				switch rapid.IntRange(0, 3).Draw(rt, "out") {
				case 0:
					steps[i].Value = i + 1
				case 1:
					steps[i].Err = errHedgeOp
				case 2:
					steps[i].Err = retry.Permanent(errHedgeOp)
				case 3:
					steps[i].Err = retry.After(30*time.Millisecond, errHedgeOp)
				}
			}
			c := script(steps...)
			starts, ends, dones := 0, 0, 0
			// No limit on attempts (a storm, before the fix) needs the
			// elapsed limit to end.
			maxAttempts := rapid.IntRange(0, 6).Draw(rt, "max")
			maxElapsed := time.Duration(rapid.IntRange(0, 150).Draw(rt, "maxElapsed")) * time.Millisecond
			if maxAttempts == 0 {
				maxElapsed = max(maxElapsed, time.Millisecond)
			}
			b, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 1000})
			if err != nil {
				rt.Fatal(err)
			}
			p, err := retry.NewPolicy(retry.WithHedge(time.Duration(rapid.IntRange(0, 20).Draw(rt, "delay"))*time.Millisecond, rapid.IntRange(2, 4).Draw(rt, "inflight")),
				retry.WithMaxAttempts(maxAttempts), retry.WithBreaker(b), retry.WithMaxElapsed(maxElapsed),
				retry.WithBackoff(retry.Constant(20*time.Millisecond)), retry.WithJitter(retry.NoJitter),
				retry.WithObserver(&retry.Observer{
					AttemptStart: func(ctx context.Context, _ retry.AttemptStartInfo) context.Context { starts++; return ctx },
					AttemptEnd:   func(context.Context, retry.AttemptEndInfo) { ends++ },
					Done:         func(context.Context, retry.DoneInfo) { dones++ },
				}))
			if err != nil {
				rt.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if cut := rapid.IntRange(0, 100).Draw(rt, "cancelAt"); cut > 0 {
				time.AfterFunc(time.Duration(cut)*time.Millisecond, cancel)
			}
			_, _ = retry.DoHedged(ctx, c.op, p)
			if starts != ends || dones != 1 {
				rt.Fatalf("starts %d ends %d dones %d", starts, ends, dones)
			}
		})
	})
}

// Every value a copy returned with a nil error is either the call's result
// or given to the discard function, exactly once, before the call
// returns; some copies ignore their context.
func TestHedgeRegressionDiscardExactlyOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rapid.Check(hedgeBubbleT{t}, func(rt *rapid.T) {
			n := rapid.IntRange(1, 6).Draw(rt, "steps")
			type st struct {
				lat      time.Duration
				out      int
				stubborn bool
			}
			sts := make([]st, n)
			for i := range sts {
				sts[i] = st{time.Duration(rapid.IntRange(1, 40).Draw(rt, "lat")) * time.Millisecond, rapid.IntRange(0, 3).Draw(rt, "out"), rapid.Bool().Draw(rt, "stubborn")}
			}
			var mu sync.Mutex
			next := 0
			succeeded := map[int]bool{}
			discarded := map[int]int{}
			op := func(ctx context.Context) (int, error) {
				mu.Lock()
				next++
				i := next
				s := sts[min(i, n)-1]
				mu.Unlock()
				if s.stubborn {
					time.Sleep(s.lat)
				} else {
					select {
					case <-time.After(s.lat):
					case <-ctx.Done():
						return 0, ctx.Err()
					}
				}
				switch s.out {
				case 1:
					return 0, errHedgeOp
				case 2:
					return 0, retry.Permanent(errHedgeOp)
				case 3:
					return 0, retry.After(30*time.Millisecond, errHedgeOp)
				}
				mu.Lock()
				succeeded[i] = true
				mu.Unlock()
				return i, nil
			}
			p, err := retry.NewPolicy(retry.WithHedge(time.Duration(rapid.IntRange(0, 20).Draw(rt, "delay"))*time.Millisecond, rapid.IntRange(2, 4).Draw(rt, "inflight")),
				retry.WithMaxAttempts(rapid.IntRange(1, 6).Draw(rt, "max")),
				retry.WithBackoff(retry.Constant(20*time.Millisecond)), retry.WithJitter(retry.NoJitter),
				retry.WithHedgeDiscard(func(v int) { mu.Lock(); discarded[v]++; mu.Unlock() }))
			if err != nil {
				rt.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if cut := rapid.IntRange(0, 100).Draw(rt, "cancelAt"); cut > 0 {
				time.AfterFunc(time.Duration(cut)*time.Millisecond, cancel)
			}
			v, err := retry.DoHedged(ctx, op, p)
			mu.Lock()
			defer mu.Unlock()
			for i := range succeeded {
				want := 1
				if err == nil && i == v {
					want = 0
				}
				if discarded[i] != want {
					rt.Fatalf("value %d (result %d, err %v): discarded %d times, want %d", i, v, err, discarded[i], want)
				}
			}
		})
	})
}
