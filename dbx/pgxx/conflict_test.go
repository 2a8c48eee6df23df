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

// Conflicts the server resolves by aborting one transaction (40001, 40P01,
// 55P03), through dbx.InTx on a real PostgreSQL with pgx's stdlib driver
// (the root module may not import a driver).

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
