package retry_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// A copy of a hedged call that fails while others run, reported under the
// caller's context, is judged as DoHedged judges it: a stop ends the call
// (its Verdict is the stop, a Hedge is refused, the others are losers and
// the Done carries the stop), any other failure lets the others go on and
// its Verdict's Wait is DoHedged's wait before the next hedge: 0 the
// first time since the call's last retry, then the wait a retry takes.
func TestEngineHedgeFailureWhileOthersRun(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	permanent := retry.Permanent(errHedgeOp)
	tests := []struct {
		name   string
		lat    []time.Duration // of each copy, by attempt number
		errs   []error         // what each copy returns (nil: success)
		engine func(t *testing.T, p *retry.Policy, at func(int) time.Time) error
		want   []string
	}{
		{"a hedge's stop ends the call, the slow first copy lost", []time.Duration{ms(30), ms(5)}, []error{nil, permanent},
			func(t *testing.T, p *retry.Policy, at func(int) time.Time) error {
				ctx := context.Background()
				_, c1, _ := p.Begin(ctx, retry.Progress{}, at(0))
				_, c2, err := p.Hedge(ctx, c1, at(10))
				require.NoError(t, err)
				v := p.Failed(ctx, c2, permanent, at(15))
				require.Error(t, v.Err)
				assert.ErrorIs(t, v.Err, retry.ErrPermanent)
				assert.ErrorIs(t, v.Err, errHedgeOp)
				assert.Zero(t, v.Wait)
				assert.Equal(t, 2, v.Next.Attempts)
				_, _, err = p.Hedge(ctx, c1, at(15))
				assert.ErrorIs(t, err, retry.ErrInvalidConfig, "a hedge of a call that is over")
				lost := p.Failed(canceledCtx(), c1, context.Canceled, at(15))
				assert.EqualError(t, lost.Err, "retry: hedged call: another copy ended the call after 2 attempts: context canceled")
				return v.Err
			},
			[]string{"start 1", "start 2 hedge", "end 2 stop", "end 1 lost", "done 2/1 permanent"}},
		{"a NotIdempotent stop, the others reported in any order", []time.Duration{ms(30), ms(25), ms(5)},
			[]error{nil, nil, retry.NotIdempotent(errHedgeOp)},
			func(t *testing.T, p *retry.Policy, at func(int) time.Time) error {
				ctx := context.Background()
				_, c1, _ := p.Begin(ctx, retry.Progress{}, at(0))
				_, c2, _ := p.Hedge(ctx, c1, at(10))
				_, c3, _ := p.Hedge(ctx, c2, at(20))
				v := p.Failed(ctx, c3, retry.NotIdempotent(errHedgeOp), at(25))
				assert.ErrorIs(t, v.Err, retry.ErrNotIdempotent)
				require.NoError(t, p.Succeeded(ctx, c2, at(25)), "a success after the stop is a loser's")
				p.Failed(canceledCtx(), c1, context.Canceled, at(25))
				return v.Err
			},
			[]string{"start 1", "start 2 hedge", "start 3 hedge", "end 3 stop", "end 1 lost", "end 2 lost", "done 3/2 not_idempotent"}},
		{"a retryable failure: the next hedge at once, then after the backoff", []time.Duration{ms(30), ms(5), ms(5)},
			[]error{nil, errHedgeOp, errHedgeOp},
			func(t *testing.T, p *retry.Policy, at func(int) time.Time) error {
				ctx := context.Background()
				_, c1, _ := p.Begin(ctx, retry.Progress{}, at(0))
				_, c2, _ := p.Hedge(ctx, c1, at(10))
				v := p.Failed(ctx, c2, errHedgeOp, at(15))
				require.NoError(t, v.Err, "the others go on")
				assert.Zero(t, v.Wait, "the first failure since the last retry: the next hedge at once")
				_, c3, err := p.Hedge(ctx, c1, at(15))
				require.NoError(t, err)
				v = p.Failed(ctx, c3, errHedgeOp, at(20))
				require.NoError(t, v.Err)
				assert.Equal(t, ms(100), v.Wait, "a later one waits what a retry would")
				return p.Succeeded(ctx, c1, at(30))
			},
			[]string{"start 1", "start 2 hedge", "end 2 err", "start 3 hedge", "end 3 err", "end 1", "done 3/2 success"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var doLog, engineLog roundLog
			var doErr error
			synctest.Test(t, func(t *testing.T) {
				p := newRoundPolicy(t, &doLog, retry.WithMaxAttempts(4))
				_, doErr = retry.DoHedged(context.Background(), func(ctx context.Context) (int, error) {
					k := ctx.Value(attemptKey{}).(int) - 1
					select {
					case <-time.After(tc.lat[k]):
						return 0, tc.errs[k]
					case <-ctx.Done():
						return 0, ctx.Err()
					}
				}, p)
			})
			p := newRoundPolicy(t, &engineLog, retry.WithMaxAttempts(4))
			err := tc.engine(t, p, func(n int) time.Time { return hedgeT0.Add(ms(n)) })
			assert.Equal(t, tc.want, hedgeLines(doLog.take()), "DoHedged")
			assert.Equal(t, tc.want, hedgeLines(engineLog.take()), "the engine")
			if doErr == nil {
				assert.NoError(t, err)
			} else {
				require.Error(t, err)
				assert.Equal(t, doErr.Error(), err.Error())
			}
		})
	}
}

// hedgeLines is lines with each run of consecutive "end k lost" lines in
// order of k: DoHedged cancels the losers at once, and they return in any
// order.
func hedgeLines(lines []string) []string {
	out := append([]string(nil), lines...)
	for i := 0; i < len(out); i++ {
		j := i
		for j < len(out) && len(out[j]) > 5 && out[j][len(out[j])-4:] == "lost" {
			j++
		}
		for a := i; a < j; a++ {
			for b := a + 1; b < j; b++ {
				if out[b] < out[a] {
					out[a], out[b] = out[b], out[a]
				}
			}
		}
		i = max(i, j)
	}
	return out
}

// A copy reported while others run under a context that is done (its
// outcome unknown) counts as nothing, whatever its error: it does not end
// the call, and the others go on.
func TestEngineHedgeFailureUnderADoneContextCountsAsNothing(t *testing.T) {
	var l roundLog
	p := newRoundPolicy(t, &l, retry.WithMaxAttempts(4))
	ctx := context.Background()
	at := func(n int) time.Time { return hedgeT0.Add(time.Duration(n) * time.Millisecond) }
	_, c1, _ := p.Begin(ctx, retry.Progress{}, at(0))
	_, c2, err := p.Hedge(ctx, c1, at(10))
	require.NoError(t, err)
	v := p.Failed(canceledCtx(), c2, retry.Permanent(errHedgeOp), at(15))
	assert.ErrorIs(t, v.Err, context.Canceled)
	assert.NotErrorIs(t, v.Err, retry.ErrPermanent)
	_, c3, err := p.Hedge(ctx, c1, at(15))
	require.NoError(t, err, "the call goes on")
	require.NoError(t, p.Succeeded(ctx, c3, at(20)))
	assert.ErrorIs(t, p.Failed(canceledCtx(), c1, context.Canceled, at(20)).Err, context.Canceled)
	assert.Equal(t, []string{"start 1", "start 2 hedge", "end 2 err", "start 3 hedge", "end 3", "end 1 lost", "done 3/2 success"}, l.take())
}
