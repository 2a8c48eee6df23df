package retry_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/retrykit/retry"
)

// BenchmarkHedgeNone is BenchmarkSuccess's call, for side-by-side runs:
// a policy without hedging, whose success path must not allocate.
func BenchmarkHedgeNone(b *testing.B) {
	ctx := context.Background()
	p := mustPolicy(b)
	b.ReportAllocs()
	for b.Loop() {
		sinkInt, sinkErr = retry.Do(ctx, opSucceed, p)
	}
}

// BenchmarkHedgeFirstWins: a hedged call whose first copy answers before
// the delay: no goroutine, one timer.
func BenchmarkHedgeFirstWins(b *testing.B) {
	ctx := context.Background()
	p := mustPolicy(b, retry.WithHedge(time.Hour, 2))
	b.ReportAllocs()
	for b.Loop() {
		sinkInt, sinkErr = retry.DoHedged(ctx, opSucceed, p)
	}
}

// BenchmarkHedgeOnce: a hedged call whose first copy is stuck, so that a
// hedge (delay 0) starts and wins, and the first is cancelled.
func BenchmarkHedgeOnce(b *testing.B) {
	ctx := context.Background()
	p := mustPolicy(b, retry.WithHedge(0, 2))
	var n atomic.Int64
	op := func(ctx context.Context) (int, error) {
		if n.Add(1)%2 == 1 {
			<-ctx.Done()
			return 0, ctx.Err()
		}
		return 1, nil
	}
	b.ReportAllocs()
	for b.Loop() {
		sinkInt, sinkErr = retry.DoHedged(ctx, op, p)
	}
}

// BenchmarkHedgeDelayObserve: one latency recorded by goroutines in
// parallel.
func BenchmarkHedgeDelayObserve(b *testing.B) {
	d, err := retry.NewHedgeDelay(0.95, time.Millisecond)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		l := time.Millisecond
		for pb.Next() {
			d.Observe(l)
			l += 1013 * time.Nanosecond
			if l > 50*time.Millisecond {
				l = time.Millisecond
			}
		}
	})
}
