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

func TestPgxNilArguments(t *testing.T) {
	_, err := pgxx.InTx[int](t.Context(), nil, pgx.TxOptions{}, nil)
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	_, err = pgxx.Exec(t.Context(), nil, "SELECT 1")
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	var unset *pgxpool.Pool
	_, err = pgxx.InTx(t.Context(), unset, pgx.TxOptions{}, func(context.Context, pgx.Tx) (int, error) { return 0, nil })
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	_, err = pgxx.Exec(t.Context(), unset, "SELECT 1")
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
}
