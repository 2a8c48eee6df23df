package riverx_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/riverx"
)

// noopArgs is a job that succeeds at once.
type noopArgs struct{}

func (noopArgs) Kind() string { return "noop" }

// batch is the number of jobs each iteration of BenchmarkThroughput
// inserts and waits for.
const batch = 200

// BenchmarkThroughput measures jobs per second through River on the test
// server: batches of 200 jobs that succeed at once, inserted together and
// waited for, with River's default retry policy and with a Retrier
// (retrykit's default policy) installed, on the same database in one run.
//
//	go test -run '^$' -bench Throughput -count 10 ./riverx | benchstat -col /policy -
func BenchmarkThroughput(b *testing.B) {
	dsn := newDatabase(b)
	pool := openPool(b, dsn)
	for _, policy := range []string{"river", "retrykit"} {
		b.Run("policy="+policy, func(b *testing.B) {
			workers := river.NewWorkers()
			river.AddWorker(workers, river.WorkFunc(func(context.Context, *river.Job[noopArgs]) error { return nil }))
			cfg := clientConfig(workers)
			cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 100}}
			if policy == "retrykit" {
				r, err := riverx.New(riverx.Config{}, retry.WithBackoff(retry.Exponential(time.Second, 2)))
				require.NoError(b, err)
				require.NoError(b, r.Install(cfg))
			}
			client := startClient(b, pool, cfg)
			done, cancel := client.Subscribe(river.EventKindJobCompleted)
			defer cancel()
			params := make([]river.InsertManyParams, batch)
			for i := range params {
				params[i] = river.InsertManyParams{Args: noopArgs{}}
			}
			ctx := context.Background()
			b.ReportAllocs()
			start := time.Now()
			n := 0
			for b.Loop() {
				_, err := client.InsertManyFast(ctx, params)
				require.NoError(b, err)
				for range batch {
					<-done
				}
				n += batch
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "jobs/s")
		})
	}
}

// BenchmarkDecision measures the middleware's own cost per job, without
// River or a database: a job that succeeds, and one that fails and is
// scheduled again (River stores the state the middleware hands it; here
// the context is not a job's, so nothing is stored).
func BenchmarkDecision(b *testing.B) {
	r, err := riverx.New(riverx.Config{})
	require.NoError(b, err)
	ctx := context.Background()
	ok := func(context.Context) error { return nil }
	fail := func(context.Context) error { return errFlaky }
	b.Run("success", func(b *testing.B) {
		job := &rivertype.JobRow{ID: 1, Attempt: 1, MaxAttempts: 25, Metadata: []byte(`{}`)}
		b.ReportAllocs()
		for b.Loop() {
			_ = r.Work(ctx, job, ok)
		}
	})
	b.Run("failure", func(b *testing.B) {
		job := &rivertype.JobRow{ID: 2, Attempt: 1, MaxAttempts: 25, Metadata: []byte(`{}`)}
		b.ReportAllocs()
		for b.Loop() {
			_ = r.Work(ctx, job, fail)
			_ = r.NextRetry(job)
		}
	})
}
