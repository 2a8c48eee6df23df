package pgxx_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/lib/pq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/dbx"
	"github.com/retrykit/retry/dbx/pgxx"
)

// Mistakes of fn, on a real server and through each driver: fn that ends
// the transaction itself is reported as a misuse; fn that ignores a failed
// statement and returns nil: the
// transaction is aborted, the server answers COMMIT with ROLLBACK, and
// each driver reports it its own way (pgx: pgx.ErrTxCommitRollback, also
// through its stdlib driver; lib/pq: pq.ErrInFailedTransaction). The
// outcome is known, nothing was committed: never ErrCommitUnknown, and
// not retried, whatever the access mode.

// openPQ opens a database/sql pool through lib/pq on the server cfg names.
func openPQ(t testing.TB, cfg *pgx.ConnConfig) *sql.DB {
	t.Helper()
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(cfg.User, cfg.Password),
		Host:     fmt.Sprintf("%s:%d", cfg.Host, cfg.Port),
		Path:     "/" + cfg.Database,
		RawQuery: "sslmode=disable",
	}
	if cfg.Password == "" {
		u.User = url.User(cfg.User)
	}
	conn, err := pq.NewConnector(u.String())
	require.NoError(t, err)
	db := sql.OpenDB(conn)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// accessMode is one way a transaction may declare itself; only read-only
// and idempotent transactions retry a COMMIT whose outcome is unknown.
type accessMode struct {
	name     string
	readOnly bool
	idem     bool
}

var accessModes = []accessMode{{"read-write", false, false}, {"read-only", true, false}, {"idempotent", false, true}}

// ctx returns the test's context, marked idempotent when the mode says so.
func (m accessMode) ctx(t *testing.T) context.Context {
	if m.idem {
		return dbx.Idempotent(t.Context())
	}
	return t.Context()
}

// assertRolledBack checks the error of a call whose COMMIT the server
// turned into a rollback.
func assertRolledBack(t *testing.T, err error, driverErr error, calls int) {
	t.Helper()
	require.Error(t, err)
	assert.Equal(t, 1, calls, "not retried")
	assert.NotErrorIs(t, err, dbx.ErrCommitUnknown)
	assert.ErrorIs(t, err, retry.ErrPermanent)
	assert.ErrorIs(t, err, driverErr)
	assert.Equal(t, "25P02", dbx.SQLState(err))
	assert.Contains(t, err.Error(), "nothing was committed")
}

func TestInTxCommitTurnedIntoRollback(t *testing.T) {
	cfg := newDatabase(t)
	count := orders(t, connect(t, cfg))
	drivers := []struct {
		name string
		db   *sql.DB
		err  error
	}{
		{"pgx stdlib", openDB(t, cfg), pgx.ErrTxCommitRollback},
		{"lib/pq", openPQ(t, cfg), pq.ErrInFailedTransaction},
	}
	for _, d := range drivers {
		for _, m := range accessModes {
			t.Run(d.name+"/"+m.name, func(t *testing.T) {
				calls := 0
				_, err := dbx.InTx(m.ctx(t), d.db, &sql.TxOptions{ReadOnly: m.readOnly}, func(ctx context.Context, tx *sql.Tx) (int, error) {
					calls++
					if !m.readOnly {
						if _, err := tx.ExecContext(ctx, "INSERT INTO orders (item) VALUES ('book')"); err != nil {
							return 0, err
						}
					}
					_, _ = tx.ExecContext(ctx, "SELECT 1/0") // the error fn ignores
					return 0, nil
				})
				idle(t, d.db)
				assertRolledBack(t, err, d.err, calls)
				assert.Equal(t, 0, count(), "nothing committed")
			})
		}
	}
}

// The same through pgx natively.
func TestPgxInTxCommitTurnedIntoRollback(t *testing.T) {
	cfg := newDatabase(t)
	count := orders(t, connect(t, cfg))
	pool := newPool(t, cfg)
	for _, m := range accessModes {
		t.Run(m.name, func(t *testing.T) {
			opts := pgx.TxOptions{}
			if m.readOnly {
				opts.AccessMode = pgx.ReadOnly
			}
			calls := 0
			_, err := pgxx.InTx(m.ctx(t), pool, opts, func(ctx context.Context, tx pgx.Tx) (int, error) {
				calls++
				if !m.readOnly {
					if _, err := tx.Exec(ctx, "INSERT INTO orders (item) VALUES ('book')"); err != nil {
						return 0, err
					}
				}
				_, _ = tx.Exec(ctx, "SELECT 1/0")
				return 0, nil
			})
			assertRolledBack(t, err, pgx.ErrTxCommitRollback, calls)
			assert.Equal(t, 0, count(), "nothing committed")
		})
	}
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
