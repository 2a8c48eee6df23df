package retry_test

import (
	"context"
	"testing"
	"time"

	"github.com/retrykit/retry"
)

// The engine's path without hedging, as a queue drives it: an attempt
// admitted by Begin and reported by Succeeded, or by Failed with a retry
// decided. Measured with callgrind (see BRIEF) to keep the hedged call's
// bookkeeping off it.
var benchT0 = time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)

func BenchmarkEngineSuccess(b *testing.B) {
	p := mustPolicy(b, retry.WithMaxAttempts(3))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, pr, err := p.Begin(ctx, retry.Progress{}, benchT0)
		if err != nil {
			b.Fatal(err)
		}
		sinkErr = p.Succeeded(ctx, pr, benchT0)
	}
}

func BenchmarkEngineFailure(b *testing.B) {
	p := mustPolicy(b, retry.WithMaxAttempts(3), retry.WithJitter(retry.NoJitter))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, pr, err := p.Begin(ctx, retry.Progress{}, benchT0)
		if err != nil {
			b.Fatal(err)
		}
		v := p.Failed(ctx, pr, errBench, benchT0)
		sinkErr = v.Err
	}
}
