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

type ctxKey struct{}

// TestNotify: the hook runs once per retry, after the attempt failed and
// before the wait, with the exact attempt number, error (wrapper stripped),
// wait and elapsed time, on the caller's context; never when the loop
// stops.
func TestNotify(t *testing.T) {
	errs := []error{errA, retry.After(50*time.Millisecond, errB), errC, errA}
	tests := []struct {
		name    string
		last    error // what the fourth attempt returns
		elapsed time.Duration
		want    []retry.RetryInfo
	}{
		{"exhausted", errA, 400 * time.Millisecond, nil},
		{"success", nil, 400 * time.Millisecond, nil},
		{"permanent", retry.Permanent(errA), 400 * time.Millisecond, nil},
	}
	ms := time.Millisecond
	want := []retry.RetryInfo{
		{Attempt: 1, MaxAttempts: 4, Err: errA, Wait: 100 * ms, Elapsed: 10 * ms},
		{Attempt: 2, MaxAttempts: 4, Err: errB, Wait: 50 * ms, Hint: 50 * ms, Elapsed: 120 * ms},
		{Attempt: 3, MaxAttempts: 4, Err: errC, Wait: 300 * ms, Elapsed: 180 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.WithValue(context.Background(), ctxKey{}, tt.name)
				var got []retry.RetryInfo
				notify := func(nctx context.Context, a retry.RetryInfo) {
					assert.Equal(t, tt.name, nctx.Value(ctxKey{}), "the caller's context")
					got = append(got, a)
				}
				calls := 0
				start := time.Now()
				_, _ = retry.Do(ctx, func(context.Context) (int, error) {
					calls++
					pause(10 * time.Millisecond) // each attempt takes 10ms
					if calls == 4 {
						return 0, tt.last
					}
					return 0, errs[calls-1]
				}, retry.WithBackoff(retry.Linear(100*ms, 100*ms)), retry.WithJitter(retry.NoJitter), retry.WithExactHints(), retry.WithNotify(notify))
				// 10 + 100 + 10 + 50 + 10 + 300 + 10
				assert.Equal(t, 490*ms, time.Since(start))
				assert.Equal(t, want, got)
			})
		})
	}
}

// TestNotifyNeverOnStop: no notification for an attempt that ends the loop.
func TestNotifyNeverOnStop(t *testing.T) {
	tests := []struct {
		name string
		err  error
		opts []retry.Option
	}{
		{"permanent", retry.Permanent(errA), nil},
		{"classifier stops", errA, []retry.Option{retry.WithClassifier(retry.StopOn(errA))}},
		{"one attempt", errA, []retry.Option{retry.WithMaxAttempts(1)}},
		{"hint too long", retry.After(time.Hour, errA), nil},
		{"elapsed limit", errA, []retry.Option{retry.WithMaxElapsed(time.Millisecond), retry.WithBackoff(retry.Constant(time.Millisecond)), retry.WithJitter(retry.NoJitter)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n notes
			op, calls := failing(tt.err)
			_, err := retry.Do(context.Background(), op, append(tt.opts, retry.WithNotify(n.hook))...)
			require.Error(t, err)
			assert.Equal(t, 1, *calls)
			assert.Empty(t, n.list)
		})
	}
}

// TestNotifyNilRemovesTheHook: WithNotify(nil) after WithNotify(f) removes f.
func TestNotifyNilRemovesTheHook(t *testing.T) {
	var n notes
	op, calls := failing(errA)
	_, err := retry.Do(context.Background(), op, retry.WithBackoff(retry.Constant(0)), retry.WithNotify(n.hook), retry.WithNotify(nil))
	require.ErrorIs(t, err, retry.ErrExhausted)
	assert.Equal(t, 4, *calls)
	assert.Empty(t, n.list)
}
