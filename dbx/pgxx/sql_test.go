package pgxx_test

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/dbx"
)

// These tests run dbx's database/sql helpers against a real PostgreSQL
// through pgx's stdlib driver (the root module may not import a driver).

// A lost update at REPEATABLE READ: another session updates the row fn
// read, so fn's own UPDATE fails with 40001 at the statement; the retry
// reads the new balance.
func TestInTxSerializationFailureAtStatement(t *testing.T) {
	cfg := newDatabase(t)
	other := connect(t, cfg)
	accounts(t, other, 1, 100)
	db := openDB(t, cfg)

	calls := 0
	var codes []string
	got, err := dbx.InTx(t.Context(), db, &sql.TxOptions{Isolation: sql.LevelRepeatableRead},
		func(ctx context.Context, tx *sql.Tx) (int64, error) {
			calls++
			var bal int64
			if err := tx.QueryRowContext(ctx, "SELECT balance FROM accounts WHERE id = 1").Scan(&bal); err != nil {
				return 0, err
			}
			if calls == 1 {
				exec(t, other, "UPDATE accounts SET balance = balance + 50 WHERE id = 1")
			}
			_, err := tx.ExecContext(ctx, "UPDATE accounts SET balance = $1 WHERE id = 1", bal-30)
			return bal - 30, err
		}, retry.WithNotify(func(_ context.Context, a retry.RetryInfo) { codes = append(codes, dbx.SQLState(a.Err)) }))
	idle(t, db)
	require.NoError(t, err)
	assert.Equal(t, 2, calls)
	assert.Equal(t, []string{"40001"}, codes)
	assert.Equal(t, int64(120), got)
	assert.Equal(t, []int64{120}, balances(t, other))
}

// SERIALIZABLE write skew: two transactions each read the sum of both
// accounts and take 100 from a different one if the sum allows; both
// statements succeed and the second COMMIT fails with 40001. The retry
// sees the first transaction's withdrawal and takes nothing.
func TestInTxSerializationFailureAtCommit(t *testing.T) {
	cfg := newDatabase(t)
	other := connect(t, cfg)
	accounts(t, other, 2, 100)
	db := openDB(t, cfg)
	ctx := t.Context()

	// The other transaction: it read the sum before ours starts.
	a, err := other.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
	require.NoError(t, err)
	var sum int64
	require.NoError(t, a.QueryRow(ctx, "SELECT sum(balance) FROM accounts").Scan(&sum))
	require.Equal(t, int64(200), sum)

	calls := 0
	var codes []string
	took, err := dbx.InTx(ctx, db, &sql.TxOptions{Isolation: sql.LevelSerializable},
		func(ctx context.Context, tx *sql.Tx) (bool, error) {
			calls++
			var sum int64
			if err := tx.QueryRowContext(ctx, "SELECT sum(balance) FROM accounts").Scan(&sum); err != nil {
				return false, err
			}
			if calls == 1 {
				_, err := a.Exec(ctx, "UPDATE accounts SET balance = balance - 100 WHERE id = 1")
				require.NoError(t, err)
			}
			if sum < 200 {
				return false, nil
			}
			if _, err := tx.ExecContext(ctx, "UPDATE accounts SET balance = balance - 100 WHERE id = 2"); err != nil {
				return false, err
			}
			if calls == 1 {
				require.NoError(t, a.Commit(ctx))
			}
			return true, nil
		}, retry.WithNotify(func(_ context.Context, at retry.RetryInfo) { codes = append(codes, dbx.SQLState(at.Err)) }))
	idle(t, db)
	require.NoError(t, err)
	assert.Equal(t, 2, calls)
	assert.Equal(t, []string{"40001"}, codes, "the failure came at COMMIT and was retried")
	assert.False(t, took, "the retry saw the other withdrawal")
	assert.Equal(t, []int64{0, 100}, balances(t, other))
}

