package riverx_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/riverx"
)

// The worker processes of the tests are this test binary, run again with
// workerEnv naming what it works (see workerMain).
const (
	workerEnv = "RIVERX_TEST_WORKER" // "kill" or "outage"
	dsnEnv    = "RIVERX_TEST_DSN"
	hangEnv   = "RIVERX_TEST_HANG"   // "1": a kill worker hangs in its job
	untilEnv  = "RIVERX_TEST_OUTAGE" // RFC 3339: the dependency fails until then
	leadEnv   = "RIVERX_TEST_LEAD"   // "1": the process may become River's leader
)

// The budget of each outage worker process.
var outageBudget = retry.BudgetConfig{Capacity: 20, PerSecond: 25, PerSuccess: 0.5}

func TestMain(m *testing.M) {
	if mode := os.Getenv(workerEnv); mode != "" {
		os.Exit(workerMain(mode))
	}
	os.Exit(m.Run())
}

// killArgs is a job whose handler records its run, hangs when told to
// (the process is killed there), and writes its effect idempotently: a
// row keyed by the job.
type killArgs struct{}

func (killArgs) Kind() string { return "kill" }

// outageArgs is a job whose dependency fails until the outage ends.
type outageArgs struct{}

func (outageArgs) Kind() string { return "outage" }

// processStats is what an outage worker process prints when it stops.
type processStats struct {
	Allowed, Denied uint64 // the budget's grants and refusals
	Successes       int64  // the jobs it completed
	Seconds         float64
}

