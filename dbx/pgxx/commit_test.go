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
	"github.com/retrykit/retry/dbx/pgxx"
)

// How the client stops waiting for a COMMIT whose reply the proxy holds
// back after the server committed: the policy's attempt timeout, or the
// caller's deadline.
// Under the attempt timeout the loop stops because the error is
// NotIdempotent (reason ErrNotIdempotent); under the caller's deadline,
// because the context ended.
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
			// Connected before the clock starts: patience is for COMMIT.
			require.NoError(t, db.PingContext(t.Context()))

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
			require.NoError(t, pool.Ping(t.Context())) // connected before the clock starts

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
	require.NoError(t, pool.Ping(t.Context())) // connected before the clock starts
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

// An idempotent transaction whose COMMIT reply is cut on every attempt:
// each attempt is retried (the upsert makes a second run harmless), and
// when the attempts run out the error still says that the last COMMIT's
// outcome is unknown (here the server did commit).
func TestInTxIdempotentCommitCutOnEveryAttempt(t *testing.T) {
	cfg := newDatabase(t)
	count := orders(t, connect(t, cfg))
	proxy, via := newProxy(t, cfg)
	db := openDB(t, via)
	pqdb := openPQ(t, via)
	pool := newPool(t, via)
	const upsert = "INSERT INTO orders (id, item) VALUES (100, 'pen') ON CONFLICT (id) DO NOTHING"
	runs := []struct {
		name string
		run  func(ctx context.Context, calls *int) error
	}{
		{"pgx stdlib", func(ctx context.Context, calls *int) error {
			_, err := dbx.InTx(ctx, db, nil, func(ctx context.Context, tx *sql.Tx) (int, error) {
				*calls++
				_, err := tx.ExecContext(ctx, upsert)
				return 0, err
			}, retry.WithMaxAttempts(3))
			return err
		}},
		{"lib/pq", func(ctx context.Context, calls *int) error {
			_, err := dbx.InTx(ctx, pqdb, nil, func(ctx context.Context, tx *sql.Tx) (int, error) {
				*calls++
				_, err := tx.ExecContext(ctx, upsert)
				return 0, err
			}, retry.WithMaxAttempts(3))
			return err
		}},
		{"pgx", func(ctx context.Context, calls *int) error {
			_, err := pgxx.InTx(ctx, pool, pgx.TxOptions{}, func(ctx context.Context, tx pgx.Tx) (int, error) {
				*calls++
				_, err := tx.Exec(ctx, upsert)
				return 0, err
			}, retry.WithMaxAttempts(3))
			return err
		}},
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			proxy.acted.Store(0)
			proxy.arm("commit", -1, cut)
			defer proxy.arm("", 0, 0)
			calls := 0
			err := r.run(dbx.Idempotent(t.Context()), &calls)
			assert.Equal(t, 3, calls)
			assert.Equal(t, int32(3), proxy.acted.Load(), "every COMMIT was cut")
			assert.ErrorIs(t, err, retry.ErrExhausted)
			assert.ErrorIs(t, err, dbx.ErrCommitUnknown)
			assert.Equal(t, 1, count(), "committed once, whatever the client heard")
		})
	}
	idle(t, db)
	idle(t, pqdb)
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
