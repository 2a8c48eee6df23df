package pgxx_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/dbx"
	"github.com/retrykit/retry/dbx/pgxx"
)

// The examples need a server, so they are compiled but not run by go test
// (an example cannot skip); TestExamples runs their code, transfer and
// expire, against the test server.

// transfer moves 100 from account 1 to account 2 at SERIALIZABLE: the whole
// transaction runs again after a serialization failure or a deadlock.
func transfer(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := pgxx.InTx(ctx, pool, pgx.TxOptions{IsoLevel: pgx.Serializable},
		func(ctx context.Context, tx pgx.Tx) (struct{}, error) {
			if _, err := tx.Exec(ctx, `UPDATE accounts SET balance = balance - 100 WHERE id = 1`); err != nil {
				return struct{}{}, err
			}
			_, err := tx.Exec(ctx, `UPDATE accounts SET balance = balance + 100 WHERE id = 2`)
			return struct{}{}, err
		}, retry.WithMaxAttempts(20))
	if errors.Is(err, dbx.ErrCommitUnknown) {
		return fmt.Errorf("the connection broke during COMMIT: check before transferring again: %w", err)
	}
	return err
}

// expire deletes the expired sessions, a statement outside a transaction:
// deleting by a condition is idempotent, so it is declared so and sent
// again even when the connection broke while it ran.
func expire(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	tag, err := pgxx.Exec(dbx.Idempotent(ctx), pool, `DELETE FROM sessions WHERE expires < $1`, time.Now())
	return tag.RowsAffected(), err
}

// A SERIALIZABLE transfer through a pgxpool.
func ExampleInTx() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://postgres@127.0.0.1:5432/test")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	if err := transfer(ctx, pool); err != nil {
		log.Fatal(err)
	}
}

// A statement outside a transaction: retried only where it provably did
// not take effect, unless declared idempotent.
func ExampleExec() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://postgres@127.0.0.1:5432/test")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	n, err := expire(ctx, pool)
	fmt.Println(n, err)
}

func TestExamples(t *testing.T) {
	cfg := newDatabase(t)
	conn := connect(t, cfg)
	accounts(t, conn, 2, 1000)
	exec(t, conn, "CREATE TABLE sessions (id int PRIMARY KEY, expires timestamptz NOT NULL)",
		"INSERT INTO sessions VALUES (1, now() - interval '1 hour'), (2, now() + interval '1 hour'), (3, now() - interval '1 day')")
	pool := newPool(t, cfg)

	require.NoError(t, transfer(t.Context(), pool))
	assert.Equal(t, []int64{900, 1100}, balances(t, conn))

	n, err := expire(t.Context(), pool)
	require.NoError(t, err)
	assert.Equal(t, int64(2), n)
}
