package riverx_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/riverx"
)

// Bad configuration is a clear error from New or Install, never a panic.
func TestBadConfiguration(t *testing.T) {
	var nilPolicy *retry.Policy
	for _, tc := range []struct {
		name string
		cfg  riverx.Config
		opts []retry.Option
		want string
	}{
		{"nil policy", riverx.Config{}, []retry.Option{nilPolicy}, "nil *Policy"},
		{"zero policy", riverx.Config{}, []retry.Option{&retry.Policy{}}, "zero Policy is not valid"},
		{"negative attempts", riverx.Config{}, []retry.Option{retry.WithMaxAttempts(-1)}, "WithMaxAttempts must not be negative"},
		{"negative elapsed", riverx.Config{}, []retry.Option{retry.WithMaxElapsed(-time.Second)}, "WithMaxElapsed must not be negative"},
		{"negative defer", riverx.Config{Defer: -time.Second}, nil, "Config.Defer must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := riverx.New(tc.cfg, tc.opts...)
			require.ErrorIs(t, err, retry.ErrInvalidConfig)
			assert.ErrorContains(t, err, tc.want)
			assert.Nil(t, r)
		})
	}

	r, err := riverx.New(riverx.Config{})
	require.NoError(t, err)
	other := &river.DefaultClientRetryPolicy{}
	cfg := &river.Config{RetryPolicy: other}
	err = r.Install(cfg)
	require.ErrorContains(t, err, "river.Config.RetryPolicy is already set (*river.DefaultClientRetryPolicy)")
	assert.Same(t, other, cfg.RetryPolicy, "cfg unchanged")
	assert.Empty(t, cfg.Middleware)
	require.ErrorContains(t, r.Install(nil), "nil *river.Config")

	cfg = &river.Config{}
	require.NoError(t, r.Install(cfg))
	require.NoError(t, r.Install(cfg), "twice changes nothing")
	assert.Len(t, cfg.Middleware, 1)
	assert.Same(t, r, cfg.RetryPolicy)
}

// A nil Retrier fails the job with a clear error instead of panicking, and
// leaves River's own retry policy in charge: the job is not lost.
func TestNilRetrier(t *testing.T) {
	var r *riverx.Retrier
	ran := false
	err := r.Work(context.Background(), &rivertype.JobRow{ID: 1, Attempt: 1}, func(context.Context) error { ran = true; return nil })
	require.ErrorIs(t, err, riverx.ErrNilRetrier)
	assert.False(t, ran)
	assert.True(t, r.NextRetry(&rivertype.JobRow{ID: 1}).IsZero(), "zero: River's default policy decides")
	require.ErrorIs(t, r.Install(&river.Config{}), riverx.ErrNilRetrier)
	require.ErrorIs(t, (&riverx.Retrier{}).Work(context.Background(), &rivertype.JobRow{}, nil), riverx.ErrNilRetrier)
}

// A job whose stored state is malformed is not run on that delivery: the
// run fails with an error naming the problem (in the job's errors), the
// state is reset from River's attempt count, and the job runs again at
// once and completes: no panic, no lost job.
func TestMalformedStoredProgress(t *testing.T) {
	dsn := newDatabase(t)
	pool := openPool(t, dsn)
	r, err := riverx.New(riverx.Config{}, retry.WithBackoff(retry.Constant(10*time.Millisecond)))
	require.NoError(t, err)
	rec := &recorder{}
	workers := river.NewWorkers()
	river.AddWorker(workers, flakyWorker(rec))
	cfg := clientConfig(workers)
	require.NoError(t, r.Install(cfg))
	client := startClient(t, pool, cfg)

	for _, tc := range []struct{ metadata, want string }{
		{`{"retrykit": {"progress": {"attempts": -3}}}`, "invalid Progress (attempts -3"},
		{`{"retrykit": "garbage"}`, "malformed retry state"},
		{`{"retrykit": {"progress": {"attempts": 1, "start": "yesterday"}}}`, "malformed retry state"},
		{`{"retrykit": {"next_attempt": -1}}`, "next_attempt -1 is negative"},
	} {
		t.Run(tc.metadata, func(t *testing.T) {
			res, err := client.Insert(context.Background(), flakyArgs{}, &river.InsertOpts{Metadata: []byte(tc.metadata)})
			require.NoError(t, err)
			job := waitFinal(t, client, res.Job.ID)
			require.Equal(t, rivertype.JobStateCompleted, job.State)
			assert.Len(t, rec.of(job.ID), 1, "ran once, after the repair")
			require.Len(t, job.Errors, 1)
			assert.Contains(t, job.Errors[0].Error, tc.want)
			assert.Contains(t, job.Errors[0].Error, "reset from River's attempt count")
		})
	}
}

// The stored state round-trips through JSON as River keeps it.
func TestStateJSON(t *testing.T) {
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	st := riverx.State{Progress: retry.Progress{Attempts: 2, Start: start, Prev: time.Second}, Next: 3, Undecided: true, Deferred: "budget"}
	b, err := json.Marshal(st)
	require.NoError(t, err)
	assert.JSONEq(t, `{"progress":{"attempts":2,"start":"2026-12-01T09:00:00Z","prev":1000000000},"next_attempt":3,"undecided":true,"deferred":"budget"}`, string(b))
	var back riverx.State
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, st, back)
}