// Two transactions lock two rows in opposite orders: the server picks one
// victim (which one is its choice), whose retry succeeds.
func TestInTxDeadlock(t *testing.T) {
	cfg := newDatabase(t)
	admin := connect(t, cfg)
	accounts(t, admin, 2, 100)
	exec(t, admin, "ALTER DATABASE "+cfg.Database+" SET deadlock_timeout = '50ms'")
	db := openDB(t, cfg)

	var calls, retries atomic.Int32
	var firstUpdates sync.WaitGroup
	firstUpdates.Add(2)
	// done[i] closes when side i has finished. The victim's retry waits for
	// the other side, so that it cannot win the freed row back and deadlock
	// a second time (with row locks the waiter must take the tuple lock
	// again when it wakes, and a quick retry can take it first).
	done := []chan struct{}{make(chan struct{}), make(chan struct{})}
	transfer := func(side, from, to int) error {
		defer close(done[side])
		first := true
		_, err := dbx.InTx(t.Context(), db, nil, func(ctx context.Context, tx *sql.Tx) (struct{}, error) {
			calls.Add(1)
			if !first {
				<-done[1-side] // a retry: the other side has committed
			}
			if _, err := tx.ExecContext(ctx, "UPDATE accounts SET balance = balance - 10 WHERE id = $1", from); err != nil {
				return struct{}{}, err
			}
			if first {
				first = false
				firstUpdates.Done()
				firstUpdates.Wait() // both hold their first row: the next updates deadlock
			}
			_, err := tx.ExecContext(ctx, "UPDATE accounts SET balance = balance + 10 WHERE id = $1", to)
			return struct{}{}, err
		}, retry.WithNotify(func(_ context.Context, a retry.RetryInfo) {
			assert.Equal(t, "40P01", dbx.SQLState(a.Err))
			retries.Add(1)
		}))
		return err
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() { errs[0] = transfer(0, 1, 2) })
	wg.Go(func() { errs[1] = transfer(1, 2, 1) })
	wg.Wait()
	idle(t, db)
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	assert.Equal(t, int32(1), retries.Load(), "exactly one victim")
	assert.Equal(t, int32(3), calls.Load())
	assert.Equal(t, []int64{100, 100}, balances(t, admin))
}

// A row locked elsewhere: FOR UPDATE NOWAIT fails with 55P03; the lock is
// released before the retry, which succeeds.
func TestInTxLockNotAvailable(t *testing.T) {
	cfg := newDatabase(t)
	other := connect(t, cfg)
	accounts(t, other, 1, 100)
	db := openDB(t, cfg)
	ctx := t.Context()

	holder, err := other.Begin(ctx)
	require.NoError(t, err)
	_, err = holder.Exec(ctx, "SELECT * FROM accounts WHERE id = 1 FOR UPDATE")
	require.NoError(t, err)

	calls := 0
	_, err = dbx.InTx(ctx, db, nil, func(ctx context.Context, tx *sql.Tx) (int, error) {
		calls++
		_, err := tx.ExecContext(ctx, "SELECT * FROM accounts WHERE id = 1 FOR UPDATE NOWAIT")
		if err != nil {
			return 0, err
		}
		_, err = tx.ExecContext(ctx, "UPDATE accounts SET balance = 1 WHERE id = 1")
		return 0, err
	}, retry.WithNotify(func(_ context.Context, a retry.RetryInfo) {
		assert.Equal(t, "55P03", dbx.SQLState(a.Err))
		require.NoError(t, holder.Rollback(ctx))
	}))
	idle(t, db)
	require.NoError(t, err)
	assert.Equal(t, 2, calls)
	assert.Equal(t, []int64{1}, balances(t, other))

	// Narrowed: 55P03 ends the call.
	holder, err = other.Begin(ctx)
	require.NoError(t, err)
	defer holder.Rollback(ctx)
	_, err = holder.Exec(ctx, "SELECT * FROM accounts WHERE id = 1 FOR UPDATE")
	require.NoError(t, err)
	_, err = dbx.InTx(ctx, db, nil, func(ctx context.Context, tx *sql.Tx) (int, error) {
		_, err := tx.ExecContext(ctx, "SET LOCAL lock_timeout = '20ms'")
		if err == nil {
			_, err = tx.ExecContext(ctx, "UPDATE accounts SET balance = 2 WHERE id = 1")
		}
		return 0, err
	}, retry.WithClassifier(dbx.StopCodes("55P03")))
	idle(t, db)
	assert.ErrorIs(t, err, retry.ErrPermanent)
	assert.Equal(t, "55P03", dbx.SQLState(err), "lock_timeout reports 55P03 too")
}

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

