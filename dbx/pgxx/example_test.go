package pgxx_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/dbx"
	"github.com/retrykit/retry/dbx/pgxx"
)

// A SERIALIZABLE transfer through a pgxpool: the whole transaction runs
// again after a serialization failure or a deadlock.
func ExampleInTx() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://postgres@127.0.0.1:5432/test")
	if err != nil {
		return
	}
	defer pool.Close()
	_, err = pgxx.InTx(ctx, pool, pgx.TxOptions{IsoLevel: pgx.Serializable},
		func(ctx context.Context, tx pgx.Tx) (struct{}, error) {
			if _, err := tx.Exec(ctx, `UPDATE accounts SET balance = balance - 100 WHERE id = 1`); err != nil {
				return struct{}{}, err
			}
			_, err := tx.Exec(ctx, `UPDATE accounts SET balance = balance + 100 WHERE id = 2`)
			return struct{}{}, err
		}, retry.WithMaxAttempts(20))
	if errors.Is(err, dbx.ErrCommitUnknown) {
		fmt.Println("the connection broke during COMMIT: check before transferring again")
	}
}

// A statement outside a transaction: retried only where it provably did
// not take effect, unless declared idempotent.
func ExampleExec() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://postgres@127.0.0.1:5432/test")
	if err != nil {
		return
	}
	defer pool.Close()
	tag, err := pgxx.Exec(dbx.Idempotent(ctx), pool, `DELETE FROM sessions WHERE expires < now()`, nil)
	fmt.Println(tag.RowsAffected(), err)
}
