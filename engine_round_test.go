package retry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// roundLog records an observer's events as short lines: "start 2 hedge",
// "end 1 lost", "end 2 err", "end 2 stop", "done 2/1 exhausted" (the
// call's Attempts and Hedges, and ReasonOf its Err), "retry 2".
type roundLog struct {
	mu     sync.Mutex
	events []string
}

func (l *roundLog) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, fmt.Sprintf(format, args...))
}

func (l *roundLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.events
	l.events = nil
	return e
}

func (l *roundLog) observer() *retry.Observer {
	return &retry.Observer{
		AttemptStart: func(ctx context.Context, e retry.AttemptStartInfo) context.Context {
			if e.Hedge {
				l.add("start %d hedge", e.Attempt)
			} else {
				l.add("start %d", e.Attempt)
			}
			return context.WithValue(ctx, attemptKey{}, e.Attempt)
		},
		AttemptEnd: func(_ context.Context, e retry.AttemptEndInfo) {
			switch {
			case e.Lost:
				l.add("end %d lost", e.Attempt)
			case e.Stop != nil:
				l.add("end %d stop", e.Attempt)
			case e.Err != nil:
				l.add("end %d err", e.Attempt)
			default:
				l.add("end %d", e.Attempt)
			}
		},
		RetryScheduled: func(_ context.Context, e retry.RetryInfo) { l.add("retry %d", e.Attempt) },
		Done: func(_ context.Context, e retry.DoneInfo) {
			l.add("done %d/%d %s", e.Attempts, e.Hedges, retry.ReasonOf(e.Err))
		},
	}
}

func newRoundPolicy(t *testing.T, l *roundLog, opts ...retry.Option) *retry.Policy {
	t.Helper()
	p, err := retry.NewPolicy(append([]retry.Option{retry.WithHedge(10*time.Millisecond, 3),
		retry.WithBackoff(retry.Constant(100 * time.Millisecond)), retry.WithJitter(retry.NoJitter),
		retry.WithObserver(l.observer())}, opts...)...)
	require.NoError(t, err)
	return p
}

