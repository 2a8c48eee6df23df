package riverx_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/riverx"
)

// state reads the adapter's state and River's snooze count from a job's
// metadata.
func state(t testing.TB, job *rivertype.JobRow) (riverx.State, int) {
	t.Helper()
	var m struct {
		State   riverx.State `json:"retrykit"`
		Snoozes int          `json:"snoozes"`
	}
	require.NoError(t, json.Unmarshal(job.Metadata, &m))
	return m.State, m.Snoozes
}

// An open breaker defers jobs without running them and without spending
// their attempts: River snoozes them, and once the breaker lets them
// through each runs once, as its attempt 1.
func TestOpenBreakerDefers(t *testing.T) {
	dsn := newDatabase(t)
	pool := openPool(t, dsn)
	breaker, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second})
	require.NoError(t, err)
	r, err := riverx.New(riverx.Config{Defer: 100 * time.Millisecond}, retry.WithBreaker(breaker),
		retry.WithBackoff(retry.Constant(20*time.Millisecond)))
	require.NoError(t, err)
	rec := &recorder{}
	workers := river.NewWorkers()
	river.AddWorker(workers, flakyWorker(rec))
	cfg := clientConfig(workers)
	require.NoError(t, r.Install(cfg))
	client := startClient(t, pool, cfg)
	ctx := context.Background()

	trip, err := client.Insert(ctx, flakyArgs{Fail: 1}, nil) // its failure opens the breaker
	require.NoError(t, err)
	require.Eventually(t, func() bool { return breaker.State() == retry.BreakerOpen }, 10*time.Second, time.Millisecond)
	var ids []int64
	for range 5 {
		res, err := client.Insert(ctx, flakyArgs{}, nil)
		require.NoError(t, err)
		ids = append(ids, res.Job.ID)
	}

	job := waitFinal(t, client, trip.Job.ID)
	assert.Equal(t, rivertype.JobStateCompleted, job.State)
	assert.Len(t, rec.of(job.ID), 2)
	for _, id := range ids {
		job := waitFinal(t, client, id)
		assert.Equal(t, rivertype.JobStateCompleted, job.State)
		require.Len(t, rec.of(id), 1, "job %d ran once", id)
		assert.Equal(t, 1, job.Attempt, "no attempt spent while the breaker was open")
		assert.Empty(t, job.Errors)
		st, snoozes := state(t, job)
		assert.Positive(t, snoozes, "job %d was deferred", id)
		assert.Contains(t, st.Deferred, "circuit breaker is open")
	}
	assert.Positive(t, breaker.Stats().Rejected)
}

// A retry the budget refuses is deferred: the failed run counts as the
// attempt it was, with the budget's refusal as its error, and the retry
// asks the budget again before it runs; while the budget refuses, the job
// is snoozed without running and without spending an attempt. Every retry
// that runs was granted by the budget: the retries run equal its grants.
func TestBudgetRefusalDefers(t *testing.T) {
	dsn := newDatabase(t)
	pool := openPool(t, dsn)
	budget, err := retry.NewBudget(retry.BudgetConfig{Capacity: 1, PerSecond: 1})
	require.NoError(t, err)
	r, err := riverx.New(riverx.Config{Defer: 100 * time.Millisecond}, retry.WithBudget(budget),
		retry.WithBackoff(retry.Constant(20*time.Millisecond)))
	require.NoError(t, err)
	rec := &recorder{}
	workers := river.NewWorkers()
	river.AddWorker(workers, flakyWorker(rec))
	cfg := clientConfig(workers)
	require.NoError(t, r.Install(cfg))
	client := startClient(t, pool, cfg)

	var params []river.InsertManyParams
	for range 4 {
		params = append(params, river.InsertManyParams{Args: flakyArgs{Fail: 1}})
	}
	res, err := client.InsertMany(context.Background(), params)
	require.NoError(t, err)
	refused := 0
	for _, res := range res {
		job := waitFinal(t, client, res.Job.ID)
		assert.Equal(t, rivertype.JobStateCompleted, job.State)
		assert.Len(t, rec.of(job.ID), 2, "one failure, one retry")
		assert.Equal(t, 2, job.Attempt, "the deferrals after the failed run spent no attempt")
		require.Len(t, job.Errors, 1)
		if strings.Contains(job.Errors[0].Error, "retry budget exhausted (client-side decision) after 1 attempt: upstream unavailable") {
			refused++ // the error says why the retry waited
		}
	}
	assert.Equal(t, 3, refused, "one token: the first failure is retried, the three others wait")
	stats := budget.Stats()
	assert.EqualValues(t, 4, stats.Allowed, "every retry that ran was granted, and only those")
	assert.Positive(t, stats.Denied, "some retries waited for the budget")
}
