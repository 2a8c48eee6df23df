package mysqlx_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/dbx"
	"github.com/retrykit/retry/dbx/mysqlx"
)

// Two transactions lock two rows in opposite orders: InnoDB detects the
// deadlock at once, rolls one of them back whole (1213), and its retry
// succeeds. Which side loses is the server's choice.
func TestInTxDeadlock(t *testing.T) {
	db, _ := newDatabase(t)
	accounts(t, db, 2)

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
		_, err := mysqlx.InTx(t.Context(), db, nil, func(ctx context.Context, tx *sql.Tx) (struct{}, error) {
			calls.Add(1)
			if !first {
				<-done[1-side] // a retry: the other side has committed
			}
			if _, err := tx.ExecContext(ctx, "UPDATE accounts SET balance = balance - 10 WHERE id = ?", from); err != nil {
				return struct{}{}, err
			}
			if first {
				first = false
				firstUpdates.Done()
				firstUpdates.Wait()
			}
			_, err := tx.ExecContext(ctx, "UPDATE accounts SET balance = balance + 10 WHERE id = ?", to)
			return struct{}{}, err
		}, retry.WithNotify(func(_ context.Context, a retry.RetryInfo) {
			var me *mysql.MySQLError
			if assert.ErrorAs(t, a.Err, &me) {
				assert.Equal(t, uint16(1213), me.Number)
			}
			assert.Equal(t, "40001", dbx.SQLState(a.Err))
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
	assert.Equal(t, []int64{100, 100}, balances(t, db))
}

// A lock wait timeout (1205) rolls back only the statement; InTx rolls
// back the whole transaction, so the first attempt's earlier update is not
// applied twice.
func TestInTxLockWaitTimeout(t *testing.T) {
	db, cfg := newDatabase(t)
	accounts(t, db, 2)
	short := cfg.Clone()
	short.Params = map[string]string{"innodb_lock_wait_timeout": "1"}
	waiter := open(t, short)
	ctx := t.Context()

	holder, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	mustExec(t, holder, "UPDATE accounts SET balance = balance WHERE id = 2")

	calls := 0
	var numbers []uint16
	_, err = mysqlx.InTx(ctx, waiter, nil, func(ctx context.Context, tx *sql.Tx) (int, error) {
		calls++
		if _, err := tx.ExecContext(ctx, "UPDATE accounts SET balance = balance + 1 WHERE id = 1"); err != nil {
			return 0, err
		}
		_, err := tx.ExecContext(ctx, "UPDATE accounts SET balance = balance + 1 WHERE id = 2")
		return 0, err
	}, retry.WithNotify(func(_ context.Context, a retry.RetryInfo) {
		var me *mysql.MySQLError
		require.ErrorAs(t, a.Err, &me)
		numbers = append(numbers, me.Number)
		assert.Equal(t, "55P03", dbx.SQLState(a.Err))
		if len(numbers) == 1 {
			require.NoError(t, holder.Rollback())
		}
	}))
	idle(t, waiter)
	require.NoError(t, err)
	assert.Equal(t, 2, calls)
	assert.Equal(t, []uint16{1205}, numbers)
	assert.Equal(t, []int64{101, 101}, balances(t, db), "the whole transaction applied once")
}

// A duplicate key (1062, SQLSTATE 23000) is not retried; a statement the
// server rolled back after a lock wait timeout is.
func TestExec(t *testing.T) {
	db, cfg := newDatabase(t)
	accounts(t, db, 1)
	ctx := t.Context()

	_, err := mysqlx.Exec(ctx, db, "INSERT INTO accounts VALUES (1, 0)")
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 1, re.Attempts)
	assert.ErrorIs(t, err, retry.ErrPermanent)
	assert.Equal(t, "23000", dbx.SQLState(err))
	var me *mysql.MySQLError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, uint16(1062), me.Number)

	short := cfg.Clone()
	short.Params = map[string]string{"innodb_lock_wait_timeout": "1"}
	waiter := open(t, short)
	holder, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	mustExec(t, holder, "UPDATE accounts SET balance = balance WHERE id = 1")
	var codes []string
	retryOpts := dbx.WithOptions(ctx, retry.WithNotify(func(_ context.Context, a retry.RetryInfo) {
		codes = append(codes, dbx.SQLState(a.Err))
		if len(codes) == 1 {
			require.NoError(t, holder.Rollback())
		}
	}))
	_, err = mysqlx.Exec(retryOpts, waiter, "UPDATE accounts SET balance = balance + ? WHERE id = ?", 7, 1)
	require.NoError(t, err)
	assert.Equal(t, []string{"55P03"}, codes)
	assert.Equal(t, []int64{107}, balances(t, db))
}

// A COMMIT refused because the transaction failed is not an unknown
// outcome, and errors of the caller's own are not retried.
func TestInTxOwnErrorIsNotRetried(t *testing.T) {
	db, _ := newDatabase(t)
	accounts(t, db, 1)
	own := errors.New("not enough money")
	calls := 0
	_, err := mysqlx.InTx(t.Context(), db, nil, func(ctx context.Context, tx *sql.Tx) (int, error) {
		calls++
		if _, err := tx.ExecContext(ctx, "UPDATE accounts SET balance = 0 WHERE id = 1"); err != nil {
			return 0, err
		}
		return 0, own
	})
	idle(t, db)
	assert.ErrorIs(t, err, own)
	assert.ErrorIs(t, err, retry.ErrPermanent)
	assert.Equal(t, 1, calls)
	assert.Equal(t, []int64{100}, balances(t, db), "rolled back")
}

func TestNilArguments(t *testing.T) {
	_, err := mysqlx.InTx[int](t.Context(), nil, nil, nil)
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	_, err = mysqlx.Exec(t.Context(), nil, "SELECT 1")
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
}

// The connection is cut after the server committed and before the client
// heard so: mysqlx.InTx ends with ErrCommitUnknown, does not retry, and
// exactly one row was committed; a read-only transaction is retried.
func TestInTxCommitOutcomeUnknown(t *testing.T) {
	db, cfg := newDatabase(t)
	mustExec(t, db, "CREATE TABLE orders (id int AUTO_INCREMENT PRIMARY KEY, item text NOT NULL) ENGINE=InnoDB")
	proxy, via := newProxy(t, cfg)
	viaDB := open(t, via)

	proxy.arm("commit", 1, cut)
	calls := 0
	_, err := mysqlx.InTx(t.Context(), viaDB, nil, func(ctx context.Context, tx *sql.Tx) (int, error) {
		calls++
		_, err := tx.ExecContext(ctx, "INSERT INTO orders (item) VALUES ('book')")
		return 0, err
	})
	idle(t, viaDB)
	assert.ErrorIs(t, err, dbx.ErrCommitUnknown)
	assert.ErrorIs(t, err, retry.ErrNotIdempotent)
	assert.Equal(t, int32(1), proxy.acted.Load())
	assert.Equal(t, 1, calls, "not retried")
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM orders").Scan(&n))
	assert.Equal(t, 1, n, "the server did commit")

	proxy.arm("commit", 1, cut)
	calls = 0
	got, err := mysqlx.InTx(t.Context(), viaDB, &sql.TxOptions{ReadOnly: true}, func(ctx context.Context, tx *sql.Tx) (int, error) {
		calls++
		var n int
		err := tx.QueryRowContext(ctx, "SELECT count(*) FROM orders").Scan(&n)
		return n, err
	})
	idle(t, viaDB)
	require.NoError(t, err)
	assert.Equal(t, 1, got)
	assert.Equal(t, 2, calls, "a read-only transaction is retried")
}
