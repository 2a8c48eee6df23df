package grpcx_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/grpcx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// The interceptor alone, around invokers without I/O. Side-by-side
// figures over loopback, with go-grpc-middleware and grpc-go's own
// retries, are in the benchmarks/grpc module.

var errUnavailable = status.Error(codes.Unavailable, "scripted failure")

// failing returns an invoker that fails the first fail of every fail+1
// calls with UNAVAILABLE.
func failing(fail int) grpc.UnaryInvoker {
	n := 0
	return func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
		n++
		if n%(fail+1) != 0 {
			return errUnavailable
		}
		return nil
	}
}

func interceptor(t testing.TB) grpc.UnaryClientInterceptor {
	p, err := retry.NewPolicy(retry.WithMaxAttempts(3), retry.WithBackoff(retry.Constant(0)))
	require.NoError(t, err)
	return grpcx.UnaryClientInterceptor(grpcx.Config{Idempotent: idempotent}, p)
}

// TestSuccessPathAllocations pins the hot path: a call that succeeds at
// once allocates nothing in the interceptor (with a real invoker, grpc-go
// then allocates the copy of the trailer the interceptor asks for).
func TestSuccessPathAllocations(t *testing.T) {
	ic := interceptor(t)
	inv := failing(0)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() { _ = ic(ctx, unaryMethod, nil, nil, nil, inv) })
	if raceEnabled {
		assert.LessOrEqual(t, allocs, 2.0, "at most the call's state, when the pool dropped it")
		return
	}
	assert.Zero(t, allocs)
}

func benchInterceptor(b *testing.B, fail int) {
	ic := interceptor(b)
	inv := failing(fail)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := ic(ctx, unaryMethod, nil, nil, nil, inv); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnarySuccess: the interceptor around a call that succeeds.
func BenchmarkUnarySuccess(b *testing.B) { benchInterceptor(b, 0) }

// BenchmarkUnaryUnavailable2: the interceptor around a call that fails
// twice with UNAVAILABLE, then succeeds.
func BenchmarkUnaryUnavailable2(b *testing.B) { benchInterceptor(b, 2) }

func hedgedInterceptor(b *testing.B, delay time.Duration) grpc.UnaryClientInterceptor {
	p, err := retry.NewPolicy(retry.WithMaxAttempts(3), retry.WithBackoff(retry.Constant(0)), retry.WithHedge(delay, 2))
	require.NoError(b, err)
	return grpcx.UnaryClientInterceptor(grpcx.Config{Idempotent: idempotent}, p)
}

// BenchmarkUnaryHedgedFirstWins: a hedged call whose first copy answers
// before the hedge delay: no hedge is sent.
func BenchmarkUnaryHedgedFirstWins(b *testing.B) {
	ic := hedgedInterceptor(b, time.Hour)
	inv := failing(0)
	ctx := context.Background()
	reply := &testgrpc.SimpleResponse{}
	b.ReportAllocs()
	for b.Loop() {
		if err := ic(ctx, unaryMethod, nil, reply, nil, inv); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnaryHedgedOnce: a hedged call whose first copy stays until
// it is cancelled and whose hedge (sent at once, delay 0) answers: one
// hedge, the loser cancelled and waited for.
func BenchmarkUnaryHedgedOnce(b *testing.B) {
	ic := hedgedInterceptor(b, 0)
	var first atomic.Bool
	inv := func(ctx context.Context, _ string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
		if first.CompareAndSwap(true, false) {
			<-ctx.Done()
			return status.FromContextError(ctx.Err()).Err()
		}
		return nil
	}
	ctx := context.Background()
	reply := &testgrpc.SimpleResponse{}
	b.ReportAllocs()
	for b.Loop() {
		first.Store(true)
		if err := ic(ctx, unaryMethod, nil, reply, nil, inv); err != nil {
			b.Fatal(err)
		}
	}
}
