package grpcbench

import (
	"context"
	"testing"
	"time"

	mwretry "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/retry"
	"github.com/retrykit/retry"
	"github.com/retrykit/retry/grpcx"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The retry layer alone: each interceptor wraps an invoker that does no
// I/O, so the figures are the interceptor's own cost per call, which the
// loopback benchmarks bury in their noise (about ±20% of 100 µs here).

const method = "/grpc.testing.TestService/UnaryCall"

var unavailable = status.Error(codes.Unavailable, "scripted failure")

// invoker returns an invoker that fails the first fail of every fail+1
// calls with UNAVAILABLE.
func invoker(fail int) grpc.UnaryInvoker {
	n := 0
	return func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
		n++
		if n%(fail+1) != 0 {
			return unavailable
		}
		return nil
	}
}

func layers(b *testing.B) map[string]grpc.UnaryClientInterceptor {
	p, err := retry.NewPolicy(retry.WithMaxAttempts(Attempts), retry.WithBackoff(retry.Constant(0)))
	if err != nil {
		b.Fatal(err)
	}
	return map[string]grpc.UnaryClientInterceptor{
		"retrykit": grpcx.UnaryClientInterceptor(grpcx.Config{Idempotent: grpcx.Methods(method)}, p),
		"go-grpc-middleware": mwretry.UnaryClientInterceptor(
			mwretry.WithMax(Attempts),
			mwretry.WithCodes(codes.Unavailable),
			mwretry.WithBackoff(func(context.Context, uint) time.Duration { return 0 }),
		),
	}
}

func benchLayer(b *testing.B, fail int) {
	for _, name := range []string{"retrykit", "go-grpc-middleware"} {
		ic := layers(b)[name]
		b.Run("lib="+name, func(b *testing.B) {
			inv := invoker(fail)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := ic(ctx, method, nil, nil, nil, inv); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLayerSuccess: the interceptor around a call that succeeds.
func BenchmarkLayerSuccess(b *testing.B) { benchLayer(b, 0) }

// BenchmarkLayerUnavailable2: the interceptor around a call that fails
// twice with UNAVAILABLE, then succeeds.
func BenchmarkLayerUnavailable2(b *testing.B) { benchLayer(b, 2) }
