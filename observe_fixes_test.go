package retry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
)

// TestObserverNoEndWithoutStart: an attempt reported to Failed without
// Begin, or a call of Failed or Succeeded with bad input, gets no
// AttemptEnd (an observer would end a span it never started); the rest of
// the call's events still come.
func TestObserverNoEndWithoutStart(t *testing.T) {
	errA := errors.New("a")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var r recorder
	p := newPolicy(t, retry.WithMaxAttempts(2), retry.WithBackoff(retry.Constant(time.Second)),
		retry.WithJitter(retry.NoJitter), retry.WithObserver(r.observer()))

	v := p.Failed(context.Background(), retry.Progress{}, errA, now)
	require.NoError(t, v.Err)
	assert.Equal(t, []string{"retry 1 wait=1s hint=false/0s"}, r.events)
	r.events = nil
	one, err := p.With(retry.WithMaxAttempts(1))
	require.NoError(t, err)
	v = one.Failed(context.Background(), retry.Progress{}, errA, now)
	require.ErrorIs(t, v.Err, retry.ErrExhausted)
	assert.Equal(t, []string{"done 1 exhausted waited=0s elapsed=0s"}, r.events)

	r.events = nil
	ctx, pr, err := p.Begin(context.Background(), retry.Progress{}, now)
	require.NoError(t, err)
	v = p.Failed(ctx, pr, nil, now) // invalid: a nil error
	require.ErrorIs(t, v.Err, retry.ErrInvalidConfig)
	require.Error(t, p.Succeeded(ctx, pr, time.Time{})) // invalid: a zero time
	assert.Equal(t, []string{"start 1/2"}, r.events)
	require.NoError(t, p.Succeeded(ctx, pr, now))
	assert.Equal(t, []string{"start 1/2", "end 1 ctx=1 err=<nil> retry=false stop=-", "done 1 success waited=0s elapsed=0s"}, r.events)
}
