package retry

import (
	"testing"
)

// BenchmarkBudget is a retry's withdrawal and a success's deposit, in
// parallel, all goroutines on one budget.
func BenchmarkBudget(b *testing.B) {
	b.Run("withdraw", func(b *testing.B) {
		bu := mustBudget(b, BudgetConfig{Capacity: 1e12}) // never runs dry
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if !bu.withdrawNow(false) {
					b.Error("refused")
				}
			}
		})
	})
	b.Run("withdraw-then-deposit", func(b *testing.B) {
		// The comparison module's workload: a retry, then the call's success.
		bu := mustBudget(b, BudgetConfig{Capacity: 100, PerSuccess: 1})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if !bu.withdrawNow(false) {
					b.Error("refused")
				}
				bu.deposit()
			}
		})
	})
	b.Run("withdraw-refused", func(b *testing.B) {
		bu := mustBudget(b, BudgetConfig{Capacity: 1})
		bu.withdrawNow(false)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				bu.withdrawNow(false)
			}
		})
	})
	b.Run("deposit", func(b *testing.B) {
		bu := mustBudget(b, BudgetConfig{Capacity: 1e12, PerSuccess: 1e-6})
		bu.tokens.Store(0) // never fills up
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				bu.deposit()
			}
		})
	})
	b.Run("deposit-full", func(b *testing.B) {
		bu := mustBudget(b, BudgetConfig{Capacity: 10, PerSuccess: 1})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				bu.deposit()
			}
		})
	})
	b.Run("withdraw-per-second", func(b *testing.B) {
		bu := mustBudget(b, BudgetConfig{Capacity: 1e12, PerSecond: 1}) // reads the clock
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				bu.withdrawNow(false)
			}
		})
	})
}

// BenchmarkBudgetSerial is a withdrawal and a deposit on one goroutine,
// with b.Loop.
func BenchmarkBudgetSerial(b *testing.B) {
	b.Run("withdraw", func(b *testing.B) {
		bu := mustBudget(b, BudgetConfig{Capacity: 1e12})
		b.ReportAllocs()
		for b.Loop() {
			bu.withdrawNow(false)
		}
	})
	b.Run("deposit", func(b *testing.B) {
		bu := mustBudget(b, BudgetConfig{Capacity: 1e12, PerSuccess: 1e-6})
		bu.tokens.Store(0)
		b.ReportAllocs()
		for b.Loop() {
			bu.deposit()
		}
	})
}
