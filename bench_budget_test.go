package retry

import (
	"context"
	"errors"
	"testing"
)

var errBenchBreaker = errors.New("bench: breaker failure")

//go:noinline
func benchSucceed(context.Context) error { return nil }

// benchOp holds the operation as a func value, the way callers pass it.
var benchOp = benchSucceed

// BenchmarkBreakerDirect is the floor for BenchmarkBreaker: the operation
// called directly, in parallel.
func BenchmarkBreakerDirect(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var err error
		for pb.Next() {
			err = benchOp(ctx)
		}
		_ = err
	})
}

// BenchmarkBreaker is a call through a closed breaker, in parallel, with
// Breaker.Run: all successes, and one failure in ten (a threshold high
// enough that the circuit stays closed).
func BenchmarkBreaker(b *testing.B) {
	ctx := context.Background()
	b.Run("success", func(b *testing.B) {
		br := mustBreaker(b, BreakerConfig{})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = br.Run(ctx, benchOp)
			}
		})
	})
	b.Run("10pct-failures", func(b *testing.B) {
		br := mustBreaker(b, BreakerConfig{FailureThreshold: 1 << 30})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			n := 0
			op := func(context.Context) error {
				if n++; n == 10 {
					n = 0
					return errBenchBreaker
				}
				return nil
			}
			for pb.Next() {
				_ = br.Run(ctx, op)
			}
		})
		if br.State() != BreakerClosed {
			b.Fatal("the circuit opened")
		}
	})
	b.Run("open", func(b *testing.B) {
		br := mustBreaker(b, BreakerConfig{FailureThreshold: 1})
		t, _ := br.allowNow()
		br.failNow(t)
		if br.State() != BreakerOpen {
			b.Fatal("the circuit did not open")
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = br.Run(ctx, benchOp) // rejected: reads the clock, allocates the *Error
			}
		})
	})
	b.Run("rate-rule-success", func(b *testing.B) {
		br := mustBreaker(b, BreakerConfig{FailureRate: 0.5})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = br.Run(ctx, benchOp) // reads the clock, counts in a bucket
			}
		})
	})
}

// BenchmarkBreakerDo is Do with a prebuilt policy, without and with a
// breaker, in parallel; all successes.
func BenchmarkBreakerDo(b *testing.B) {
	ctx := context.Background()
	op := func(context.Context) (int, error) { return 1, nil }
	bench := func(b *testing.B, p *Policy) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _ = Do(ctx, op, p)
			}
		})
	}
	b.Run("policy", func(b *testing.B) { bench(b, mustPolicyB(b)) })
	b.Run("policy+breaker", func(b *testing.B) {
		bench(b, mustPolicyB(b, WithBreaker(mustBreaker(b, BreakerConfig{}))))
	})
	b.Run("policy+breaker+budget", func(b *testing.B) {
		bench(b, mustPolicyB(b, WithBreaker(mustBreaker(b, BreakerConfig{})),
			WithBudget(mustBudget(b, BudgetConfig{Capacity: 10, PerSuccess: 1}))))
	})
}

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

func mustPolicyB(b *testing.B, opts ...Option) *Policy {
	b.Helper()
	p, err := NewPolicy(opts...)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkBreakerSerial is BenchmarkBreakerDirect and BenchmarkBreaker on
// one goroutine, with b.Loop: less sensitive than the parallel numbers to
// what else the machine is running.
func BenchmarkBreakerSerial(b *testing.B) {
	ctx := context.Background()
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = benchOp(ctx)
		}
	})
	b.Run("success", func(b *testing.B) {
		br := mustBreaker(b, BreakerConfig{})
		b.ReportAllocs()
		for b.Loop() {
			_ = br.Run(ctx, benchOp)
		}
	})
	b.Run("10pct-failures", func(b *testing.B) {
		br := mustBreaker(b, BreakerConfig{FailureThreshold: 1 << 30})
		n := 0
		op := func(context.Context) error {
			if n++; n == 10 {
				n = 0
				return errBenchBreaker
			}
			return nil
		}
		b.ReportAllocs()
		for b.Loop() {
			_ = br.Run(ctx, op)
		}
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
