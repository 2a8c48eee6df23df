package pgxx_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/dbx"
)

// Transactions interrupted by the server (a terminated session, a full
// connection limit) or by the caller (a cancellation, a panic), through
// dbx.InTx on a real PostgreSQL with pgx's stdlib driver (the root module
// may not import a driver).

// The session running fn is terminated (pg_terminate_backend) during a
// statement: FATAL 57P01, and the whole transaction runs again on a new
// connection.
func TestInTxAdminShutdown(t *testing.T) {
	cfg := newDatabase(t)
	other := connect(t, cfg)
	accounts(t, other, 1, 100)
	db := openDB(t, cfg)

	calls := 0
	var codes []string
	_, err := dbx.InTx(t.Context(), db, nil, func(ctx context.Context, tx *sql.Tx) (int, error) {
		calls++
		if _, err := tx.ExecContext(ctx, "UPDATE accounts SET balance = balance + 1 WHERE id = 1"); err != nil {
			return 0, err
		}
		if calls == 1 {
			var pid int
			if err := tx.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
				return 0, err
			}
			done := make(chan struct{})
			defer func() { <-done }()
			go func() {
				defer close(done)
				terminateWhenSleeping(t, other, pid)
			}()
			_, err := tx.ExecContext(ctx, "SELECT pg_sleep(60)")
			return 0, err
		}
		return 0, nil
	}, retry.WithNotify(func(_ context.Context, a retry.RetryInfo) { codes = append(codes, dbx.SQLState(a.Err)) }))
	idle(t, db)
	require.NoError(t, err)
	assert.Equal(t, 2, calls)
	assert.Equal(t, []string{"57P01"}, codes)
	assert.Equal(t, []int64{101}, balances(t, other), "the first attempt's update was rolled back")
}

// terminateWhenSleeping waits (by asking the server, not by sleeping) until
// the backend pid is in pg_sleep, then terminates it.
func terminateWhenSleeping(t testing.TB, conn *pgx.Conn, pid int) {
	ctx := context.Background()
	for {
		var sleeping bool
		err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event = 'PgSleep')", pid).Scan(&sleeping)
		if err != nil {
			t.Errorf("pg_stat_activity: %v", err)
			return
		}
		if sleeping {
			break
		}
	}
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_terminate_backend($1)", pid).Scan(&ok); err != nil || !ok {
		t.Errorf("pg_terminate_backend(%d) = %v, %v", pid, ok, err)
	}
}

// A role limited to one connection: while another session holds it,
// BEGIN fails with 53300 at connect; the retry succeeds once it is free.
func TestInTxTooManyConnections(t *testing.T) {
	cfg := newDatabase(t)
	admin := serverConfig(t)
	role := "rk_" + cfg.Database[len("retrykit_"):]
	adminExec(t, admin, "CREATE ROLE "+role+" LOGIN CONNECTION LIMIT 1")
	t.Cleanup(func() { adminExec(t, admin, "DROP ROLE "+role) })
	limited := cfg.Copy()
	limited.User = role

	holder := openDB(t, limited)
	held, err := holder.Conn(t.Context())
	require.NoError(t, err)

	db := openDB(t, limited)
	calls := 0
	var codes []string
	v, err := dbx.InTx(t.Context(), db, nil, func(ctx context.Context, tx *sql.Tx) (int, error) {
		calls++
		var one int
		err := tx.QueryRowContext(ctx, "SELECT 1").Scan(&one)
		return one, err
	}, retry.WithNotify(func(_ context.Context, a retry.RetryInfo) {
		codes = append(codes, dbx.SQLState(a.Err))
		if len(codes) == 1 {
			require.NoError(t, held.Close())
			require.NoError(t, holder.Close()) // the connection goes back to the server
		}
	}))
	idle(t, db)
	require.NoError(t, err)
	assert.Equal(t, 1, v)
	assert.Equal(t, 1, calls, "fn never ran on the refused attempts")
	require.NotEmpty(t, codes)
	for _, c := range codes {
		// The server may take a moment to end the freed backend.
		assert.Equal(t, "53300", c)
	}
}

// The caller's context ends just before COMMIT: database/sql does not send
// it and rolls back, so the outcome is known (nothing committed) and the
// error says the caller cancelled, not that the outcome is unknown.
func TestInTxCancelledBeforeCommit(t *testing.T) {
	cfg := newDatabase(t)
	other := connect(t, cfg)
	exec(t, other, "CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL)")
	db := openDB(t, cfg)
	ctx, cancel := context.WithCancel(t.Context())
	calls := 0
	_, err := dbx.InTx(ctx, db, nil, func(ctx context.Context, tx *sql.Tx) (int, error) {
		calls++
		_, err := tx.ExecContext(ctx, "INSERT INTO orders (item) VALUES ('book')")
		cancel()
		return 0, err
	})
	idle(t, db)
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, dbx.ErrCommitUnknown)
	assert.Equal(t, 1, calls)
	var n int
	require.NoError(t, other.QueryRow(t.Context(), "SELECT count(*) FROM orders").Scan(&n))
	assert.Equal(t, 0, n)
}

// fn panics after a write: the transaction is rolled back, its connection
// goes back to the pool, and the panic reaches the caller unchanged.
func TestInTxPanic(t *testing.T) {
	cfg := newDatabase(t)
	other := connect(t, cfg)
	exec(t, other, "CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL)")
	db := openDB(t, cfg)
	assert.PanicsWithValue(t, "boom", func() {
		_, _ = dbx.InTx(t.Context(), db, nil, func(ctx context.Context, tx *sql.Tx) (int, error) {
			if _, err := tx.ExecContext(ctx, "INSERT INTO orders (item) VALUES ('book')"); err != nil {
				return 0, err
			}
			panic("boom")
		})
	})
	assert.Equal(t, 0, db.Stats().InUse, "the connection is back in the pool")
	var n int
	require.NoError(t, other.QueryRow(t.Context(), "SELECT count(*) FROM orders").Scan(&n))
	assert.Equal(t, 0, n, "rolled back")
	// The pool still works.
	_, err := dbx.InTx(t.Context(), db, nil, func(ctx context.Context, tx *sql.Tx) (int, error) {
		_, err := tx.ExecContext(ctx, "INSERT INTO orders (item) VALUES ('pen')")
		return 0, err
	})
	idle(t, db)
	require.NoError(t, err)
}