// The observer hears of a hedged call what DoHedged tells it, whatever the
// order of the reports: one Done, with the report of the last copy and
// the call's counts; the losers' AttemptEnd marked Lost, the winner's not.
func TestEngineHedgeOneDone(t *testing.T) {
	ctx := context.Background()
	ms := func(n int) time.Time { return hedgeT0.Add(time.Duration(n) * time.Millisecond) }
	t.Run("the first copy wins; the hedges lose", func(t *testing.T) {
		var l roundLog
		p := newRoundPolicy(t, &l)
		_, c1, err := p.Begin(ctx, retry.Progress{}, ms(0))
		require.NoError(t, err)
		_, c2, err := p.Hedge(ctx, c1, ms(10))
		require.NoError(t, err)
		_, c3, err := p.Hedge(ctx, c2, ms(20))
		require.NoError(t, err)
		require.NoError(t, p.Succeeded(ctx, c1, ms(25)))
		require.ErrorIs(t, p.Failed(canceledCtx(), c3, context.Canceled, ms(25)).Err, context.Canceled)
		v := p.Failed(canceledCtx(), c2, context.Canceled, ms(26))
		require.ErrorIs(t, v.Err, context.Canceled)
		assert.Equal(t, 3, v.Next.Attempts, "the call's count")
		assert.Equal(t, []string{"start 1", "start 2 hedge", "start 3 hedge", "end 1", "end 3 lost", "end 2 lost", "done 3/2 success"}, l.take())
	})
	t.Run("a hedge wins; a loser's late success is the breaker's, not the budget's", func(t *testing.T) {
		var l roundLog
		b, err := retry.NewBudget(retry.BudgetConfig{Capacity: 4, PerSuccess: 0.5})
		require.NoError(t, err)
		p := newRoundPolicy(t, &l, retry.WithBudget(b))
		_, c1, err := p.Begin(ctx, retry.Progress{}, ms(0))
		require.NoError(t, err)
		_, c2, err := p.Hedge(ctx, c1, ms(10))
		require.NoError(t, err)
		require.Equal(t, 3.0, b.TokensAt(ms(10)))
		require.NoError(t, p.Succeeded(ctx, c2, ms(15)))
		assert.Equal(t, 3.5, b.TokensAt(ms(15)))
		require.NoError(t, p.Succeeded(ctx, c1, ms(16)))
		assert.Equal(t, 3.5, b.TokensAt(ms(16)), "one deposit per call")
		assert.Equal(t, []string{"start 1", "start 2 hedge", "end 2", "end 1 lost", "done 2/1 success"}, l.take())
	})
	t.Run("every copy fails: the last decides, on the call's count", func(t *testing.T) {
		var l roundLog
		p := newRoundPolicy(t, &l, retry.WithMaxAttempts(4))
		_, c1, err := p.Begin(ctx, retry.Progress{}, ms(0))
		require.NoError(t, err)
		_, c2, err := p.Hedge(ctx, c1, ms(10))
		require.NoError(t, err)
		require.ErrorIs(t, p.Failed(canceledCtx(), c1, errHedgeOp, ms(30)).Err, context.Canceled)
		assert.Equal(t, []string{"start 1", "start 2 hedge", "end 1 err"}, l.take(), "no Done while a copy runs")
		v := p.Failed(ctx, c2, errHedgeOp, ms(35)) // c2.Attempts is 2 already: nothing to set
		require.NoError(t, v.Err)
		assert.Equal(t, 100*time.Millisecond, v.Wait)
		assert.Equal(t, 2, v.Next.Attempts)
		assert.Equal(t, []string{"end 2 err", "retry 2"}, l.take())

		// The retry is a round of its own, which hedges again; the Done
		// counts the call's attempts and hedges, of both rounds.
		_, c3, err := p.Begin(ctx, v.Next, ms(135))
		require.NoError(t, err)
		_, c4, err := p.Hedge(ctx, c3, ms(145))
		require.NoError(t, err)
		_, _, err = p.Hedge(ctx, c4, ms(155))
		require.ErrorIs(t, err, retry.ErrExhausted)
		require.ErrorIs(t, p.Failed(canceledCtx(), c4, errHedgeOp, ms(160)).Err, context.Canceled)
		v = p.Failed(ctx, c3, errHedgeOp, ms(170))
		require.ErrorIs(t, v.Err, retry.ErrExhausted)
		assert.Equal(t, []string{"start 3", "start 4 hedge", "end 4 err", "end 3 stop", "done 4/2 exhausted"}, l.take())
	})
	t.Run("a call never hedged reports as before", func(t *testing.T) {
		var l roundLog
		p := newRoundPolicy(t, &l)
		_, c1, err := p.Begin(ctx, retry.Progress{}, ms(0))
		require.NoError(t, err)
		require.NoError(t, p.Succeeded(ctx, c1, ms(5)))
		assert.Equal(t, []string{"start 1", "end 1", "done 1/0 success"}, l.take())
	})
}

