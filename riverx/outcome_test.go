package riverx_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/riverx"
)

// Each way the policy ends a job cancels it at once, with the policy's
// reason as the job's last error, where River users look: a Permanent
// error, a classifier's Terminal, a NotIdempotent error, the policy's
// attempt limit, River's max_attempts when it is the lower, the elapsed
// limit, a hint longer than the maximum delay.
func TestStopsCancelWithTheReason(t *testing.T) {
	dsn := newDatabase(t)
	pool := openPool(t, dsn)
	r, err := riverx.New(riverx.Config{},
		retry.WithMaxAttempts(3),
		retry.WithBackoff(retry.Constant(20*time.Millisecond)),
		retry.WithMaxDelay(500*time.Millisecond),
		retry.WithClassifier(retry.StopOn(errDeclined)))
	require.NoError(t, err)
	elapsed, err := riverx.New(riverx.Config{}, retry.WithMaxAttempts(0),
		retry.WithBackoff(retry.Constant(300*time.Millisecond)), retry.WithJitter(retry.NoJitter),
		retry.WithMaxElapsed(500*time.Millisecond))
	require.NoError(t, err)
	rec := &recorder{}
	workers := river.NewWorkers()
	river.AddWorker(workers, flakyWorker(rec))
	river.AddWorker(workers, riverx.Worker(elapsed, river.Worker[slowArgs](river.WorkFunc(func(ctx context.Context, job *river.Job[slowArgs]) error {
		rec.add(job.JobRow)
		return errFlaky
	}))))
	cfg := clientConfig(workers)
	require.NoError(t, r.Install(cfg))
	client := startClient(t, pool, cfg)

	for _, tc := range []struct {
		name   string
		args   river.JobArgs
		opts   *river.InsertOpts
		runs   int
		reason []string // in the job's last error
	}{
		{"permanent", flakyArgs{Fail: 9, Mark: "permanent"}, nil, 1, []string{"retry: permanent error after 1 attempt", "card declined"}},
		{"terminal", flakyArgs{Fail: 9, Mark: "terminal"}, nil, 1, []string{"retry: permanent error after 1 attempt", "card declined"}},
		{"not idempotent", flakyArgs{Fail: 9, Mark: "notidempotent"}, nil, 1, []string{"retry: not idempotent, not resent after 1 attempt", "upstream unavailable"}},
		{"policy attempts", flakyArgs{Fail: 9}, nil, 3, []string{"retry: attempts exhausted after 3 attempts: upstream unavailable"}},
		{"river max_attempts", flakyArgs{Fail: 9}, &river.InsertOpts{MaxAttempts: 2}, 2, []string{"retry: attempts exhausted after 2 attempts: upstream unavailable"}},
		{"hint too long", flakyArgs{Fail: 9, Mark: "hint"}, nil, 1, []string{"retry: server hint exceeds the maximum delay", "700ms", "upstream unavailable"}},
		{"elapsed", slowArgs{}, nil, 2, []string{"retry: maximum elapsed time reached after 2 attempts", "upstream unavailable"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := client.Insert(context.Background(), tc.args, tc.opts)
			require.NoError(t, err)
			job := waitFinal(t, client, res.Job.ID)
			assert.Equal(t, rivertype.JobStateCancelled, job.State)
			assert.Len(t, rec.of(job.ID), tc.runs)
			require.Len(t, job.Errors, tc.runs)
			last := job.Errors[len(job.Errors)-1]
			for _, want := range tc.reason {
				assert.Contains(t, last.Error, want)
			}
			assert.Equal(t, tc.runs, last.Attempt)
		})
	}
}

// slowArgs is a job that always fails, worked by the elapsed-limit
// Retrier of its own.
type slowArgs struct{}

func (slowArgs) Kind() string { return "slow" }

// A hint (retry.After, as httpx turns a Retry-After header and grpcx a
// pushback into) schedules the next run at the hint: exactly, with
// WithExactHints.
func TestHintIsObeyed(t *testing.T) {
	dsn := newDatabase(t)
	pool := openPool(t, dsn)
	d := &decisions{}
	r, err := riverx.New(riverx.Config{Now: d.now}, retry.WithExactHints(),
		retry.WithBackoff(retry.Constant(10*time.Millisecond)), retry.WithObserver(d.observer()))
	require.NoError(t, err)
	rec := &recorder{}
	workers := river.NewWorkers()
	river.AddWorker(workers, flakyWorker(rec))
	cfg := clientConfig(workers)
	require.NoError(t, r.Install(cfg))
	client := startClient(t, pool, cfg)

	res, err := client.Insert(context.Background(), flakyArgs{Fail: 1, Mark: "hint"}, nil)
	require.NoError(t, err)
	job := waitFinal(t, client, res.Job.ID)
	require.Equal(t, rivertype.JobStateCompleted, job.State)
	runs := rec.of(job.ID)
	require.Len(t, runs, 2)
	chosen, waits, _ := d.snapshot()
	require.Equal(t, []time.Duration{hint}, waits)
	assert.True(t, runs[1].Scheduled.Equal(chosen[0].Truncate(time.Microsecond)))
	assert.False(t, runs[1].Started.Before(chosen[0]))
	assert.LessOrEqual(t, runs[1].Started.Sub(chosen[0]), lateness)
}
