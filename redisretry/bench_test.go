package redisretry_test

import (
	"context"
	"testing"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/redisretry"
)

var sinkInt int

// BenchmarkSuccess is a successful call of Do with a prebuilt policy that
// has a budget and a breaker: both local to the process, or both shared
// by a fleet through Redis (a full lease: what a success finds while
// failures are rare). Run it with -count 10 and compare with benchstat.
func BenchmarkSuccess(b *testing.B) {
	ctx := context.Background()
	cfg := retry.BudgetConfig{Capacity: 100, PerSuccess: 0.1}
	run := func(b *testing.B, budget *retry.Budget, br *retry.Breaker) {
		p, err := retry.NewPolicy(retry.WithBudget(budget), retry.WithBreaker(br))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			sinkInt, _ = retry.Do(ctx, succeeding, p)
		}
	}
	b.Run("local", func(b *testing.B) {
		budget, err := retry.NewBudget(cfg)
		if err != nil {
			b.Fatal(err)
		}
		br, err := retry.NewBreaker(retry.BreakerConfig{})
		if err != nil {
			b.Fatal(err)
		}
		run(b, budget, br)
	})
	b.Run("fleet", func(b *testing.B) {
		c := newClient(b, redisAddr(b))
		f := newFleet(b, c, redisretry.Options{Prefix: newPrefix(b, c)})
		budget, err := f.Budget("bench", cfg)
		if err != nil {
			b.Fatal(err)
		}
		br, err := f.Breaker("bench", retry.BreakerConfig{})
		if err != nil {
			b.Fatal(err)
		}
		for budget.Tokens() < 10 { // fill the lease, as successes do
			sinkInt, _ = retry.Do(ctx, succeeding, retry.WithBudget(budget))
		}
		run(b, budget, br)
	})
}