// Misuse of a hedged call's reports is refused and changes nothing: the
// call still ends with one Done.
func TestEngineHedgeMisuse(t *testing.T) {
	ctx := context.Background()
	begin := func(t *testing.T, p *retry.Policy) (c1, c2 retry.Progress) {
		_, c1, err := p.Begin(ctx, retry.Progress{}, hedgeT0)
		require.NoError(t, err)
		_, c2, err = p.Hedge(ctx, c1, hedgeT0)
		require.NoError(t, err)
		return c1, c2
	}
	t.Run("a loser reported twice, and after the call's Done", func(t *testing.T) {
		var l roundLog
		b, err := retry.NewBudget(retry.BudgetConfig{Capacity: 4})
		require.NoError(t, err)
		p := newRoundPolicy(t, &l, retry.WithBudget(b))
		c1, c2 := begin(t, p)
		_, c3, err := p.Hedge(ctx, c2, hedgeT0)
		require.NoError(t, err)
		require.NoError(t, p.Succeeded(ctx, c2, hedgeT0))
		require.ErrorIs(t, p.Failed(canceledCtx(), c1, context.Canceled, hedgeT0).Err, context.Canceled)
		l.take()
		assert.ErrorIs(t, p.Failed(canceledCtx(), c1, context.Canceled, hedgeT0).Err, retry.ErrDuplicateReport)
		assert.ErrorIs(t, p.Succeeded(ctx, c1, hedgeT0), retry.ErrDuplicateReport)
		assert.Empty(t, l.take())
		require.ErrorIs(t, p.Failed(canceledCtx(), c3, context.Canceled, hedgeT0).Err, context.Canceled)
		assert.Equal(t, []string{"end 3 lost", "done 3/2 success"}, l.take())
		tokens := b.TokensAt(hedgeT0)
		for _, c := range []retry.Progress{c1, c2, c3} {
			assert.ErrorIs(t, p.Failed(canceledCtx(), c, context.Canceled, hedgeT0).Err, retry.ErrDuplicateReport)
			assert.ErrorIs(t, p.Succeeded(ctx, c, hedgeT0), retry.ErrDuplicateReport)
			_, _, err := p.Hedge(ctx, c, hedgeT0)
			assert.ErrorIs(t, err, retry.ErrInvalidConfig, "a hedge of a call that is over")
		}
		assert.Empty(t, l.take())
		assert.Equal(t, tokens, b.TokensAt(hedgeT0), "nothing withdrawn")
	})
	t.Run("a hedge after a copy won, copies still running", func(t *testing.T) {
		var l roundLog
		p := newRoundPolicy(t, &l)
		c1, c2 := begin(t, p)
		require.NoError(t, p.Succeeded(ctx, c1, hedgeT0))
		_, _, err := p.Hedge(ctx, c2, hedgeT0)
		require.ErrorIs(t, err, retry.ErrInvalidConfig)
		require.ErrorIs(t, p.Failed(canceledCtx(), c2, context.Canceled, hedgeT0).Err, context.Canceled)
		assert.Equal(t, []string{"start 1", "start 2 hedge", "end 1", "end 2 lost", "done 2/1 success"}, l.take())
	})
	t.Run("a copy reported to another policy", func(t *testing.T) {
		var l roundLog
		b, err := retry.NewBudget(retry.BudgetConfig{Capacity: 4})
		require.NoError(t, err)
		p := newRoundPolicy(t, &l, retry.WithBudget(b))
		other := newRoundPolicy(t, &l)
		c1, c2 := begin(t, p)
		assert.ErrorIs(t, other.Succeeded(ctx, c1, hedgeT0), retry.ErrInvalidConfig)
		assert.ErrorIs(t, other.Failed(ctx, c2, errHedgeOp, hedgeT0).Err, retry.ErrInvalidConfig)
		_, _, err = other.Hedge(ctx, c2, hedgeT0)
		assert.ErrorIs(t, err, retry.ErrInvalidConfig)
		_, _, err = other.Hedge(ctx, c1, hedgeT0)
		assert.ErrorIs(t, err, retry.ErrInvalidConfig)
		l.take()
		require.NoError(t, p.Succeeded(ctx, c2, hedgeT0))
		require.ErrorIs(t, p.Failed(canceledCtx(), c1, context.Canceled, hedgeT0).Err, context.Canceled)
		assert.Equal(t, []string{"end 2", "end 1 lost", "done 2/1 success"}, l.take())
	})
	t.Run("another policy's first hedge of a copy", func(t *testing.T) {
		var l roundLog
		b, err := retry.NewBudget(retry.BudgetConfig{Capacity: 4})
		require.NoError(t, err)
		p := newRoundPolicy(t, &l, retry.WithBudget(b))
		other := newRoundPolicy(t, &l)
		_, c1, err := p.Begin(ctx, retry.Progress{}, hedgeT0)
		require.NoError(t, err)
		_, _, err = other.Hedge(ctx, c1, hedgeT0)
		require.ErrorIs(t, err, retry.ErrInvalidConfig)
		_, c2, err := p.Hedge(ctx, c1, hedgeT0)
		require.NoError(t, err, "the right policy still hedges it")
		require.NoError(t, p.Succeeded(ctx, c1, hedgeT0))
		require.ErrorIs(t, p.Failed(canceledCtx(), c2, context.Canceled, hedgeT0).Err, context.Canceled)
		assert.Equal(t, []string{"start 1", "start 2 hedge", "end 1", "end 2 lost", "done 2/1 success"}, l.take())
	})
	t.Run("a hedge of a call between its attempts", func(t *testing.T) {
		var l roundLog
		p := newRoundPolicy(t, &l)
		_, c1, err := p.Begin(ctx, retry.Progress{}, hedgeT0)
		require.NoError(t, err)
		v := p.Failed(ctx, c1, errHedgeOp, hedgeT0)
		require.NoError(t, v.Err)
		_, _, err = p.Hedge(ctx, v.Next, hedgeT0)
		require.ErrorIs(t, err, retry.ErrInvalidConfig, "no copy runs: Begin the retry")
		_, _, err = p.Hedge(ctx, c1, hedgeT0)
		require.ErrorIs(t, err, retry.ErrInvalidConfig, "its copy was reported alone")
	})
	t.Run("an encoded copy keeps no record", func(t *testing.T) {
		var l roundLog
		p := newRoundPolicy(t, &l)
		c1, c2 := begin(t, p)
		b, err := json.Marshal(c2)
		require.NoError(t, err)
		var decoded retry.Progress
		require.NoError(t, json.Unmarshal(b, &decoded))
		assert.Equal(t, 2, decoded.Attempts)
		_, _, err = p.Hedge(ctx, decoded, hedgeT0)
		require.ErrorIs(t, err, retry.ErrInvalidConfig, "no copy runs that it knows of")
		require.ErrorIs(t, p.Succeeded(ctx, decoded, hedgeT0), retry.ErrInvalidConfig)
		l.take()
		require.NoError(t, p.Succeeded(ctx, c2, hedgeT0))
		require.ErrorIs(t, p.Failed(canceledCtx(), c1, context.Canceled, hedgeT0).Err, context.Canceled)
		assert.Equal(t, []string{"end 2", "end 1 lost", "done 2/1 success"}, l.take())
	})
	t.Run("a bad report of a copy ends the call, once", func(t *testing.T) {
		var l roundLog
		p := newRoundPolicy(t, &l)
		c1, c2 := begin(t, p)
		require.ErrorIs(t, p.Failed(ctx, c2, nil, hedgeT0).Err, retry.ErrInvalidConfig)
		require.ErrorIs(t, p.Failed(canceledCtx(), c1, context.Canceled, hedgeT0).Err, context.Canceled)
		assert.Equal(t, []string{"start 1", "start 2 hedge", "end 2 stop", "done 2/1 invalid", "end 1 lost"}, l.take())
	})
}

