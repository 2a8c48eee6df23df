package riverx_test

import (
	"context"
	"fmt"
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

// dependency is what the test workers call: down until the test fixes it,
// per job name.
type dependency struct {
	mu    sync.Mutex
	fixed map[string]bool
}

func (d *dependency) fix(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fixed == nil {
		d.fixed = map[string]bool{}
	}
	d.fixed[name] = true
}

func (d *dependency) up(name string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fixed[name]
}

// downArgs is a job that fails (Mark: "" a plain error, "permanent",
// "panic") until its dependency Name is fixed. The three kinds are worked
// by Retriers with different policies.
type downArgs struct {
	Name string `json:"name"`
	Mark string `json:"mark"`
}

func (downArgs) Kind() string { return "down" }

type downPanicArgs struct{ downArgs }

func (downPanicArgs) Kind() string { return "down_panic" }

type downSlowArgs struct{ downArgs }

func (downSlowArgs) Kind() string { return "down_slow" }

func downWorker[T interface {
	river.JobArgs
	args() downArgs
}](dep *dependency, rec *recorder) river.Worker[T] {
	return river.WorkFunc(func(ctx context.Context, job *river.Job[T]) error {
		rec.add(job.JobRow)
		a := job.Args.args()
		if dep.up(a.Name) {
			return nil
		}
		switch a.Mark {
		case "permanent":
			return retry.Permanent(errDeclined)
		case "panic":
			panic("dependency down")
		}
		return errFlaky
	})
}

func (a downArgs) args() downArgs { return a }

// An operator's retry of a job the policy ended (River's JobRetry, the
// UI's "Retry", which keeps the job's attempt count) is a new call of the
// policy: it runs, with a fresh progress, whatever the old one was: an
// attempt limit reached, a Permanent error, a stop after a panic, an
// elapsed limit passed. (It failed before: the jump in River's attempt
// count was taken for runs lost with their worker and decided again with
// the old progress, or the stop after a panic cancelled every retry.)
func TestOperatorRetryStartsAfresh(t *testing.T) {
	dsn := newDatabase(t)
	pool := openPool(t, dsn)
	r, err := riverx.New(riverx.Config{}, retry.WithMaxAttempts(3), retry.WithBackoff(retry.Constant(20*time.Millisecond)))
	require.NoError(t, err)
	once, err := riverx.New(riverx.Config{}, retry.WithMaxAttempts(1))
	require.NoError(t, err)
	slow, err := riverx.New(riverx.Config{}, retry.WithMaxAttempts(0), retry.WithJitter(retry.NoJitter),
		retry.WithBackoff(retry.Constant(100*time.Millisecond)), retry.WithMaxElapsed(250*time.Millisecond))
	require.NoError(t, err)
	dep, rec := &dependency{}, &recorder{}
	workers := river.NewWorkers()
	river.AddWorker(workers, downWorker[downArgs](dep, rec))
	river.AddWorker(workers, riverx.Worker(once, downWorker[downPanicArgs](dep, rec)))
	river.AddWorker(workers, riverx.Worker(slow, downWorker[downSlowArgs](dep, rec)))
	cfg := clientConfig(workers)
	require.NoError(t, r.Install(cfg))
	client := startClient(t, pool, cfg)
	ctx := context.Background()

	for _, tc := range []struct {
		name     string
		args     river.JobArgs
		runs     int  // before the operator's retry (0: at least 2, as the elapsed limit allows)
		fix      bool // fix the dependency before the retry
		again    int  // runs after the retry (0: as many as before)
		state    rivertype.JobState
		lastWant string // in the last error, when the retried job ends again
	}{
		{"attempts", downArgs{Name: "attempts"}, 3, true, 1, rivertype.JobStateCompleted, ""},
		{"attempts again", downArgs{Name: "attempts-again"}, 3, false, 3, rivertype.JobStateCancelled,
			"retry: attempts exhausted after 3 attempts: upstream unavailable"},
		{"permanent", downArgs{Name: "permanent", Mark: "permanent"}, 1, false, 1, rivertype.JobStateCancelled,
			"retry: permanent error after 1 attempt: card declined"},
		{"panic", downPanicArgs{downArgs{Name: "panic", Mark: "panic"}}, 1, true, 1, rivertype.JobStateCompleted, ""},
		{"elapsed", downSlowArgs{downArgs{Name: "elapsed"}}, 0, false, 0, rivertype.JobStateCancelled,
			"retry: maximum elapsed time reached after"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := client.Insert(ctx, tc.args, nil)
			require.NoError(t, err)
			id := res.Job.ID
			job := waitFinal(t, client, id)
			require.Equal(t, rivertype.JobStateCancelled, job.State)
			before := len(rec.of(id))
			if tc.runs == 0 {
				require.GreaterOrEqual(t, before, 2, "the elapsed limit (250ms) allows a retry after 100ms")
			} else {
				require.Equal(t, tc.runs, before)
			}
			ended := job.Attempt

			if tc.fix {
				dep.fix(tc.args.(interface{ args() downArgs }).args().Name)
			}
			_, err = client.JobRetry(ctx, id)
			require.NoError(t, err)
			job = waitFinal(t, client, id)
			assert.Equal(t, tc.state, job.State, "errors: %v", job.Errors)
			after := len(rec.of(id)) - before
			if tc.again == 0 {
				assert.GreaterOrEqual(t, after, 2, "runs after the operator's retry: a new call, retried within its elapsed limit")
			} else {
				assert.Equal(t, tc.again, after, "runs after the operator's retry")
			}
			assert.Equal(t, ended+after, job.Attempt)
			if tc.lastWant != "" {
				require.NotEmpty(t, job.Errors)
				last := job.Errors[len(job.Errors)-1].Error
				assert.Contains(t, last, tc.lastWant)
				assert.Contains(t, last, fmt.Sprintf("after %d attempt", after), "the attempts of the new call")
			}
		})
	}
}
