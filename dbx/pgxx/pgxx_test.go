package pgxx_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/dbx"
	"github.com/retrykit/retry/dbx/pgxx"
)

func newPool(t testing.TB, cfg *pgx.ConnConfig) *pgxpool.Pool {
	t.Helper()
	pcfg, err := pgxpool.ParseConfig("")
	require.NoError(t, err)
	pcfg.ConnConfig = cfg.Copy()
	pool, err := pgxpool.NewWithConfig(context.Background(), pcfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

// The lost update of the database/sql test, through a pgxpool.
func TestPgxInTxSerializationFailure(t *testing.T) {
	cfg := newDatabase(t)
	other := connect(t, cfg)
	accounts(t, other, 1, 100)
	pool := newPool(t, cfg)

	calls := 0
	var codes []string
	got, err := pgxx.InTx(t.Context(), pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead},
		func(ctx context.Context, tx pgx.Tx) (int64, error) {
			calls++
			var bal int64
			if err := tx.QueryRow(ctx, "SELECT balance FROM accounts WHERE id = 1").Scan(&bal); err != nil {
				return 0, err
			}
			if calls == 1 {
				exec(t, other, "UPDATE accounts SET balance = balance + 50 WHERE id = 1")
			}
			_, err := tx.Exec(ctx, "UPDATE accounts SET balance = $1 WHERE id = 1", bal-30)
			return bal - 30, err
		}, retry.WithNotify(func(_ context.Context, a retry.RetryInfo) { codes = append(codes, dbx.SQLState(a.Err)) }))
	require.NoError(t, err)
	assert.Equal(t, 2, calls)
	assert.Equal(t, []string{"40001"}, codes)
	assert.Equal(t, int64(120), got)
	assert.Equal(t, []int64{120}, balances(t, other))
}

// pgx reports a COMMIT cut after the server committed as safe to retry;
// pgxx does not believe it.
func TestPgxInTxCommitOutcomeUnknown(t *testing.T) {
	cfg := newDatabase(t)
	other := connect(t, cfg)
	exec(t, other, "CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL)")
	proxy, via := newProxy(t, cfg)
	pool := newPool(t, via)

	proxy.arm("commit", 1, cut)
	calls := 0
	_, err := pgxx.InTx(t.Context(), pool, pgx.TxOptions{}, func(ctx context.Context, tx pgx.Tx) (int, error) {
		calls++
		_, err := tx.Exec(ctx, "INSERT INTO orders (item) VALUES ('book')")
		return 0, err
	})
	assert.ErrorIs(t, err, dbx.ErrCommitUnknown)
	assert.Equal(t, 1, calls)
	var n int
	require.NoError(t, other.QueryRow(t.Context(), "SELECT count(*) FROM orders").Scan(&n))
	assert.Equal(t, 1, n, "the server did commit")

	proxy.arm("commit", 1, cut)
	calls = 0
	_, err = pgxx.InTx(t.Context(), pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(ctx context.Context, tx pgx.Tx) (int, error) {
		calls++
		var n int
		return n, tx.QueryRow(ctx, "SELECT count(*) FROM orders").Scan(&n)
	})
	require.NoError(t, err)
	assert.Equal(t, 2, calls, "a read-only transaction is retried")
}

// fn swallowed a failed statement: the server turns COMMIT into a
// rollback. Nothing was committed, so it is not an unknown outcome, and it
// is not retried either.
func TestPgxInTxCommitTurnedIntoRollback(t *testing.T) {
	cfg := newDatabase(t)
	pool := newPool(t, cfg)
	calls := 0
	_, err := pgxx.InTx(t.Context(), pool, pgx.TxOptions{}, func(ctx context.Context, tx pgx.Tx) (int, error) {
		calls++
		_, _ = tx.Exec(ctx, "SELECT 1/0")
		return 0, nil
	})
	assert.ErrorIs(t, err, pgx.ErrTxCommitRollback)
	assert.ErrorIs(t, err, retry.ErrPermanent)
	assert.NotErrorIs(t, err, dbx.ErrCommitUnknown)
	assert.Equal(t, "25P02", dbx.SQLState(err))
	assert.Equal(t, 1, calls)
}

// A statement outside a transaction blocked by a lock fails with 55P03
// (lock_timeout): the server rolled it back, so it is sent again. A unique
// violation is not.
func TestPgxExec(t *testing.T) {
	cfg := newDatabase(t)
	other := connect(t, cfg)
	accounts(t, other, 1, 100)
	exec(t, other, "ALTER DATABASE "+cfg.Database+" SET lock_timeout = '20ms'")
	pool := newPool(t, cfg)
	ctx := t.Context()

	holder, err := other.Begin(ctx)
	require.NoError(t, err)
	_, err = holder.Exec(ctx, "SELECT * FROM accounts WHERE id = 1 FOR UPDATE")
	require.NoError(t, err)
	var codes []string
	tag, err := pgxx.Exec(ctx, pool, "UPDATE accounts SET balance = balance + $1 WHERE id = 1", []any{5},
		retry.WithNotify(func(_ context.Context, a retry.RetryInfo) {
			codes = append(codes, dbx.SQLState(a.Err))
			if len(codes) == 1 {
				require.NoError(t, holder.Rollback(ctx))
			}
		}))
	require.NoError(t, err)
	assert.Equal(t, int64(1), tag.RowsAffected())
	assert.Equal(t, []string{"55P03"}, codes)
	assert.Equal(t, []int64{105}, balances(t, other))

	_, err = pgxx.Exec(ctx, pool, "INSERT INTO accounts VALUES (1, 0)", nil)
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 1, re.Attempts)
	assert.Equal(t, "23505", dbx.SQLState(err))
}

func TestPgxNilArguments(t *testing.T) {
	_, err := pgxx.InTx[int](t.Context(), nil, pgx.TxOptions{}, nil)
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	_, err = pgxx.Exec(t.Context(), nil, "SELECT 1", nil)
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	var unset *pgxpool.Pool
	_, err = pgxx.InTx(t.Context(), unset, pgx.TxOptions{}, func(context.Context, pgx.Tx) (int, error) { return 0, nil })
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	_, err = pgxx.Exec(t.Context(), unset, "SELECT 1", nil)
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
}

// The pool's only connection was killed while idle. PostgreSQL tells the
// client FATAL 57P01, which pgx reads when it next sends a statement: to
// the client that is the session dying under a statement, which may have
// run. So pgxx.Exec does not send it again (here it had not run), unless
// it is declared idempotent; then it runs on a new connection, once.
func TestPgxExecAfterIdleConnectionKilled(t *testing.T) {
	cfg := newDatabase(t)
	other := connect(t, cfg)
	accounts(t, other, 1, 100)
	pcfg, err := pgxpool.ParseConfig("")
	require.NoError(t, err)
	pcfg.ConnConfig = cfg.Copy()
	pcfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(t.Context(), pcfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	ctx := t.Context()
	const update = "UPDATE accounts SET balance = balance + 1 WHERE id = 1"
	kill := func() {
		var pid int
		require.NoError(t, pool.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid))
		terminate(t, other, pid)
	}

	kill()
	_, err = pgxx.Exec(ctx, pool, update, nil)
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 1, re.Attempts)
	assert.ErrorIs(t, err, retry.ErrNotIdempotent)
	assert.Equal(t, "57P01", dbx.SQLState(err))
	assert.Equal(t, []int64{100}, balances(t, other))

	kill()
	_, err = pgxx.Exec(dbx.Idempotent(ctx), pool, update, nil)
	require.NoError(t, err)
	assert.Equal(t, []int64{101}, balances(t, other), "applied once")
}

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