// The connection is cut after the server committed and before the client
// heard so: the outcome is unknown to the client, the helper does not
// retry, and exactly one row was committed. A read-only transaction is
// retried.
func TestInTxCommitOutcomeUnknown(t *testing.T) {
	cfg := newDatabase(t)
	other := connect(t, cfg)
	exec(t, other, "CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL)")
	proxy, via := newProxy(t, cfg)
	db := openDB(t, via)

	proxy.arm("commit", 1, cut)
	calls := 0
	_, err := dbx.InTx(t.Context(), db, nil, func(ctx context.Context, tx *sql.Tx) (int, error) {
		calls++
		_, err := tx.ExecContext(ctx, "INSERT INTO orders (item) VALUES ('book')")
		return 0, err
	})
	idle(t, db)
	require.Error(t, err)
	assert.ErrorIs(t, err, dbx.ErrCommitUnknown)
	assert.ErrorIs(t, err, retry.ErrNotIdempotent)
	assert.Equal(t, int32(1), proxy.acted.Load())
	assert.Equal(t, 1, calls, "not retried")
	var n int
	require.NoError(t, other.QueryRow(t.Context(), "SELECT count(*) FROM orders").Scan(&n))
	assert.Equal(t, 1, n, "the server did commit")

	// Read-only: the same cut is retried.
	proxy.arm("commit", 1, cut)
	calls = 0
	got, err := dbx.InTx(t.Context(), db, &sql.TxOptions{ReadOnly: true}, func(ctx context.Context, tx *sql.Tx) (int, error) {
		calls++
		var n int
		err := tx.QueryRowContext(ctx, "SELECT count(*) FROM orders").Scan(&n)
		return n, err
	})
	idle(t, db)
	require.NoError(t, err)
	assert.Equal(t, 1, got)
	assert.Equal(t, 2, calls)
	assert.Equal(t, int32(2), proxy.acted.Load())

	// Declared idempotent: retried too (the upsert makes a second run harmless).
	proxy.arm("commit", 1, cut)
	calls = 0
	_, err = dbx.InTx(dbx.Idempotent(t.Context()), db, nil, func(ctx context.Context, tx *sql.Tx) (int, error) {
		calls++
		_, err := tx.ExecContext(ctx, "INSERT INTO orders (id, item) VALUES (100, 'pen') ON CONFLICT (id) DO NOTHING")
		return 0, err
	})
	idle(t, db)
	require.NoError(t, err)
	assert.Equal(t, 2, calls)
	require.NoError(t, other.QueryRow(t.Context(), "SELECT count(*) FROM orders").Scan(&n))
	assert.Equal(t, 2, n)
}

// dbx.Exec and dbx.Query outside a transaction: a statement the server
// rolled back (55P03 from lock_timeout) is sent again; a unique violation
// is not; a query's rows come back through scan.
func TestExecAndQuery(t *testing.T) {
	cfg := newDatabase(t)
	other := connect(t, cfg)
	accounts(t, other, 2, 100)
	exec(t, other, "ALTER DATABASE "+cfg.Database+" SET lock_timeout = '20ms'")
	db := openDB(t, cfg)
	ctx := t.Context()

	holder, err := other.Begin(ctx)
	require.NoError(t, err)
	_, err = holder.Exec(ctx, "SELECT * FROM accounts WHERE id = 1 FOR UPDATE")
	require.NoError(t, err)
	var codes []string
	res, err := dbx.Exec(ctx, db, "UPDATE accounts SET balance = balance + $1 WHERE id = 1", []any{5},
		retry.WithNotify(func(_ context.Context, a retry.RetryInfo) {
			codes = append(codes, dbx.SQLState(a.Err))
			if len(codes) == 1 {
				require.NoError(t, holder.Rollback(ctx))
			}
		}))
	require.NoError(t, err)
	n, err := res.RowsAffected()
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	assert.Equal(t, []string{"55P03"}, codes)

	_, err = dbx.Exec(ctx, db, "INSERT INTO accounts VALUES (1, 0)", nil)
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 1, re.Attempts)
	assert.ErrorIs(t, err, retry.ErrPermanent)
	assert.Equal(t, "23505", dbx.SQLState(err))

	got, err := dbx.Query(dbx.Idempotent(ctx), db, "SELECT balance FROM accounts ORDER BY id", nil,
		func(rows *sql.Rows) ([]int64, error) {
			var out []int64
			for rows.Next() {
				var b int64
				if err := rows.Scan(&b); err != nil {
					return nil, err
				}
				out = append(out, b)
			}
			return out, nil
		})
	require.NoError(t, err)
	assert.Equal(t, []int64{105, 100}, got)
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

// The caveat of the README, shown: the pool's idle connection was killed,
// and database/sql itself sends the statement again on a new connection
// inside one attempt of ours (it retries driver.ErrBadConn up to 3 times
// per call), so dbx.Exec sees a success and no retry of its own.
func TestExecDatabaseSQLRetriesByItself(t *testing.T) {
	cfg := newDatabase(t)
	other := connect(t, cfg)
	accounts(t, other, 1, 100)
	db := openDB(t, cfg)
	db.SetMaxOpenConns(1)
	var pid int
	require.NoError(t, db.QueryRow("SELECT pg_backend_pid()").Scan(&pid))
	terminate(t, other, pid)

	retries := 0
	_, err := dbx.Exec(t.Context(), db, "UPDATE accounts SET balance = balance + 1 WHERE id = 1", nil,
		retry.WithNotify(func(context.Context, retry.RetryInfo) { retries++ }))
	require.NoError(t, err)
	assert.Equal(t, 0, retries, "the retry happened inside database/sql")
	assert.Equal(t, []int64{101}, balances(t, other))
}
