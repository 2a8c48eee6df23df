package pgxx_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"
)

// pgEnv names the variable that points the tests at a PostgreSQL server.
const pgEnv = "RETRYKIT_PG_DSN"

// defaultDSN is the server of the CI machine: trust authentication.
const defaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

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
		// One line: pgx's error spans several, one per address tried.
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

// newDatabase creates a database for this test alone, dropped when the
// test ends, and returns a configuration that connects to it.
func newDatabase(t testing.TB) *pgx.ConnConfig {
	t.Helper()
	admin := serverConfig(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "retrykit_" + hex.EncodeToString(b[:])
	adminExec(t, admin, "CREATE DATABASE "+name)
	t.Cleanup(func() { adminExec(t, admin, "DROP DATABASE "+name+" WITH (FORCE)") })
	cfg := admin.Copy()
	cfg.Database = name
	return cfg
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

// connect opens a pgx connection closed when the test ends.
func connect(t testing.TB, cfg *pgx.ConnConfig) *pgx.Conn {
	t.Helper()
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// openDB opens a database/sql pool through pgx's stdlib driver.
func openDB(t testing.TB, cfg *pgx.ConnConfig) *sql.DB {
	t.Helper()
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// exec runs statements on conn, failing the test on an error.
func exec(t testing.TB, conn *pgx.Conn, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		_, err := conn.Exec(context.Background(), s)
		require.NoError(t, err, s)
	}
}

// accounts creates the table accounts(id, balance) with n accounts holding
// balance each.
func accounts(t testing.TB, conn *pgx.Conn, n, balance int) {
	t.Helper()
	exec(t, conn,
		"CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL)",
		fmt.Sprintf("INSERT INTO accounts SELECT g, %d FROM generate_series(1, %d) g", balance, n))
}

func balances(t testing.TB, conn *pgx.Conn) []int64 {
	t.Helper()
	rows, err := conn.Query(context.Background(), "SELECT balance FROM accounts ORDER BY id")
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	return out
}

// idle fails the test when a connection of db stays in use: a helper that
// returned must have ended its transaction and released it (a leaked
// transaction would otherwise hold its locks and hang later tests). When
// the context ended, database/sql rolls back on a goroutine of its own and
// may release the connection just after the helper returned: idle allows
// it a few seconds, a bound rather than a timing.
func idle(t testing.TB, db *sql.DB) {
	t.Helper()
	require.Eventually(t, func() bool { return db.Stats().InUse == 0 }, 5*time.Second, time.Millisecond,
		"a transaction leaked its connection")
}

// orders creates the table orders and returns a function counting its rows.
func orders(t testing.TB, conn *pgx.Conn) func() int {
	t.Helper()
	exec(t, conn, "CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL)")
	return func() int {
		t.Helper()
		var n int
		require.NoError(t, conn.QueryRow(context.Background(), "SELECT count(*) FROM orders").Scan(&n))
		return n
	}
}

// patience is how long a client waits for a reply the proxy holds back
// before it gives up; the server has committed long before.
//
// It bounds the work before COMMIT too (BEGIN and a statement on a
// connection made beforehand), so it is generous: on a loaded machine a
// few hundred milliseconds did not always cover it.
const patience = time.Second

// terminate ends the backend pid and waits (by asking the server) until it
// is gone.
func terminate(t testing.TB, conn *pgx.Conn, pid int) {
	t.Helper()
	ctx := context.Background()
	_, err := conn.Exec(ctx, "SELECT pg_terminate_backend($1)", pid)
	require.NoError(t, err)
	for {
		var alive bool
		require.NoError(t, conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)", pid).Scan(&alive))
		if !alive {
			return
		}
	}
}