// Copies reported from goroutines of their own, while the driver hedges:
// each call gets one Done, after every AttemptEnd of its copies, with as
// many attempts as started (under -race).
func TestEngineHedgeConcurrentReports(t *testing.T) {
	ctx := context.Background()
	for i := range 300 {
		var l roundLog
		p := newRoundPolicy(t, &l, retry.WithHedge(0, 4))
		_, c1, err := p.Begin(ctx, retry.Progress{}, hedgeT0)
		require.NoError(t, err)
		var wg sync.WaitGroup
		report := func(c retry.Progress, k int) {
			defer wg.Done()
			if k == i%4 {
				_ = p.Succeeded(ctx, c, hedgeT0)
			} else {
				_ = p.Failed(canceledCtx(), c, context.Canceled, hedgeT0)
			}
		}
		wg.Add(1)
		go report(c1, 0) // races with the first Hedge, which may find it reported
		last := c1
		for k := 1; k < 4; k++ {
			_, h, err := p.Hedge(ctx, last, hedgeT0)
			if err != nil {
				break
			}
			wg.Add(1)
			go report(h, k)
			last = h
		}
		wg.Wait()
		events := l.take()
		starts, ends, done := 0, 0, ""
		for _, e := range events {
			switch {
			case e[:5] == "start":
				starts++
			case e[:3] == "end":
				ends++
				require.Empty(t, done, "an AttemptEnd after the Done: %v", events)
			case e[:4] == "done":
				require.Empty(t, done, "a second Done: %v", events)
				done = e
			}
		}
		require.Equal(t, starts, ends, "%v", events)
		require.NotEmpty(t, done, "%v", events)
		var a, h int
		_, err = fmt.Sscanf(done, "done %d/%d", &a, &h)
		require.NoError(t, err)
		require.Equal(t, starts, a, "%v", events)
		require.Equal(t, starts-1, h, "%v", events)
	}
}

