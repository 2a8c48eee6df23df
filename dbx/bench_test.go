package dbx

import (
	"context"
	"testing"
)

// nopTx is a transaction that costs nothing, so that the benchmarks below
// measure the helper alone.
type nopTx struct{}

func (nopTx) Commit(context.Context) error   { return nil }
func (nopTx) Rollback(context.Context) error { return nil }

func nopBegin(context.Context) (nopTx, error)   { return nopTx{}, nil }
func nopFn(context.Context, nopTx) (int, error) { return 1, nil }

// The cost of Transact's success path over calling begin, fn and commit
// by hand: what the helper adds to every transaction, whatever the
// database's own cost.
func BenchmarkTransactOverhead(b *testing.B) {
	ctx := context.Background()
	b.Run("hand-written", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tx, err := nopBegin(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := nopFn(ctx, tx); err != nil {
				_ = tx.Rollback(ctx)
				b.Fatal(err)
			}
			if err := tx.Commit(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Transact", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Transact(ctx, nopBegin, ReadWrite, nopFn); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// A helper adds no allocation to a transaction that commits at once (the
// core's Do allocates nothing on that path either).
func TestTransactSuccessAllocations(t *testing.T) {
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		_, _ = Transact(ctx, nopBegin, ReadWrite, nopFn)
	})
	if allocs != 0 {
		t.Errorf("Transact's success path allocates %v times, want 0", allocs)
	}
}
