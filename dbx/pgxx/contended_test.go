package pgxx_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/dbx"
)

// contended runs workers goroutines that together make transfers
// SERIALIZABLE transfers between random accounts of the table accounts,
// each recorded, in the same transaction, in the table transfers under its
// id. It returns the number of fn calls (attempts).
func contended(ctx context.Context, db *sql.DB, workers, transfers, nAccounts int, opts ...retry.Option) (attempts int64, errs []error) {
	var calls atomic.Int64
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for {
				id := next.Add(1)
				if id > int64(transfers) {
					return
				}
				from := 1 + r.IntN(nAccounts)
				to := 1 + (from+r.IntN(nAccounts-1))%nAccounts
				amount := 1 + r.IntN(10)
				_, err := dbx.InTx(ctx, db, &sql.TxOptions{Isolation: sql.LevelSerializable},
					func(ctx context.Context, tx *sql.Tx) (struct{}, error) {
						calls.Add(1)
						var bal int64
						if err := tx.QueryRowContext(ctx, "SELECT balance FROM accounts WHERE id = $1", from).Scan(&bal); err != nil {
							return struct{}{}, err
						}
						if _, err := tx.ExecContext(ctx, "UPDATE accounts SET balance = $1 WHERE id = $2", bal-int64(amount), from); err != nil {
							return struct{}{}, err
						}
						if _, err := tx.ExecContext(ctx, "UPDATE accounts SET balance = balance + $1 WHERE id = $2", amount, to); err != nil {
							return struct{}{}, err
						}
						_, err := tx.ExecContext(ctx, "INSERT INTO transfers (id, src, dst, amount) VALUES ($1, $2, $3, $4)", id, from, to, amount)
						return struct{}{}, err
					}, opts...)
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("transfer %d: %w", id, err))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return calls.Load(), errs
}

// setupContended creates the tables of contended. transfers has no key,
// so that a transfer committed twice shows as two rows; check returns the
// total balance, the number of rows and of distinct ids in transfers, and
// the accounts whose balance is not 1000 plus what transfers says came in
// minus what went out (a transfer whose updates were applied without its
// row, or twice, shows there).
func setupContended(t testing.TB, nAccounts int) (*sql.DB, func() (sum int64, rows, distinct int, unbalanced []int)) {
	cfg := newDatabase(t)
	admin := connect(t, cfg)
	accounts(t, admin, nAccounts, 1000)
	exec(t, admin, "CREATE TABLE transfers (id bigint NOT NULL, src int NOT NULL, dst int NOT NULL, amount bigint NOT NULL)")
	db := openDB(t, cfg)
	check := func() (sum int64, rows, distinct int, unbalanced []int) {
		ctx := context.Background()
		if err := admin.QueryRow(ctx, "SELECT sum(balance) FROM accounts").Scan(&sum); err != nil {
			t.Fatal(err)
		}
		if err := admin.QueryRow(ctx, "SELECT count(*), count(DISTINCT id) FROM transfers").Scan(&rows, &distinct); err != nil {
			t.Fatal(err)
		}
		r, err := admin.Query(ctx, `SELECT a.id FROM accounts a WHERE a.balance <> 1000
			+ coalesce((SELECT sum(amount) FROM transfers WHERE dst = a.id), 0)
			- coalesce((SELECT sum(amount) FROM transfers WHERE src = a.id), 0) ORDER BY a.id`)
		if err != nil {
			t.Fatal(err)
		}
		unbalanced, err = pgx.CollectRows(r, pgx.RowTo[int])
		if err != nil {
			t.Fatal(err)
		}
		return sum, rows, distinct, unbalanced
	}
	return db, check
}

// 8 workers make 200 transfers among 10 accounts at SERIALIZABLE: the
// conflicts are retried until every transfer commits, exactly once (one
// row per id, and every balance is what the recorded transfers make it),
// and the money is conserved.
func TestInTxContendedTransfers(t *testing.T) {
	const workers, transfers, nAccounts = 8, 200, 10
	db, check := setupContended(t, nAccounts)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	attempts, errs := contended(ctx, db, workers, transfers, nAccounts, retry.WithMaxAttempts(0))
	idle(t, db)
	require.Empty(t, errs)
	sum, rows, distinct, unbalanced := check()
	assert.Equal(t, int64(nAccounts*1000), sum, "money is conserved")
	assert.Equal(t, transfers, distinct, "every transfer committed")
	assert.Equal(t, transfers, rows, "none committed twice")
	assert.Empty(t, unbalanced, "every balance is what the committed transfers make it")
	assert.GreaterOrEqual(t, attempts, int64(transfers))
	t.Logf("%d attempts for %d transfers", attempts, transfers)
}