// A hedged call whose copies fail, driven by DoHedged and by the engine as
// the recipe of Policy.Hedge allows (a copy that fails while others run is
// reported here under a context that is done, which counts it as nothing;
// the next hedge goes at once the first time since the last retry): the
// observer hears the same events,
// the call ends with the same error after the same attempts.
func TestEngineHedgeFailuresMatchDoHedged(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := []struct {
		name     string
		attempts int
		lat      []time.Duration // of each copy, by attempt number
		engine   func(p *retry.Policy, at func(int) time.Time) error
		want     []string
	}{
		{"two copies fail", 2, []time.Duration{ms(30), ms(30)},
			func(p *retry.Policy, at func(int) time.Time) error {
				ctx := context.Background()
				_, c1, _ := p.Begin(ctx, retry.Progress{}, at(0))
				_, c2, _ := p.Hedge(ctx, c1, at(10))
				p.Failed(canceledCtx(), c1, errHedgeOp, at(30))
				return p.Failed(ctx, c2, errHedgeOp, at(40)).Err
			},
			[]string{"start 1", "start 2 hedge", "end 1 err", "end 2 stop", "done 2/1 exhausted"}},
		{"a failure sends the next hedge at once", 3, []time.Duration{ms(30), ms(30), ms(30)},
			func(p *retry.Policy, at func(int) time.Time) error {
				ctx := context.Background()
				_, c1, _ := p.Begin(ctx, retry.Progress{}, at(0))
				_, c2, _ := p.Hedge(ctx, c1, at(10))
				p.Failed(canceledCtx(), c1, errHedgeOp, at(30))
				_, c3, _ := p.Hedge(ctx, c2, at(30))
				p.Failed(canceledCtx(), c2, errHedgeOp, at(40))
				return p.Failed(ctx, c3, errHedgeOp, at(60)).Err
			},
			[]string{"start 1", "start 2 hedge", "end 1 err", "start 3 hedge", "end 2 err", "end 3 stop", "done 3/2 exhausted"}},
		{"the last failure decides a retry, which fails", 4, []time.Duration{ms(30), ms(30), ms(5), ms(5)},
			func(p *retry.Policy, at func(int) time.Time) error {
				ctx := context.Background()
				_, c1, _ := p.Begin(ctx, retry.Progress{}, at(0))
				_, c2, _ := p.Hedge(ctx, c1, at(10))
				p.Failed(canceledCtx(), c1, errHedgeOp, at(30))
				_, c3, _ := p.Hedge(ctx, c2, at(30))
				p.Failed(canceledCtx(), c3, errHedgeOp, at(35))
				v := p.Failed(ctx, c2, errHedgeOp, at(40))
				if v.Err != nil {
					return v.Err
				}
				_, c4, _ := p.Begin(ctx, v.Next, at(40).Add(v.Wait))
				return p.Failed(ctx, c4, errHedgeOp, at(145)).Err
			},
			[]string{"start 1", "start 2 hedge", "end 1 err", "start 3 hedge", "end 3 err", "end 2 err", "retry 3",
				"start 4", "end 4 stop", "done 4/2 exhausted"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var doLog, engineLog roundLog
			var doErr error
			synctest.Test(t, func(t *testing.T) {
				p := newRoundPolicy(t, &doLog, retry.WithHedge(10*time.Millisecond, 2), retry.WithMaxAttempts(tc.attempts))
				_, doErr = retry.DoHedged(context.Background(), func(ctx context.Context) (int, error) {
					select {
					case <-time.After(tc.lat[ctx.Value(attemptKey{}).(int)-1]):
						return 0, errHedgeOp
					case <-ctx.Done():
						return 0, ctx.Err()
					}
				}, p)
			})
			p := newRoundPolicy(t, &engineLog, retry.WithHedge(10*time.Millisecond, 2), retry.WithMaxAttempts(tc.attempts))
			err := tc.engine(p, func(n int) time.Time { return hedgeT0.Add(ms(n)) })
			assert.Equal(t, tc.want, doLog.take(), "DoHedged")
			assert.Equal(t, tc.want, engineLog.take(), "the engine")
			require.Error(t, err)
			assert.Equal(t, doErr.Error(), err.Error())
		})
	}
}
