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

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/dbx"
)

// contended runs workers goroutines that together make transfers
// SERIALIZABLE transfers between random accounts of the table accounts,
// each recorded in the table transfers under a unique id. It returns the
// number of fn calls (attempts).
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
						_, err := tx.ExecContext(ctx, "INSERT INTO transfers (id) VALUES ($1)", id)
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

func setupContended(t testing.TB, nAccounts int) (*sql.DB, func() (sum int64, rows, distinct int)) {
	cfg := newDatabase(t)
	admin := connect(t, cfg)
	accounts(t, admin, nAccounts, 1000)
	exec(t, admin, "CREATE TABLE transfers (id bigint PRIMARY KEY)")
	db := openDB(t, cfg)
	check := func() (sum int64, rows, distinct int) {
		ctx := context.Background()
		if err := admin.QueryRow(ctx, "SELECT sum(balance) FROM accounts").Scan(&sum); err != nil {
			t.Fatal(err)
		}
		if err := admin.QueryRow(ctx, "SELECT count(*), count(DISTINCT id) FROM transfers").Scan(&rows, &distinct); err != nil {
			t.Fatal(err)
		}
		return sum, rows, distinct
	}
	return db, check
}

// 8 workers make 200 transfers among 10 accounts at SERIALIZABLE: the
// conflicts are retried until every transfer commits, exactly once, and
// the money is conserved.
func TestInTxContendedTransfers(t *testing.T) {
	const workers, transfers, nAccounts = 8, 200, 10
	db, check := setupContended(t, nAccounts)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	attempts, errs := contended(ctx, db, workers, transfers, nAccounts, retry.WithMaxAttempts(0))
	require.Empty(t, errs)
	sum, rows, distinct := check()
	assert.Equal(t, int64(nAccounts*1000), sum, "money is conserved")
	assert.Equal(t, transfers, rows, "every transfer committed")
	assert.Equal(t, transfers, distinct, "exactly once")
	assert.GreaterOrEqual(t, attempts, int64(transfers))
	t.Logf("%d attempts for %d transfers", attempts, transfers)
}
