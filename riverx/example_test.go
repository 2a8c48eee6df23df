package riverx_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/riverx"
)

// The examples that need a server are compiled but not run by go test (an
// example cannot skip); TestExample runs their code against the test
// server.

// ChargeArgs is a job: charge an order.
type ChargeArgs struct {
	Order int `json:"order"`
}

func (ChargeArgs) Kind() string { return "charge" }

var errDeclinedCard = errors.New("card declined")

// charge is the worker: a declined card will not be accepted on a second
// try, so it is Permanent; any other error is retried by the policy.
func charge(ctx context.Context, job *river.Job[ChargeArgs]) error {
	if job.Args.Order%2 == 1 {
		return retry.Permanent(errDeclinedCard)
	}
	return nil
}

// consume runs a River client whose failed jobs are retried by a retry
// policy, until ctx ends.
func consume(ctx context.Context, pool *pgxpool.Pool) error {
	r, err := riverx.New(riverx.Config{}, retry.WithMaxAttempts(8), retry.WithMaxElapsed(time.Hour))
	if err != nil {
		return err
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(charge))
	cfg := &river.Config{Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 10}}, Workers: workers}
	if err := r.Install(cfg); err != nil {
		return err
	}
	client, err := river.NewClient(riverpgxv5.New(pool), cfg)
	if err != nil {
		return err
	}
	if err := client.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	return client.Stop(context.WithoutCancel(ctx))
}

// A River consumer whose retries follow a retry.Policy.
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://postgres@127.0.0.1:5432/jobs")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	if err := consume(ctx, pool); err != nil {
		log.Fatal(err)
	}
}

// What an operator finds in a job's metadata between its runs: the retry
// progress, the attempt River should be at when the job runs next, and why
// it waits when the budget or the breaker deferred it.
func ExampleState() {
	metadata := []byte(`{"retrykit": {"progress": {"attempts": 2, "start": "2026-12-01T09:00:00Z", "prev": 400000000},
		"next_attempt": 3, "undecided": true,
		"deferred": "retry: retry budget exhausted (client-side decision) after 2 attempts: upstream unavailable"}}`)
	var m struct {
		State riverx.State `json:"retrykit"`
	}
	if err := json.Unmarshal(metadata, &m); err != nil {
		log.Fatal(err)
	}
	st := m.State
	fmt.Println("attempts so far:", st.Progress.Attempts, "since", st.Progress.Start.Format(time.RFC3339))
	fmt.Println("previous wait:", st.Progress.Prev)
	fmt.Println("asks the budget before it runs again:", st.Undecided)
	fmt.Println("deferred:", st.Deferred)
	// Output:
	// attempts so far: 2 since 2026-12-01T09:00:00Z
	// previous wait: 400ms
	// asks the budget before it runs again: true
	// deferred: retry: retry budget exhausted (client-side decision) after 2 attempts: upstream unavailable
}

// TestExample runs the Example's consumer: an even order is charged, an
// odd one ends after one run, cancelled with the reason.
func TestExample(t *testing.T) {
	dsn := newDatabase(t)
	pool := openPool(t, dsn)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- consume(ctx, pool) }()
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: quietLogger()})
	require.NoError(t, err)
	even, err := client.Insert(context.Background(), ChargeArgs{Order: 42}, nil)
	require.NoError(t, err)
	odd, err := client.Insert(context.Background(), ChargeArgs{Order: 43}, nil)
	require.NoError(t, err)
	require.Equal(t, rivertype.JobStateCompleted, waitFinal(t, client, even.Job.ID).State)
	job := waitFinal(t, client, odd.Job.ID)
	require.Equal(t, rivertype.JobStateCancelled, job.State)
	require.Len(t, job.Errors, 1)
	require.Contains(t, job.Errors[0].Error, "retry: permanent error after 1 attempt: card declined")
	cancel()
	require.NoError(t, <-stopped)
}
