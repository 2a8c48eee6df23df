package grpcbench

import (
	"context"
	"testing"

	testgrpc "google.golang.org/grpc/interop/grpc_testing"
)

// bench makes one unary call per iteration with each library against a
// server that fails the first fail of every fail+1 calls.
func bench(b *testing.B, fail int64, skip string) {
	for _, lib := range Libs {
		if lib.Name == skip {
			continue
		}
		b.Run("lib="+lib.Name, func(b *testing.B) {
			srv := &Server{FailFirst: fail}
			addr, stop, err := Start(srv)
			if err != nil {
				b.Fatal(err)
			}
			defer stop()
			c, closeConn, err := Client(addr, lib)
			if err != nil {
				b.Fatal(err)
			}
			defer closeConn()
			ctx := context.Background()
			req := &testgrpc.SimpleRequest{}
			if _, err := c.UnaryCall(ctx, req); err != nil { // connect outside the timing
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.UnaryCall(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGRPCSuccess: a unary call that succeeds at once.
func BenchmarkGRPCSuccess(b *testing.B) { bench(b, 0, "") }

// BenchmarkGRPCUnavailable2: UNAVAILABLE twice, then OK: three server calls.
func BenchmarkGRPCUnavailable2(b *testing.B) { bench(b, 2, "plain") }
