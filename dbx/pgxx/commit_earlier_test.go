package pgxx_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/dbx"
	"github.com/retrykit/retry/dbx/pgxx"
)

// A transaction declared idempotent because it writes a fixed key: its
// first COMMIT is cut after the server committed, so it is run again, and
// the second run meets the row the first one committed (23505). The final
// error is the unique violation and still says that an earlier COMMIT's
// outcome was unknown: without ErrCommitUnknown it would read as "nothing
// was committed", while one row was. Through pgx's stdlib driver, lib/pq
// and pgx natively, against the real server and the cutting proxy.
func TestInTxEarlierCommitUnknownThenUniqueViolation(t *testing.T) {
	cfg := newDatabase(t)
	count := orders(t, connect(t, cfg))
	proxy, via := newProxy(t, cfg)
	db := openDB(t, via)
	pqdb := openPQ(t, via)
	pool := newPool(t, via)
	const insert = "INSERT INTO orders (id, item) VALUES ($1, 'pen')"
	runs := []struct {
		name string
		run  func(ctx context.Context, id int, calls *int) error
	}{
		{"pgx stdlib", func(ctx context.Context, id int, calls *int) error {
			_, err := dbx.InTx(ctx, db, nil, func(ctx context.Context, tx *sql.Tx) (int, error) {
				*calls++
				_, err := tx.ExecContext(ctx, insert, id)
				return 0, err
			})
			return err
		}},
		{"lib/pq", func(ctx context.Context, id int, calls *int) error {
			_, err := dbx.InTx(ctx, pqdb, nil, func(ctx context.Context, tx *sql.Tx) (int, error) {
				*calls++
				_, err := tx.ExecContext(ctx, insert, id)
				return 0, err
			})
			return err
		}},
		{"pgx", func(ctx context.Context, id int, calls *int) error {
			_, err := pgxx.InTx(ctx, pool, pgx.TxOptions{}, func(ctx context.Context, tx pgx.Tx) (int, error) {
				*calls++
				_, err := tx.Exec(ctx, insert, id)
				return 0, err
			})
			return err
		}},
	}
	for i, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			before := count()
			proxy.acted.Store(0)
			proxy.arm("commit", 1, cut)
			defer proxy.arm("", 0, 0)
			calls := 0
			err := r.run(dbx.Idempotent(t.Context()), 100+i, &calls)
			assert.Equal(t, 2, calls, "run again after the cut COMMIT")
			assert.Equal(t, int32(1), proxy.acted.Load())
			assert.Equal(t, "23505", dbx.SQLState(err), "the last error: %v", err)
			assert.ErrorIs(t, err, retry.ErrPermanent)
			assert.ErrorIs(t, err, dbx.ErrCommitUnknown)
			assert.ErrorContains(t, err, "an earlier attempt's COMMIT had an unknown outcome")
			assert.Equal(t, before+1, count(), "the first run committed")
		})
	}
	idle(t, db)
	idle(t, pqdb)
}