// workerMain runs a River client in this process until SIGTERM, and
// returns the process's exit code.
func workerMain(mode string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	begun := time.Now()
	pool, err := pgxpool.New(context.Background(), os.Getenv(dsnEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer pool.Close()
	record := func(ctx context.Context, job *river.Job[killArgs]) error {
		_, err := pool.Exec(ctx, `INSERT INTO runs VALUES ($1, $2, $3, now(), $4)`, job.ID, job.Attempt, os.Getpid(), job.ScheduledAt)
		return err
	}
	effect := func(ctx context.Context, id int64) error {
		_, err := pool.Exec(ctx, `INSERT INTO effects VALUES ($1, $2) ON CONFLICT (job_id) DO NOTHING`, id, os.Getpid())
		return err
	}
	opts := []retry.Option{retry.WithBackoff(retry.Exponential(50*time.Millisecond, 2)), retry.WithMaxAttempts(0)}
	var budget *retry.Budget
	if mode == "outage" {
		if budget, err = retry.NewBudget(outageBudget); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		opts = append(opts, retry.WithBudget(budget))
	}
	if mode == "kill" { // the test reads the attempts as the policy counts them
		opts = append(opts, retry.WithObserver(&retry.Observer{
			AttemptStart: func(ctx context.Context, e retry.AttemptStartInfo) context.Context {
				fmt.Printf("attempt %d\n", e.Attempt)
				return ctx
			},
		}))
	}
	r, err := riverx.New(riverx.Config{Defer: time.Second}, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var successes atomic.Int64
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, job *river.Job[killArgs]) error {
		if err := record(ctx, job); err != nil {
			return err
		}
		if os.Getenv(hangEnv) == "1" {
			<-ctx.Done() // killed here
			return ctx.Err()
		}
		return effect(ctx, job.ID)
	}))
	until, _ := time.Parse(time.RFC3339Nano, os.Getenv(untilEnv))
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, job *river.Job[outageArgs]) error {
		if _, err := pool.Exec(ctx, `INSERT INTO runs VALUES ($1, $2, $3, now(), $4)`, job.ID, job.Attempt, os.Getpid(), job.ScheduledAt); err != nil {
			return err
		}
		if time.Now().Before(until) {
			return errFlaky
		}
		if err := effect(ctx, job.ID); err != nil {
			return err
		}
		successes.Add(1)
		return nil
	}))
	cfg := clientConfig(workers)
	cfg.LeaderElectionDisabled = os.Getenv(leadEnv) != "1"
	cfg.JobTimeout = time.Second
	cfg.RescueStuckJobsAfter = time.Second
	if err := r.Install(cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	client, err := river.NewClient(riverpgxv5.New(pool), cfg)
	if err == nil {
		err = client.Start(context.Background())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Println("started")
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.Stop(sctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if budget != nil {
		s := budget.Stats()
		b, _ := json.Marshal(processStats{Allowed: s.Allowed, Denied: s.Denied, Successes: successes.Load(), Seconds: time.Since(begun).Seconds()})
		fmt.Println(string(b))
	}
	return 0
}

// process is a worker process started by a test.
type process struct {
	cmd   *exec.Cmd
	lines chan string // its standard output, line by line
}

// startWorker starts a worker process of mode on the database dsn, with
// env added to its environment, and waits for its client to start. The
// process is killed when the test ends, if it still runs.
func startWorker(t *testing.T, mode, dsn string, env ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{workerEnv + "=" + mode, dsnEnv + "=" + dsn}, env...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &process{cmd: cmd, lines: make(chan string, 16)}
	go func() {
		defer close(p.lines)
		s := bufio.NewScanner(out)
		for s.Scan() {
			p.lines <- s.Text()
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	select {
	case line := <-p.lines:
		require.Equal(t, "started", line)
	case <-time.After(30 * time.Second):
		t.Fatal("the worker process did not start")
	}
	return p
}

// stop ends the process with SIGTERM (River stops its client) and returns
// the lines it printed after "started".
func (p *process) stop(t *testing.T) []string {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	var lines []string
	for line := range p.lines {
		lines = append(lines, line)
	}
	require.NoError(t, p.cmd.Wait())
	return lines
}

// A worker process killed (SIGKILL) in the middle of a job: River's
// rescuer, in another worker process, finds the job stuck; the policy
// schedules it, counts the lost run as an attempt, and the job runs again
// in that process and completes once: one effect row, written by it.
func TestKilledWorkerJobRunsElsewhereOnce(t *testing.T) {
	dsn := newDatabase(t)
	pool := openPool(t, dsn)
	ctx := context.Background()
	a := startWorker(t, "kill", dsn, hangEnv+"=1")
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: quietLogger()})
	require.NoError(t, err)
	res, err := client.Insert(ctx, killArgs{}, nil)
	require.NoError(t, err)
	id := res.Job.ID
	require.Eventually(t, func() bool { return count(t, pool, `SELECT count(*) FROM runs WHERE job_id = $1`, id) == 1 },
		30*time.Second, 5*time.Millisecond, "the job never started in the first process")
	require.NoError(t, a.cmd.Process.Kill())
	_ = a.cmd.Wait()
	// The rescuer of the second process, its leader, rescues a job that
	// has been running longer than RescueStuckJobsAfter (1s) when it
	// starts: start it once that holds, or it would look again in 30s.
	require.Eventually(t, func() bool {
		return count(t, pool, `SELECT count(*) FROM river_job WHERE id = $1 AND attempted_at < now() - interval '1100 ms'`, id) == 1
	}, 30*time.Second, 10*time.Millisecond)
	b := startWorker(t, "kill", dsn, leadEnv+"=1")

	job := waitFinal(t, client, id)
	require.Equal(t, "completed", string(job.State))
	var pids []int
	rows, err := pool.Query(ctx, `SELECT pid FROM runs WHERE job_id = $1 ORDER BY started`, id)
	require.NoError(t, err)
	for rows.Next() {
		var pid int
		require.NoError(t, rows.Scan(&pid))
		pids = append(pids, pid)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []int{a.cmd.Process.Pid, b.cmd.Process.Pid}, pids, "ran in the first process, then in the second")
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM effects WHERE job_id = $1 AND pid = $2`, id, b.cmd.Process.Pid), "one effect, by the second process")
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM effects`))
	require.Len(t, job.Errors, 1)
	require.Contains(t, job.Errors[0].Error, "Stuck job rescued")
	require.Equal(t, []string{"attempt 2"}, b.stop(t), "the lost run counts as the policy's attempt 1")
}

// count runs a count query.
func count(t testing.TB, pool *pgxpool.Pool, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(context.Background(), query, args...).Scan(&n))
	return n
}
