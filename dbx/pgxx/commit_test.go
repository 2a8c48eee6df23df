package pgxx_test

import (
	"context"
	"database/sql"
	"net"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/dbx"
	"github.com/retrykit/retry/dbx/pgxx"
)

// How the client stops waiting for a COMMIT whose reply the proxy holds
// back after the server committed: the policy's attempt timeout, or the
// caller's deadline.
// Under the attempt timeout the loop stops because the error is
// NotIdempotent (reason ErrNotIdempotent); under the caller's deadline, because
// the context ended.
var giveUps = []struct {
	name   string
	ctx    func(t *testing.T) context.Context
	opts   []retry.Option
	reason error
}{
	{"attempt timeout", func(t *testing.T) context.Context { return t.Context() },
		[]retry.Option{retry.WithAttemptTimeout(patience)}, retry.ErrNotIdempotent},
	{"caller's deadline", func(t *testing.T) context.Context {
		ctx, cancel := context.WithTimeout(t.Context(), patience)
		t.Cleanup(cancel)
		return ctx
	}, nil, context.DeadlineExceeded},
}

// database/sql through pgx's stdlib driver commits with the context of
// BeginTx: when it ends while the COMMIT is under way, the transaction may
// have committed (here it has), so the call ends with ErrCommitUnknown and
// is not redone.
func TestInTxCommitReplyHeldPastTheContext(t *testing.T) {
	for _, g := range giveUps {
		t.Run(g.name, func(t *testing.T) {
			cfg := newDatabase(t)
			count := orders(t, connect(t, cfg))
			proxy, via := newProxy(t, cfg)
			db := openDB(t, via)

			proxy.arm("commit", 1, hold)
			calls := 0
			_, err := dbx.InTx(g.ctx(t), db, nil, func(ctx context.Context, tx *sql.Tx) (int, error) {
				calls++
				_, err := tx.ExecContext(ctx, "INSERT INTO orders (item) VALUES ('book')")
				return 0, err
			}, g.opts...)
			idle(t, db)
			assert.ErrorIs(t, err, dbx.ErrCommitUnknown)
			assert.ErrorIs(t, err, g.reason)
			assert.Equal(t, int32(1), proxy.acted.Load(), "one COMMIT was held")
			assert.Equal(t, 1, calls, "not redone")
			assert.Equal(t, 1, count(), "the server committed, once")
		})
	}
}

// The same through pgx natively.
func TestPgxInTxCommitReplyHeldPastTheContext(t *testing.T) {
	for _, g := range giveUps {
		t.Run(g.name, func(t *testing.T) {
			cfg := newDatabase(t)
			count := orders(t, connect(t, cfg))
			proxy, via := newProxy(t, cfg)
			pool := newPool(t, via)

			proxy.arm("commit", 1, hold)
			calls := 0
			_, err := pgxx.InTx(g.ctx(t), pool, pgx.TxOptions{}, func(ctx context.Context, tx pgx.Tx) (int, error) {
				calls++
				_, err := tx.Exec(ctx, "INSERT INTO orders (item) VALUES ('book')")
				return 0, err
			}, g.opts...)
			assert.ErrorIs(t, err, dbx.ErrCommitUnknown)
			assert.ErrorIs(t, err, g.reason)
			assert.Equal(t, int32(1), proxy.acted.Load())
			assert.Equal(t, 1, calls)
			assert.Equal(t, 1, count())
		})
	}
}

