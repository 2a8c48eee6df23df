package retry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/retrykit/retry"
)

var (
	errBench  = errors.New("bench: transient")
	permBench = retry.Permanent(errors.New("bench: permanent"))
	// errPermanentBench is the permanent error a hand loop checks for.
	errPermanentBench = errors.New("bench: permanent")
	sinkInt           int
	sinkErr           error
)

//go:noinline
func succeed(context.Context) (int, error) { return 42, nil }

// failThenSucceed returns an operation that fails n times, then succeeds,
// and starts over: one value serves a whole benchmark.
func failThenSucceed(n int) func(context.Context) (int, error) {
	calls := 0
	return func(context.Context) (int, error) {
		calls++
		if calls <= n {
			return 0, errBench
		}
		calls = 0
		return 42, nil
	}
}

func mustPolicy(b *testing.B, opts ...retry.Option) *retry.Policy {
	b.Helper()
	p, err := retry.NewPolicy(opts...)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// opSucceed holds the operation as a func value, the way callers pass it.
var opSucceed = succeed

// BenchmarkDirect is the floor: the operation called directly, through a
// func value as Do calls it.
func BenchmarkDirect(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		sinkInt, sinkErr = opSucceed(ctx)
	}
}

func BenchmarkSuccess(b *testing.B) {
	ctx := context.Background()
	b.Run("policy", func(b *testing.B) {
		p := mustPolicy(b)
		b.ReportAllocs()
		for b.Loop() {
			sinkInt, sinkErr = retry.Do(ctx, succeed, p)
		}
	})
	b.Run("inline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkInt, sinkErr = retry.Do(ctx, succeed, retry.WithMaxAttempts(4), retry.WithBackoff(retry.Constant(0)))
		}
	})
	b.Run("defaults", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkInt, sinkErr = retry.Do(ctx, succeed)
		}
	})
}

// BenchmarkHandLoop3Failures is the floor for BenchmarkThreeFailures: the
// same loop written by hand, with no waiting. bare is the least a loop can
// do (call until success, at most 4 times); careful is what a careful
// programmer writes, doing the work Do does on each failure: it stops on a
// permanent error (errors.Is) and on the end of the context.
func BenchmarkHandLoop3Failures(b *testing.B) {
	ctx := context.Background()
	b.Run("bare", func(b *testing.B) {
		op := failThenSucceed(3)
		b.ReportAllocs()
		for b.Loop() {
			for range 4 {
				if sinkInt, sinkErr = op(ctx); sinkErr == nil {
					break
				}
			}
		}
	})
	b.Run("careful", func(b *testing.B) {
		op := failThenSucceed(3)
		b.ReportAllocs()
		for b.Loop() {
			sinkInt, sinkErr = handLoop(ctx, op)
		}
	})
}

// handLoop is the careful hand-written loop of BenchmarkHandLoop3Failures.
func handLoop(ctx context.Context, op func(context.Context) (int, error)) (int, error) {
	for attempt := 1; ; attempt++ {
		v, err := op(ctx)
		if err == nil || errors.Is(err, errPermanentBench) || attempt == 4 {
			return v, err
		}
		if cerr := context.Cause(ctx); cerr != nil {
			return v, cerr
		}
	}
}

func BenchmarkThreeFailures(b *testing.B) {
	ctx := context.Background()
	b.Run("policy", func(b *testing.B) {
		p := mustPolicy(b, retry.WithBackoff(retry.Constant(0)))
		op := failThenSucceed(3)
		b.ReportAllocs()
		for b.Loop() {
			sinkInt, sinkErr = retry.Do(ctx, op, p)
		}
	})
	b.Run("inline", func(b *testing.B) {
		op := failThenSucceed(3)
		b.ReportAllocs()
		for b.Loop() {
			sinkInt, sinkErr = retry.Do(ctx, op, retry.WithBackoff(retry.Constant(0)))
		}
	})
}

func BenchmarkPermanent(b *testing.B) {
	ctx := context.Background()
	op := func(context.Context) (int, error) { return 0, permBench }
	b.Run("policy", func(b *testing.B) {
		p := mustPolicy(b)
		b.ReportAllocs()
		for b.Loop() {
			sinkInt, sinkErr = retry.Do(ctx, op, p)
		}
	})
	b.Run("inline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sinkInt, sinkErr = retry.Do(ctx, op, retry.WithMaxAttempts(4))
		}
	})
}

// BenchmarkInlineOptions: the options written in the call, as a quick
// script writes them (benchmarks/ compares that form, RetrykitInline, with
// cenkalti/backoff v5 and others). It makes
// 2 allocations per call: the Exponential value boxed in its Option (16 B)
// and StopOn's closure (see TestInlineOptionsAllocations); a policy built
// once (BenchmarkSuccess) makes none.
func BenchmarkInlineOptions(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		sinkInt, sinkErr = retry.Do(ctx, succeed, retry.WithMaxAttempts(5),
			retry.WithBackoff(retry.Exponential(10*time.Millisecond, 2)), retry.WithClassifier(retry.StopOn(errPermanentBench)))
	}
}
