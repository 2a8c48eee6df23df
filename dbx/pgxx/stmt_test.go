package pgxx_test

import (
	"context"
	"database/sql"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/dbx"
	"github.com/retrykit/retry/dbx/pgxx"
)

// Statements outside a transaction, through database/sql (pgx stdlib) and
// pgx natively: sent again only where that cannot apply them twice.

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
	retryOpts := dbx.WithOptions(ctx, retry.WithNotify(func(_ context.Context, a retry.RetryInfo) {
		codes = append(codes, dbx.SQLState(a.Err))
		if len(codes) == 1 {
			require.NoError(t, holder.Rollback(ctx))
		}
	}))
	res, err := dbx.Exec(retryOpts, db, "UPDATE accounts SET balance = balance + $1 WHERE id = 1", 5)
	require.NoError(t, err)
	n, err := res.RowsAffected()
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	assert.Equal(t, []string{"55P03"}, codes)

	_, err = dbx.Exec(ctx, db, "INSERT INTO accounts VALUES (1, 0)")
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 1, re.Attempts)
	assert.ErrorIs(t, err, retry.ErrPermanent)
	assert.Equal(t, "23505", dbx.SQLState(err))

	got, err := dbx.Query(dbx.Idempotent(ctx), db, "SELECT balance FROM accounts WHERE balance > $1 ORDER BY id",
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
		}, 0)
	require.NoError(t, err)
	assert.Equal(t, []int64{105, 100}, got)
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
	ctx := dbx.WithOptions(t.Context(), retry.WithNotify(func(context.Context, retry.RetryInfo) { retries++ }))
	_, err := dbx.Exec(ctx, db, "UPDATE accounts SET balance = balance + $1 WHERE id = $2", 1, 1)
	require.NoError(t, err)
	assert.Equal(t, 0, retries, "the retry happened inside database/sql")
	assert.Equal(t, []int64{101}, balances(t, other))
}

// The proxy cuts the reply to every INSERT after the server ran it. pgx
// reports "conn closed", SafeToRetry; database/sql turns that into
// driver.ErrBadConn and runs the statement again by itself (up to 3 times
// in all), which dbx cannot prevent; dbx adds no attempt of its own.
func TestExecReplyCutIsNotSentAgain(t *testing.T) {
	cfg := newDatabase(t)
	count := orders(t, connect(t, cfg))
	proxy, via := newProxy(t, cfg)
	db := openDB(t, via)

	proxy.arm("insert into orders", -1, cut)
	_, err := dbx.Exec(t.Context(), db, "INSERT INTO orders (item) VALUES ('book')")
	idle(t, db)
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 1, re.Attempts, "one attempt of dbx's")
	assert.ErrorIs(t, err, retry.ErrNotIdempotent)
	sends := int(proxy.acted.Load())
	assert.Equal(t, sends, count(), "every send ran")
	assert.GreaterOrEqual(t, sends, 1)
	assert.LessOrEqual(t, sends, 3, "at most database/sql's own sends")

	// Declared idempotent, it is sent again.
	proxy.arm("insert into orders", 1, cut)
	_, err = dbx.Exec(dbx.Idempotent(t.Context()), db, "INSERT INTO orders (id, item) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING", 100, "pen")
	require.NoError(t, err)
}

// The same through pgx natively: one send, one row, no retry.
func TestPgxExecReplyCutIsNotSentAgain(t *testing.T) {
	cfg := newDatabase(t)
	count := orders(t, connect(t, cfg))
	proxy, via := newProxy(t, cfg)
	pool := newPool(t, via)

	proxy.arm("insert into orders", -1, cut)
	_, err := pgxx.Exec(t.Context(), pool, "INSERT INTO orders (item) VALUES ('book')")
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 1, re.Attempts)
	assert.ErrorIs(t, err, retry.ErrNotIdempotent)
	assert.Equal(t, int32(1), proxy.acted.Load())
	assert.Equal(t, 1, count(), "run once")
}

// A server that refuses the connection: nothing was sent, so pgxx.Exec
// tries again, as many times as the policy allows.
func TestPgxExecConnectionRefusedIsRetried(t *testing.T) {
	cfg := serverConfig(t).Copy()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg.Host, cfg.Port, cfg.Fallbacks = "127.0.0.1", uint16(ln.Addr().(*net.TCPAddr).Port), nil
	require.NoError(t, ln.Close()) // nobody listens there now
	pool := newPool(t, cfg)

	_, err = pgxx.Exec(dbx.WithOptions(t.Context(), retry.WithMaxAttempts(3)), pool, "INSERT INTO orders (item) VALUES ($1)", "book")
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 3, re.Attempts)
	assert.ErrorIs(t, err, retry.ErrExhausted)
	assert.Equal(t, "08001", dbx.SQLState(err))
	var ce *pgconn.ConnectError
	assert.ErrorAs(t, err, &ce)
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
	retryOpts := dbx.WithOptions(ctx, retry.WithNotify(func(_ context.Context, a retry.RetryInfo) {
		codes = append(codes, dbx.SQLState(a.Err))
		if len(codes) == 1 {
			require.NoError(t, holder.Rollback(ctx))
		}
	}))
	tag, err := pgxx.Exec(retryOpts, pool, "UPDATE accounts SET balance = balance + $1 WHERE id = $2", 5, 1)
	require.NoError(t, err)
	assert.Equal(t, int64(1), tag.RowsAffected())
	assert.Equal(t, []string{"55P03"}, codes)
	assert.Equal(t, []int64{105}, balances(t, other))

	_, err = pgxx.Exec(ctx, pool, "INSERT INTO accounts VALUES (1, 0)")
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 1, re.Attempts)
	assert.Equal(t, "23505", dbx.SQLState(err))
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
	_, err = pgxx.Exec(ctx, pool, update)
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 1, re.Attempts)
	assert.ErrorIs(t, err, retry.ErrNotIdempotent)
	assert.Equal(t, "57P01", dbx.SQLState(err))
	assert.Equal(t, []int64{100}, balances(t, other))

	kill()
	_, err = pgxx.Exec(dbx.Idempotent(ctx), pool, update)
	require.NoError(t, err)
	assert.Equal(t, []int64{101}, balances(t, other), "applied once")
}
