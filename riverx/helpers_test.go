package riverx_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"
)

// pgEnv names the variable that points the tests at a PostgreSQL server.
const pgEnv = "RETRYKIT_PG_DSN"

// defaultDSN is the server of the CI machine: trust authentication.
const defaultDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// pollInterval is how often the test clients look for due jobs: the
// resolution at which a job runs after the instant it was scheduled for.
// River makes a retry due within its scheduler's interval (5s) available
// at once, with its scheduled_at in the future, and a client fetches it
// at its first poll at or after that instant.
const pollInterval = 50 * time.Millisecond

// lateness bounds how long after its scheduled instant a due job starts
// in these tests: twenty polls, for a loaded machine.
const lateness = 20 * pollInterval

// serverConfig returns the configuration of the test server, after
// checking that it answers: the test skips when it does not (fails under
// CI=true).
func serverConfig(t testing.TB) *pgx.ConnConfig {
	t.Helper()
	dsn := os.Getenv(pgEnv)
	if dsn == "" {
		dsn = defaultDSN
	}
	cfg, err := pgx.ParseConfig(dsn)
	require.NoError(t, err, "%s is not a valid PostgreSQL connection string", pgEnv)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		msg := fmt.Sprintf("no PostgreSQL at %s:%d (%s): set %s to a server's connection string",
			cfg.Host, cfg.Port, strings.Join(strings.Fields(err.Error()), " "), pgEnv)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	_ = conn.Close(ctx)
	return cfg
}

// newDatabase creates a database for this test alone, with River's tables
// made by River's migrator and a table runs(job_id, attempt, pid, started,
// scheduled) that the test workers write, and returns its connection
// string; the database is dropped when the test ends.
func newDatabase(t testing.TB) string {
	t.Helper()
	admin := serverConfig(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "riverx_" + hex.EncodeToString(b[:])
	adminExec(t, admin, "CREATE DATABASE "+name)
	t.Cleanup(func() { adminExec(t, admin, "DROP DATABASE "+name+" WITH (FORCE)") })
	cfg := admin.Copy()
	cfg.Database = name
	dsn := fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Host, cfg.Port, name)
	if cfg.Password != "" {
		dsn = fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", cfg.User, cfg.Password, cfg.Host, cfg.Port, name)
	}
	pool := openPool(t, dsn)
	ctx := context.Background()
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	require.NoError(t, err)
	_, err = migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `CREATE TABLE runs (job_id bigint NOT NULL, attempt int NOT NULL, pid int NOT NULL,
		started timestamptz NOT NULL, scheduled timestamptz NOT NULL);
		CREATE TABLE effects (job_id bigint PRIMARY KEY, pid int NOT NULL)`)
	require.NoError(t, err)
	return dsn
}

func adminExec(t testing.TB, cfg *pgx.ConnConfig, stmt string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, stmt)
	require.NoError(t, err, stmt)
}

// openPool opens a pgx pool on dsn, closed when the test ends.
func openPool(t testing.TB, dsn string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// clientConfig is the River configuration of the test clients: a short
// poll (see pollInterval), one queue.
func clientConfig(workers *river.Workers) *river.Config {
	return &river.Config{
		FetchCooldown:     pollInterval / 5,
		FetchPollInterval: pollInterval,
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 20}},
		Workers:           workers,
		Logger:            quietLogger(),
	}
}

// startClient starts a River client on pool with cfg, stopped when the
// test ends.
func startClient(t testing.TB, pool *pgxpool.Pool, cfg *river.Config) *river.Client[pgx.Tx] {
	t.Helper()
	client, err := river.NewClient(riverpgxv5.New(pool), cfg)
	require.NoError(t, err)
	require.NoError(t, client.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, client.Stop(ctx))
	})
	return client
}

// jobRow reads a job's row.
func jobRow(t testing.TB, client *river.Client[pgx.Tx], id int64) *rivertype.JobRow {
	t.Helper()
	job, err := client.JobGet(context.Background(), id)
	require.NoError(t, err)
	return job
}

// waitFinal waits for the job to reach a final state (completed,
// cancelled, discarded) and returns its row. The bound is a limit on a
// test that would otherwise hang, not a measurement.
func waitFinal(t testing.TB, client *river.Client[pgx.Tx], id int64) *rivertype.JobRow {
	t.Helper()
	var job *rivertype.JobRow
	require.Eventually(t, func() bool {
		job = jobRow(t, client, id)
		return job.FinalizedAt != nil
	}, 60*time.Second, 10*time.Millisecond, "job %d never finished", id)
	return job
}

// run is one run of a job as a test worker recorded it.
type run struct {
	Attempt   int       // River's attempt number
	Started   time.Time // when the worker began
	Scheduled time.Time // the job's scheduled_at as the worker saw it
}

// recorder keeps the runs a test worker saw, per job.
type recorder struct {
	mu   sync.Mutex
	runs map[int64][]run
}

func (r *recorder) add(job *rivertype.JobRow) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.runs == nil {
		r.runs = map[int64][]run{}
	}
	r.runs[job.ID] = append(r.runs[job.ID], run{Attempt: job.Attempt, Started: time.Now(), Scheduled: job.ScheduledAt})
	return len(r.runs[job.ID])
}

func (r *recorder) of(id int64) []run {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]run(nil), r.runs[id]...)
}
