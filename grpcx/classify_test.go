package grpcx

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fakeDeadline is a context with a deadline whose Err is set by hand, to
// reproduce grpc-go reporting DEADLINE_EXCEEDED a moment before the
// context's own timer fires.
type fakeDeadline struct {
	context.Context
	deadline time.Time
	err      error
}

func (f fakeDeadline) Deadline() (time.Time, bool) { return f.deadline, !f.deadline.IsZero() }
func (f fakeDeadline) Err() error                  { return f.err }

func TestOwnTimeout(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	bg := context.Background()
	caller := func(d time.Time) context.Context { return fakeDeadline{Context: bg, deadline: d} }
	attempt := func(d time.Time, err error) context.Context { return fakeDeadline{Context: bg, deadline: d, err: err} }
	for name, tc := range map[string]struct {
		ctx, actx context.Context
		now       time.Time
		want      bool
	}{
		"no attempt context":                   {bg, bg, t0, false},
		"attempt without deadline":             {bg, attempt(time.Time{}, nil), t0, false},
		"attempt deadline passed, Err not yet": {bg, attempt(t0, nil), t0, true},
		"attempt deadline passed, Err set":     {bg, attempt(t0, context.DeadlineExceeded), t0.Add(time.Millisecond), true},
		"before the attempt deadline":          {bg, attempt(t0.Add(time.Millisecond), nil), t0, false},
		"the caller's deadline is earlier":     {caller(t0), attempt(t0, nil), t0, false},
		"the caller's deadline is later":       {caller(t0.Add(time.Second)), attempt(t0, nil), t0, true},
	} {
		assert.Equal(t, tc.want, ownTimeout(tc.ctx, tc.actx, tc.now), name)
	}
}

// TestRetriedBy: the classification policy says whether the call's
// classifiers retry an error, ignoring the call's limits and effects, and
// deciding allocates nothing.
func TestRetriedBy(t *testing.T) {
	unavailable := status.Error(codes.Unavailable, "x")
	stopUnavailable := retry.WithClassifier(retry.RetryIf(func(err error) bool { return status.Code(err) != codes.Unavailable }))
	br, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Hour})
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		opts []retry.Option
		want bool
	}{
		"default":                 {nil, true},
		"one attempt, a breaker":  {[]retry.Option{retry.WithMaxAttempts(1), retry.WithBreaker(br)}, true},
		"a classifier that stops": {[]retry.Option{stopUnavailable}, false},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := retry.NewPolicy(tc.opts...)
			require.NoError(t, err)
			c, err := newCalls(p, false)
			require.NoError(t, err)
			assert.Equal(t, tc.want, retriedBy(c.judge, unavailable))
			if tc.want {
				assert.Zero(t, testing.AllocsPerRun(100, func() { retriedBy(c.judge, unavailable) }))
			}
		})
	}
	assert.Equal(t, retry.BreakerClosed, br.State(), "the breaker heard of nothing")
}

// TestAttemptTimeoutOf: a stream reads the policy's attempt timeout,
// exactly when time does not pass while it reads it (in virtual time).
func TestAttemptTimeoutOf(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, d := range []time.Duration{0, time.Nanosecond, time.Microsecond, 50 * time.Millisecond, 3 * time.Hour} {
			p, err := retry.NewPolicy(retry.WithAttemptTimeout(d))
			require.NoError(t, err)
			assert.Equal(t, d, attemptTimeout(p))
		}
	})
}