// The context ends while fn runs and fn does not notice: COMMIT is not
// sent, so nothing is committed and the outcome is known. Under the
// caller's deadline the call ends with it (not ErrCommitUnknown); under
// an attempt timeout the transaction is redone and commits once.
func TestPgxInTxContextEndedBeforeCommit(t *testing.T) {
	cfg := newDatabase(t)
	count := orders(t, connect(t, cfg))
	pool := newPool(t, cfg)
	insert := func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO orders (item) VALUES ('book')")
		return err
	}

	ctx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	_, err := pgxx.InTx(ctx, pool, pgx.TxOptions{}, func(ctx context.Context, tx pgx.Tx) (int, error) {
		if err := insert(ctx, tx); err != nil {
			return 0, err
		}
		<-ctx.Done() // slow work that swallows the deadline
		return 0, nil
	})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, dbx.ErrCommitUnknown)
	assert.Equal(t, 0, count(), "nothing committed")

	calls := 0
	_, err = pgxx.InTx(t.Context(), pool, pgx.TxOptions{}, func(ctx context.Context, tx pgx.Tx) (int, error) {
		calls++
		if err := insert(ctx, tx); err != nil {
			return 0, err
		}
		if calls == 1 {
			<-ctx.Done()
		}
		return 0, nil
	}, retry.WithAttemptTimeout(patience))
	require.NoError(t, err)
	assert.Equal(t, 2, calls)
	assert.Equal(t, 1, count())
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
	_, err := dbx.Exec(t.Context(), db, "INSERT INTO orders (item) VALUES ('book')", nil)
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
	_, err = dbx.Exec(dbx.Idempotent(t.Context()), db, "INSERT INTO orders (id, item) VALUES (100, 'pen') ON CONFLICT (id) DO NOTHING", nil)
	require.NoError(t, err)
}

// The same through pgx natively: one send, one row, no retry.
func TestPgxExecReplyCutIsNotSentAgain(t *testing.T) {
	cfg := newDatabase(t)
	count := orders(t, connect(t, cfg))
	proxy, via := newProxy(t, cfg)
	pool := newPool(t, via)

	proxy.arm("insert into orders", -1, cut)
	_, err := pgxx.Exec(t.Context(), pool, "INSERT INTO orders (item) VALUES ('book')", nil)
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

	_, err = pgxx.Exec(t.Context(), pool, "INSERT INTO orders (item) VALUES ('book')", nil, retry.WithMaxAttempts(3))
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 3, re.Attempts)
	assert.ErrorIs(t, err, retry.ErrExhausted)
	assert.Equal(t, "08001", dbx.SQLState(err))
	var ce *pgconn.ConnectError
	assert.ErrorAs(t, err, &ce)
}

// fn commits the transaction itself: the helper's COMMIT finds it ended,
// which is reported as a misuse (retry.ErrInvalidConfig), not retried and
// not an unknown outcome.
func TestInTxFnMustNotCommit(t *testing.T) {
	cfg := newDatabase(t)
	count := orders(t, connect(t, cfg))
	db := openDB(t, cfg)
	pool := newPool(t, cfg)
	const insert = "INSERT INTO orders (item) VALUES ('book')"

	calls := 0
	_, err := dbx.InTx(t.Context(), db, nil, func(ctx context.Context, tx *sql.Tx) (int, error) {
		calls++
		if _, err := tx.ExecContext(ctx, insert); err != nil {
			return 0, err
		}
		return 0, tx.Commit()
	})
	idle(t, db)
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	assert.ErrorIs(t, err, retry.ErrPermanent)
	assert.ErrorIs(t, err, sql.ErrTxDone)
	assert.NotErrorIs(t, err, dbx.ErrCommitUnknown)
	assert.Equal(t, 1, calls)
	assert.Equal(t, 1, count())

	calls = 0
	_, err = pgxx.InTx(t.Context(), pool, pgx.TxOptions{}, func(ctx context.Context, tx pgx.Tx) (int, error) {
		calls++
		if _, err := tx.Exec(ctx, insert); err != nil {
			return 0, err
		}
		return 0, tx.Commit(ctx)
	})
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	assert.ErrorIs(t, err, pgx.ErrTxClosed)
	assert.NotErrorIs(t, err, dbx.ErrCommitUnknown)
	assert.Equal(t, 1, calls)
	assert.Equal(t, 2, count())
}
