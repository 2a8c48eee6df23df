package benchmarks

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// hedgeLibs returns a fresh hedging adapter of every library that hedges,
// each allowing HedgeCopies copies, the hedge starting after delay.
func hedgeLibs(tb testing.TB, delay time.Duration) []namedRunner {
	tb.Helper()
	rk, err := NewRetrykitHedge(delay)
	require.NoError(tb, err)
	return []namedRunner{
		{libRetrykit, rk},
		{libFailsafe, NewFailsafeHedge(context.Background(), delay)},
	}
}

// hedgeBlockFirst returns an operation whose copies alternate: the first
// copy of each call blocks until its context is cancelled (it signals
// cancelled, if not nil, as it leaves), the second succeeds at once with
// the number of copies started so far. Every call must start exactly two
// copies (the first copy blocks until the hedge wins): the parity of one
// shared counter then tells the first of a call from its hedge, whichever
// goroutine runs it. Safe for concurrent use by the copies of one call.
func hedgeBlockFirst(calls *atomic.Int64, cancelled chan<- struct{}) Op {
	return func(ctx context.Context) (int, error) {
		n := calls.Add(1)
		if n%2 == 1 {
			<-ctx.Done()
			if cancelled != nil {
				cancelled <- struct{}{}
			}
			return 0, ctx.Err()
		}
		return int(n), nil
	}
}

// BenchmarkHedgeFirstWins: a hedged call (one hedge after an hour) whose
// first copy answers at once, so the hedge never starts. direct calls the
// operation.
func BenchmarkHedgeFirstWins(b *testing.B) {
	libs := append([]namedRunner{{libDirect, Direct}}, hedgeLibs(b, time.Hour)...)
	for _, lib := range libs {
		b.Run("lib="+lib.lib, func(b *testing.B) { benchSerial(b, lib.run, Succeed, false) })
	}
}

// BenchmarkHedgeOnce: a hedged call whose first copy blocks until the
// hedge (delay 0) has won and the library cancels it: two copies per call,
// one goroutine at least, one cancellation.
func BenchmarkHedgeOnce(b *testing.B) {
	for _, lib := range hedgeLibs(b, 0) {
		b.Run("lib="+lib.lib, func(b *testing.B) {
			var calls atomic.Int64
			benchSerial(b, lib.run, hedgeBlockFirst(&calls, nil), false)
		})
	}
}
