package pgxx_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/dbx"
	"github.com/retrykit/retry/dbx/pgxx"
)

// The success path: one UPDATE in a transaction, by hand and through the
// helpers, in the same run. The difference is the cost of the helper.
func BenchmarkTxSuccess(b *testing.B) {
	cfg := newDatabase(b)
	admin := connect(b, cfg)
	accounts(b, admin, 1, 0)
	// Without waiting for the WAL flush, a transaction costs a round trip
	// or three, so the helper's own cost is not lost in the disk's.
	exec(b, admin, "ALTER DATABASE "+cfg.Database+" SET synchronous_commit = off")
	db := openDB(b, cfg)
	db.SetMaxIdleConns(1)
	ctx := context.Background()
	const update = "UPDATE accounts SET balance = balance + 1 WHERE id = 1"

	b.Run("sql/hand-written", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, update); err != nil {
				_ = tx.Rollback()
				b.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sql/dbx.InTx", func(b *testing.B) {
		b.ReportAllocs()
		fn := func(ctx context.Context, tx *sql.Tx) (struct{}, error) {
			_, err := tx.ExecContext(ctx, update)
			return struct{}{}, err
		}
		for b.Loop() {
			if _, err := dbx.InTx(ctx, db, nil, fn); err != nil {
				b.Fatal(err)
			}
		}
	})

	pool := newPool(b, cfg)
	b.Run("pgx/hand-written", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tx, err := pool.BeginTx(ctx, pgx.TxOptions{})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := tx.Exec(ctx, update); err != nil {
				_ = tx.Rollback(ctx)
				b.Fatal(err)
			}
			if err := tx.Commit(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pgx/pgxx.InTx", func(b *testing.B) {
		b.ReportAllocs()
		fn := func(ctx context.Context, tx pgx.Tx) (struct{}, error) {
			_, err := tx.Exec(ctx, update)
			return struct{}{}, err
		}
		for b.Loop() {
			if _, err := pgxx.InTx(ctx, pool, pgx.TxOptions{}, fn); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The contended workload of TestInTxContendedTransfers (8 workers, 10
// accounts, SERIALIZABLE), with the helper's jittered backoff and with
// immediate retries (what cockroach-go's ExecuteTx does), in the same
// run: attempts per committed transaction and committed transactions per
// second.
func BenchmarkContended(b *testing.B) {
	const workers, transfers, nAccounts = 8, 200, 10
	policies := []struct {
		name string
		opts []retry.Option
	}{
		{"jittered", []retry.Option{retry.WithMaxAttempts(0)}},
		{"immediate", []retry.Option{retry.WithMaxAttempts(0), retry.WithBackoff(retry.Constant(0))}},
	}
	for _, p := range policies {
		b.Run(p.name, func(b *testing.B) {
			db, _ := setupContended(b, nAccounts)
			ctx := context.Background()
			var attempts, committed int64
			var spent time.Duration
			for b.Loop() {
				b.StopTimer()
				// Each round starts from empty transfers.
				if _, err := db.ExecContext(ctx, "TRUNCATE transfers"); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				n, errs := contended(ctx, db, workers, transfers, nAccounts, p.opts...)
				spent += time.Since(start)
				if len(errs) > 0 {
					b.Fatal(errs[0])
				}
				attempts += n
				committed += transfers
			}
			b.ReportMetric(float64(attempts)/float64(committed), "attempts/tx")
			b.ReportMetric(float64(committed)/spent.Seconds(), "tx/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// The success path again, the hand-written transaction and the helper
// alternating within every iteration, so that the drift of a shared
// machine hits both alike: it reports each one's mean time per
// transaction and the helper's overhead in percent.
func BenchmarkTxSuccessInterleaved(b *testing.B) {
	cfg := newDatabase(b)
	admin := connect(b, cfg)
	accounts(b, admin, 1, 0)
	exec(b, admin, "ALTER DATABASE "+cfg.Database+" SET synchronous_commit = off")
	ctx := context.Background()
	const update = "UPDATE accounts SET balance = balance + 1 WHERE id = 1"

	b.Run("sql", func(b *testing.B) {
		db := openDB(b, cfg)
		db.SetMaxIdleConns(1)
		fn := func(ctx context.Context, tx *sql.Tx) (struct{}, error) {
			_, err := tx.ExecContext(ctx, update)
			return struct{}{}, err
		}
		interleave(b, func() error {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, update); err != nil {
				_ = tx.Rollback()
				return err
			}
			return tx.Commit()
		}, func() error {
			_, err := dbx.InTx(ctx, db, nil, fn)
			return err
		})
	})
	b.Run("pgx", func(b *testing.B) {
		pool := newPool(b, cfg)
		fn := func(ctx context.Context, tx pgx.Tx) (struct{}, error) {
			_, err := tx.Exec(ctx, update)
			return struct{}{}, err
		}
		interleave(b, func() error {
			tx, err := pool.BeginTx(ctx, pgx.TxOptions{})
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, update); err != nil {
				_ = tx.Rollback(ctx)
				return err
			}
			return tx.Commit(ctx)
		}, func() error {
			_, err := pgxx.InTx(ctx, pool, pgx.TxOptions{}, fn)
			return err
		})
	})
}

// interleave runs byHand and withHelper once per iteration, alternating
// which goes first, and reports their mean times and the overhead.
func interleave(b *testing.B, byHand, withHelper func() error) {
	var hand, helper time.Duration
	n := 0
	for b.Loop() {
		first, second, firstT, secondT := byHand, withHelper, &hand, &helper
		if n%2 == 1 {
			first, second, firstT, secondT = withHelper, byHand, &helper, &hand
		}
		start := time.Now()
		if err := first(); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if err := second(); err != nil {
			b.Fatal(err)
		}
		*firstT += mid.Sub(start)
		*secondT += time.Since(mid)
		n++
	}
	b.ReportMetric(float64(hand.Nanoseconds())/float64(n), "hand-ns/tx")
	b.ReportMetric(float64(helper.Nanoseconds())/float64(n), "helper-ns/tx")
	b.ReportMetric(100*(float64(helper)/float64(hand)-1), "overhead-%")
}
