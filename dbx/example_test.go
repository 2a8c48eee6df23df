package dbx_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/dbx"
)

// A money transfer at SERIALIZABLE: the whole transaction, reads included,
// runs again after a serialization failure or a deadlock. db is opened
// with any driver whose errors have SQLState() (pgx's stdlib, lib/pq).
func ExampleInTx() {
	db, err := sql.Open("pgx", "postgres://postgres@127.0.0.1:5432/test")
	if err != nil {
		return
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	balance, err := dbx.InTx(ctx, db, &sql.TxOptions{Isolation: sql.LevelSerializable},
		func(ctx context.Context, tx *sql.Tx) (int64, error) {
			var from int64
			if err := tx.QueryRowContext(ctx, `SELECT balance FROM accounts WHERE id = $1`, 1).Scan(&from); err != nil {
				return 0, err
			}
			if from < 100 {
				return from, retry.Permanent(errors.New("insufficient funds"))
			}
			if _, err := tx.ExecContext(ctx, `UPDATE accounts SET balance = balance - 100 WHERE id = $1`, 1); err != nil {
				return 0, err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE accounts SET balance = balance + 100 WHERE id = $1`, 2); err != nil {
				return 0, err
			}
			return from - 100, nil
		})
	switch {
	case errors.Is(err, dbx.ErrCommitUnknown):
		// The connection broke during COMMIT: look before doing it again.
	case err != nil:
		fmt.Println("transfer failed:", err)
	default:
		fmt.Println("balance now", balance)
	}
}

// A statement outside a transaction, its arguments passed as to
// ExecContext. An upsert to a fixed value is idempotent, so it is
// declared so: it is then sent again even when the connection broke while
// it ran. Retry options ride on the context.
func ExampleExec() {
	db, err := sql.Open("pgx", "postgres://postgres@127.0.0.1:5432/test")
	if err != nil {
		return
	}
	defer db.Close()
	ctx := dbx.WithOptions(dbx.Idempotent(context.Background()), retry.WithMaxAttempts(3))
	_, err = dbx.Exec(ctx, db,
		`INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2`,
		"mode", "fast")
	if err != nil {
		fmt.Println(err)
	}
}

// A query outside a transaction: scan reads the rows; a read is
// idempotent, so the context says so.
func ExampleQuery() {
	db, err := sql.Open("pgx", "postgres://postgres@127.0.0.1:5432/test")
	if err != nil {
		return
	}
	defer db.Close()
	names, err := dbx.Query(dbx.Idempotent(context.Background()), db,
		`SELECT name FROM accounts WHERE balance >= $1 ORDER BY id`,
		func(rows *sql.Rows) ([]string, error) {
			var names []string
			for rows.Next() {
				var n string
				if err := rows.Scan(&n); err != nil {
					return nil, err
				}
				names = append(names, n)
			}
			return names, rows.Err()
		}, 100)
	fmt.Println(names, err)
}

// ledgerTx is a toy transaction for the example below: its first COMMIT
// fails with a serialization failure, as SERIALIZABLE write skew does.
type ledgerTx struct{ commits *int }

type serializationFailure struct{}

func (serializationFailure) Error() string    { return "could not serialize access (SQLSTATE 40001)" }
func (serializationFailure) SQLState() string { return "40001" }

func (t ledgerTx) Commit(context.Context) error {
	*t.commits++
	if *t.commits == 1 {
		return serializationFailure{}
	}
	return nil
}
func (t ledgerTx) Rollback(context.Context) error { return nil }

// Transact works with any driver's transactions: begin opens one, and the
// whole transaction is redone after a conflict, here one reported at
// COMMIT.
func ExampleTransact() {
	commits := 0
	begin := func(context.Context) (ledgerTx, error) { return ledgerTx{&commits}, nil }
	calls := 0
	v, err := dbx.Transact(context.Background(), begin, dbx.ReadWrite, func(ctx context.Context, tx ledgerTx) (string, error) {
		calls++
		return fmt.Sprintf("done in attempt %d", calls), nil
	})
	fmt.Println(v, err)
	// Output: done in attempt 2 <nil>
}

// SQLState reads the code of a driver's error through any wrapping.
func ExampleSQLState() {
	err := fmt.Errorf("transfer: %w", serializationFailure{})
	fmt.Println(dbx.SQLState(err))
	// Output: 40001
}

// RetryCodes widens the table: a unique violation caused by a concurrent
// insert of the same key is worth another attempt, which will find the row.
func ExampleRetryCodes() {
	widen := dbx.RetryCodes("23505")
	fmt.Println(widen(uniqueViolation{}), widen(serializationFailure{}))
	// the option to pass to a helper:
	_ = retry.WithClassifier(widen)
	// Output: retryable unclassified
}

type uniqueViolation struct{}

func (uniqueViolation) Error() string    { return "duplicate key value (SQLSTATE 23505)" }
func (uniqueViolation) SQLState() string { return "23505" }

// StopCodes narrows the table: a lock timeout ends the call instead.
func ExampleStopCodes() {
	fmt.Println(dbx.StopCodes("55P03")(lockNotAvailable{}))
	// Output: terminal
}

type lockNotAvailable struct{}

func (lockNotAvailable) Error() string    { return "could not obtain lock (SQLSTATE 55P03)" }
func (lockNotAvailable) SQLState() string { return "55P03" }

// Idempotent declares work safe to apply twice, so that a COMMIT with an
// unknown outcome is retried instead of ending with ErrCommitUnknown.
func ExampleIdempotent() {
	ctx := dbx.Idempotent(context.Background())
	fmt.Println(dbx.IsIdempotent(ctx), dbx.IsIdempotent(context.Background()))
	// Output: true false
}

// Statement retries one statement of any driver outside a transaction:
// here the first try meets a lock timeout, which the server rolled back,
// so it is sent again.
func ExampleStatement() {
	calls := 0
	rows, err := dbx.Statement(context.Background(), func(ctx context.Context) (int64, error) {
		calls++
		if calls == 1 {
			return 0, lockNotAvailable{}
		}
		return 3, nil // rows affected
	})
	fmt.Println(rows, err, calls)
	// Output: 3 <nil> 2
}
