package mysqlx_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"
)

// mysqlEnv names the variable that points the tests at a MySQL or MariaDB
// server.
const mysqlEnv = "RETRYKIT_MYSQL_DSN"

// defaultDSN is the server of the CI machine: root without a password.
const defaultDSN = "root@tcp(127.0.0.1:3306)/test"

// serverConfig returns the configuration of the test server, after
// checking that it answers: the test skips when it does not (fails under
// CI=true).
func serverConfig(t testing.TB) *mysql.Config {
	t.Helper()
	dsn := os.Getenv(mysqlEnv)
	if dsn == "" {
		dsn = defaultDSN
	}
	cfg, err := mysql.ParseDSN(dsn)
	require.NoError(t, err, "%s is not a valid MySQL DSN", mysqlEnv)
	db := open(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		msg := fmt.Sprintf("no MySQL/MariaDB at %s (%v): set %s to a server's DSN", cfg.Addr, err, mysqlEnv)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return cfg
}

func open(t testing.TB, cfg *mysql.Config) *sql.DB {
	t.Helper()
	conn, err := mysql.NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(conn)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// newDatabase creates a database for this test alone, dropped when the
// test ends, and returns a pool connected to it.
func newDatabase(t testing.TB) (*sql.DB, *mysql.Config) {
	t.Helper()
	cfg := serverConfig(t)
	admin := open(t, cfg)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "retrykit_" + hex.EncodeToString(b[:])
	_, err := admin.Exec("CREATE DATABASE " + name)
	require.NoError(t, err)
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE " + name); err != nil {
			t.Errorf("DROP DATABASE %s: %v", name, err)
		}
	})
	own := cfg.Clone()
	own.DBName = name
	return open(t, own), own
}

func mustExec(t testing.TB, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		_, err := db.ExecContext(context.Background(), s)
		require.NoError(t, err, s)
	}
}

func balances(t testing.TB, db *sql.DB) []int64 {
	t.Helper()
	rows, err := db.Query("SELECT balance FROM accounts ORDER BY id")
	require.NoError(t, err)
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var b int64
		require.NoError(t, rows.Scan(&b))
		out = append(out, b)
	}
	require.NoError(t, rows.Err())
	return out
}

func accounts(t testing.TB, db *sql.DB, n int) {
	t.Helper()
	mustExec(t, db, "CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL) ENGINE=InnoDB")
	for i := 1; i <= n; i++ {
		mustExec(t, db, fmt.Sprintf("INSERT INTO accounts VALUES (%d, 100)", i))
	}
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

// patience is how long a client waits for a reply the proxy holds back
// before it gives up; the server has committed long before.
const patience = 300 * time.Millisecond

// orders creates the table orders and returns a function counting its rows.
func orders(t testing.TB, db *sql.DB) func() int {
	t.Helper()
	mustExec(t, db, "CREATE TABLE orders (id int AUTO_INCREMENT PRIMARY KEY, item text NOT NULL) ENGINE=InnoDB")
	return func() int {
		t.Helper()
		var n int
		require.NoError(t, db.QueryRow("SELECT count(*) FROM orders").Scan(&n))
		return n
	}
}
