package benchmarks

// Benchmarks, one per workload, one sub-benchmark per library named
// lib=<name> so that `benchstat -col /lib` puts each library in a column.
// Run them with ./run.sh. Every adapter was checked by the contract tests
// to do the same work.

import (
	"context"
	"sync/atomic"
	"testing"
)

// benchSerial runs run(ctx, op) in a b.Loop and fails the benchmark when
// the outcome is not the workload's (wantErr tells which).
func benchSerial(b *testing.B, run Runner, op Op, wantErr bool) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := run(ctx, op); (err != nil) != wantErr {
			b.Fatalf("unexpected outcome: %v", err)
		}
	}
}

// BenchmarkSuccess: the operation succeeds on the first call.
func BenchmarkSuccess(b *testing.B) {
	for _, lib := range retryLibs(b) {
		b.Run("lib="+lib.lib, func(b *testing.B) { benchSerial(b, lib.run, Succeed, false) })
	}
}

// BenchmarkRetry3: the operation fails 3 times, then succeeds; zero delays.
func BenchmarkRetry3(b *testing.B) {
	for _, lib := range retryLibs(b) {
		b.Run("lib="+lib.lib, func(b *testing.B) { benchSerial(b, lib.run, FailThenSucceed(3), false) })
	}
}

// BenchmarkPermanent: the operation returns a permanent error; one call.
func BenchmarkPermanent(b *testing.B) {
	for _, lib := range retryLibs(b) {
		b.Run("lib="+lib.lib, func(b *testing.B) { benchSerial(b, lib.run, FailPermanently, true) })
	}
}

// benchBreaker calls through br from every goroutine of b.RunParallel, each
// goroutine with its own operation from newOp, and fails the benchmark if
// the breaker was not closed at the end (it would have measured the open
// path).
func benchBreaker(b *testing.B, br Breaker, newOp func() Op) {
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		op := newOp()
		for pb.Next() {
			_, _ = br.Run(ctx, op)
		}
	})
	if !br.Closed() {
		b.Fatal("the breaker opened: this run measured the open path")
	}
}

// BenchmarkBreakerClosed: calls through a closed breaker, in parallel, all
// succeeding.
func BenchmarkBreakerClosed(b *testing.B) {
	for _, lib := range breakerLibs(b, BreakerThreshold, BreakerThreshold) {
		b.Run("lib="+lib.lib, func(b *testing.B) {
			benchBreaker(b, lib.br, func() Op { return Succeed })
		})
	}
}

// BenchmarkBreaker10pct: calls through a closed breaker, in parallel, every
// tenth call of each goroutine failing (never enough in a row to open it).
func BenchmarkBreaker10pct(b *testing.B) {
	for _, lib := range breakerLibs(b, BreakerThreshold, neverTrips) {
		b.Run("lib="+lib.lib, func(b *testing.B) {
			benchBreaker(b, lib.br, func() Op { return FailEvery(10) })
		})
	}
}

// BenchmarkBudget: a shared retry budget, in parallel; each call fails
// once, withdraws a retry from the budget, and succeeds on the retry
// (depositing where the library deposits on success).
func BenchmarkBudget(b *testing.B) {
	for _, lib := range budgetLibs(b, 100, 1, 1e9, true) {
		b.Run("lib="+lib.lib, func(b *testing.B) {
			ctx := context.Background()
			var failed atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				op := FailThenSucceed(1)
				for pb.Next() {
					if _, err := lib.run(ctx, op); err != nil {
						failed.Add(1)
					}
				}
			})
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d calls failed: the budget refused retries", n)
			}
		})
	}
}

// benchHTTP issues GETs to a fresh loopback server whose responses come in
// groups of failures 503s and one 200, and fails the benchmark unless every
// logical request ends in 200.
func benchHTTP(b *testing.B, get Getter, failures int) {
	srv := NewFlakyServer(failures)
	defer srv.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if status, err := get(ctx, srv.URL); err != nil || status != 200 {
			b.Fatalf("status %d, error %v", status, err)
		}
	}
}

// BenchmarkHTTPSuccess: a GET on loopback answered 200 at once; direct is a
// plain net/http client.
func BenchmarkHTTPSuccess(b *testing.B) {
	for _, lib := range httpLibs(b, NewNetHTTP()) {
		b.Run("lib="+lib.lib, func(b *testing.B) { benchHTTP(b, lib.get, 0) })
	}
}

// BenchmarkHTTP503x2: a GET on loopback answered 503, 503, then 200, with
// zero delays; direct is net/http with a hand-written retry loop.
func BenchmarkHTTP503x2(b *testing.B) {
	for _, lib := range httpLibs(b, NewNetHTTPLoop()) {
		b.Run("lib="+lib.lib, func(b *testing.B) { benchHTTP(b, lib.get, 2) })
	}
}
