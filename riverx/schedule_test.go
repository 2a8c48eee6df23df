package riverx_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/riverx"
)

// flakyArgs is a job that fails its first Fail runs with err (a plain
// error, or one marked by Mark), then succeeds.
type flakyArgs struct {
	Fail int    `json:"fail"`
	Mark string `json:"mark"` // "", "permanent", "terminal", "notidempotent", "hint"
}

func (flakyArgs) Kind() string { return "flaky" }

var (
	errFlaky    = errors.New("upstream unavailable")
	errDeclined = errors.New("card declined")
)

// hint is the wait a "hint" job asks for.
const hint = 700 * time.Millisecond

// flakyWorker works flakyArgs, recording each run in rec.
func flakyWorker(rec *recorder) river.Worker[flakyArgs] {
	return river.WorkFunc(func(ctx context.Context, job *river.Job[flakyArgs]) error {
		if n := rec.add(job.JobRow); n > job.Args.Fail {
			return nil
		}
		switch job.Args.Mark {
		case "permanent":
			return retry.Permanent(errDeclined)
		case "terminal":
			return errDeclined // the test's classifier says Terminal
		case "notidempotent":
			return retry.NotIdempotent(errFlaky)
		case "hint":
			return retry.After(hint, errFlaky)
		}
		return errFlaky
	})
}

// decisions records the instants a Retrier decided retries for: its clock
// remembers its last reading, and the observer's RetryScheduled adds the
// wait to it (the decision reads the clock, then reports).
type decisions struct {
	mu     sync.Mutex
	last   time.Time
	chosen []time.Time
	waits  []time.Duration
	events []string
}

func (d *decisions) now() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.last = time.Now()
	return d.last
}

func (d *decisions) event(s string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.events = append(d.events, s)
}

func (d *decisions) observer() *retry.Observer {
	return &retry.Observer{
		AttemptStart: func(ctx context.Context, e retry.AttemptStartInfo) context.Context {
			d.event("start")
			return ctx
		},
		AttemptEnd: func(ctx context.Context, e retry.AttemptEndInfo) { d.event("end") },
		RetryScheduled: func(ctx context.Context, e retry.RetryInfo) {
			d.mu.Lock()
			defer d.mu.Unlock()
			d.chosen = append(d.chosen, d.last.Add(e.Wait))
			d.waits = append(d.waits, e.Wait)
			d.events = append(d.events, "retry")
		},
		Done: func(ctx context.Context, e retry.DoneInfo) { d.event("done " + retry.ReasonOf(e.Err)) },
	}
}

func (d *decisions) snapshot() ([]time.Time, []time.Duration, []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]time.Time(nil), d.chosen...), append([]time.Duration(nil), d.waits...), append([]string(nil), d.events...)
}

// A job failing three times then succeeding runs exactly four times, each
// retry at the instant the policy chose: River's scheduled_at is that
// instant (to PostgreSQL's microsecond), and the run starts at or after
// it, within the poll resolution (lateness). The waits are those the same
// policy, seeded alike, chooses in memory for the same instants: the
// decorrelated jitter grew from the progress stored with the job.
func TestRunsAtThePolicysInstants(t *testing.T) {
	dsn := newDatabase(t)
	pool := openPool(t, dsn)
	const seed = 42
	opts := []retry.Option{
		retry.WithMaxAttempts(5),
		retry.WithBackoff(retry.Exponential(150*time.Millisecond, 2)),
		retry.WithJitter(retry.DecorrelatedJitter),
		retry.WithRand(rand.New(rand.NewPCG(seed, seed))),
	}
	d := &decisions{}
	r, err := riverx.New(riverx.Config{Now: d.now}, append(opts, retry.WithObserver(d.observer()))...)
	require.NoError(t, err)
	rec := &recorder{}
	workers := river.NewWorkers()
	river.AddWorker(workers, flakyWorker(rec))
	cfg := clientConfig(workers)
	require.NoError(t, r.Install(cfg))
	client := startClient(t, pool, cfg)

	res, err := client.Insert(context.Background(), flakyArgs{Fail: 3}, nil)
	require.NoError(t, err)
	job := waitFinal(t, client, res.Job.ID)
	require.Equal(t, rivertype.JobStateCompleted, job.State)

	runs := rec.of(job.ID)
	require.Len(t, runs, 4, "3 failures, then a success")
	require.Len(t, job.Errors, 3)
	chosen, waits, events := d.snapshot()
	require.Len(t, chosen, 3)
	for k := 1; k < 4; k++ {
		at := chosen[k-1]
		assert.True(t, runs[k].Scheduled.Equal(at.Truncate(time.Microsecond)),
			"run %d: River scheduled it at %v, the policy chose %v", k+1, runs[k].Scheduled, at)
		assert.False(t, runs[k].Started.Before(at), "run %d started %v before its instant", k+1, at.Sub(runs[k].Started))
		assert.LessOrEqual(t, runs[k].Started.Sub(at), lateness, "run %d started late", k+1)
		assert.Equal(t, k+1, runs[k].Attempt)
	}
	assert.Equal(t, []string{"start", "end", "retry", "start", "end", "retry", "start", "end", "retry", "start", "end", "done success"}, events,
		"the observer sees what an in-process call shows")

	// The same events as retry.Do calling an operation that fails thrice.
	inproc := &decisions{}
	calls := 0
	_, err = retry.Do(context.Background(), func(context.Context) (int, error) {
		if calls++; calls <= 3 {
			return 0, errFlaky
		}
		return 0, nil
	}, retry.WithBackoff(retry.Constant(0)), retry.WithObserver(inproc.observer()))
	require.NoError(t, err)
	_, _, want := inproc.snapshot()
	assert.Equal(t, want, events)

	// The same policy in memory, seeded alike, at the same instants.
	p, err := retry.NewPolicy(append(opts[:3:3], retry.WithRand(rand.New(rand.NewPCG(seed, seed))))...)
	require.NoError(t, err)
	var pr retry.Progress
	for k := range 3 {
		ctx, next, err := p.Begin(context.Background(), pr, runs[k].Started)
		require.NoError(t, err)
		v := p.Failed(ctx, next, errFlaky, chosen[k].Add(-waits[k]))
		require.NoError(t, v.Err)
		assert.Equal(t, v.Wait, waits[k], "wait %d", k+1)
		pr = v.Next
	}
}
