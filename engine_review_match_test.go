package retry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordEvents is an observer that writes every event it hears to ev.
func recordEvents(ev *[]string) *Observer {
	return &Observer{
		AttemptStart: func(ctx context.Context, e AttemptStartInfo) context.Context {
			*ev = append(*ev, fmt.Sprint("start", e))
			return ctx
		},
		AttemptEnd: func(_ context.Context, e AttemptEndInfo) {
			*ev = append(*ev, fmt.Sprint("end", e.Attempt, e.Err, e.Stop, e.Duration))
		},
		RetryScheduled: func(_ context.Context, e RetryInfo) { *ev = append(*ev, fmt.Sprint("retry", e)) },
		BudgetRefused:  func(_ context.Context, e BudgetRefusedInfo) { *ev = append(*ev, fmt.Sprint("refused", e)) },
		BreakerChange:  func(_ context.Context, e BreakerChangeInfo) { *ev = append(*ev, fmt.Sprint("breaker", e)) },
		Done:           func(_ context.Context, e DoneInfo) { *ev = append(*ev, fmt.Sprint("done", e)) },
	}
}

// Do and the engine, driven alike on synctest's clock, give the same
// result and the same observer events, the attempt that trips the breaker
// included (review e: the engine's refusal at Begin used to lose the last
// error that Do's carried).
func TestObserverEventsDoMatchEngine(t *testing.T) {
	cases := []struct {
		name     string
		outcomes []error
		opts     func() []Option
	}{
		{"trip", []error{errReview, errReview, errReview, nil}, func() []Option {
			br, _ := NewBreaker(BreakerConfig{FailureThreshold: 2, RecoveryTimeout: time.Hour})
			return []Option{WithBreaker(br)}
		}},
		{"budget", []error{errReview, errReview, errReview, nil}, func() []Option {
			b, _ := NewBudget(BudgetConfig{Capacity: 1})
			return []Option{WithBudget(b)}
		}},
		{"hint", []error{After(3*time.Millisecond, errReview), TimedOut(errReview), Permanent(errReview)}, func() []Option { return nil }},
		{"elapsed", []error{errReview, errReview, errReview, errReview, errReview}, func() []Option {
			return []Option{WithMaxElapsed(25 * time.Millisecond)}
		}},
		{"notIdempotent", []error{errReview, NotIdempotent(errReview)}, func() []Option {
			br, _ := NewBreaker(BreakerConfig{FailureThreshold: 2, RecoveryTimeout: time.Hour})
			return []Option{WithBreaker(br)}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			run := func(engine bool) (ev []string, res string) {
				synctest.Test(t, func(t *testing.T) {
					opts := append([]Option{WithObserver(recordEvents(&ev)), WithMaxAttempts(5),
						WithBackoff(Constant(10 * time.Millisecond)), WithRand(rand.New(rand.NewPCG(1, 2)))}, c.opts()...)
					p, err := NewPolicy(opts...)
					require.NoError(t, err)
					i := 0
					op := func(context.Context) (int, error) {
						time.Sleep(time.Millisecond)
						e := c.outcomes[i]
						i++
						return 0, e
					}
					if !engine {
						_, err := Do(context.Background(), op, p)
						res = fmt.Sprint(err)
						return
					}
					var pr Progress
					for {
						ctx, cur, err := p.Begin(context.Background(), pr, time.Now())
						if err != nil {
							res = fmt.Sprint(err)
							return
						}
						_, e := op(ctx)
						if e == nil {
							res = fmt.Sprint(p.Succeeded(ctx, cur, time.Now()))
							return
						}
						v := p.Failed(ctx, cur, e, time.Now())
						if v.Err != nil {
							res = fmt.Sprint(v.Err)
							return
						}
						time.Sleep(v.Wait)
						pr = v.Next
					}
				})
				return ev, res
			}
			doEvents, doResult := run(false)
			engineEvents, engineResult := run(true)
			assert.Equal(t, doResult, engineResult)
			assert.Equal(t, doEvents, engineEvents)
		})
	}
}

// Two reports of each admitted attempt, racing (Succeeded against
// Failed): exactly one is taken, the other is ErrDuplicateReport, and the
// budget, the breaker and the observer count the taken ones (review d).
func TestConcurrentDuplicateReports(t *testing.T) {
	bu, err := NewBudget(BudgetConfig{Capacity: 1e9})
	require.NoError(t, err)
	br, err := NewBreaker(BreakerConfig{FailureThreshold: 1 << 30})
	require.NoError(t, err)
	var ends, dones atomic.Int64
	obs := &Observer{AttemptEnd: func(context.Context, AttemptEndInfo) { ends.Add(1) }, Done: func(context.Context, DoneInfo) { dones.Add(1) }}
	p, err := NewPolicy(WithBudget(bu), WithBreaker(br), WithObserver(obs), WithMaxAttempts(0), WithBackoff(Constant(time.Millisecond)))
	require.NoError(t, err)
	var okS, okF, dup atomic.Int64
	const G, N = 4, 300
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for range G {
		wg.Go(func() {
			for range N {
				ctx, pr, err := p.Begin(context.Background(), Progress{}, now)
				if !assert.NoError(t, err) {
					return
				}
				var both sync.WaitGroup
				both.Go(func() {
					switch err := p.Succeeded(ctx, pr, now); {
					case err == nil:
						okS.Add(1)
					case errors.Is(err, ErrDuplicateReport):
						dup.Add(1)
					}
				})
				both.Go(func() {
					switch v := p.Failed(ctx, pr, errReview, now); {
					case v.Err == nil:
						okF.Add(1)
					case errors.Is(v.Err, ErrDuplicateReport):
						dup.Add(1)
					}
				})
				both.Wait()
			}
		})
	}
	wg.Wait()
	const total = G * N
	assert.Equal(t, int64(total), okS.Load()+okF.Load())
	assert.Equal(t, int64(total), dup.Load())
	assert.Equal(t, uint64(okF.Load()), bu.Stats().Allowed)
	assert.Equal(t, 1e9-float64(okF.Load()), bu.TokensAt(now), "a duplicate Failed withdraws nothing (deposits stop at capacity)")
	assert.Equal(t, uint64(okF.Load()), br.Stats().Failures)
	assert.Equal(t, int64(total), ends.Load())
	assert.Equal(t, okS.Load(), dones.Load())
}
