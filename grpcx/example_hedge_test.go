package grpcx_test

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/grpcx"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
)

// stuckFirst is a TestService whose first UnaryCall gets stuck until the
// client cancels it; it records the grpc-previous-rpc-attempts of the
// call that answers.
type stuckFirst struct {
	testgrpc.UnimplementedTestServiceServer
	calls    atomic.Int32
	previous atomic.Value
}

func (s *stuckFirst) UnaryCall(ctx context.Context, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	if s.calls.Add(1) == 1 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	md, _ := metadata.FromIncomingContext(ctx)
	s.previous.Store(md.Get("grpc-previous-rpc-attempts"))
	return &testgrpc.SimpleResponse{Payload: req.GetPayload()}, nil
}

// Hedged unary calls (gRFC A6's hedgingPolicy): a call declared
// idempotent that has no answer after 50ms is sent again, with
// grpc-previous-rpc-attempts: 1; the first reply wins and the other copy
// is cancelled. Calls not declared idempotent are never hedged.
func Example_hedging() {
	srv := &stuckFirst{}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	gs := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(gs, srv)
	go func() { _ = gs.Serve(lis) }()
	defer gs.Stop()

	cfg := grpcx.Config{Idempotent: grpcx.Methods("/grpc.testing.TestService/UnaryCall")}
	cc, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDisableRetry(),
		grpc.WithChainUnaryInterceptor(grpcx.UnaryClientInterceptor(cfg,
			retry.WithHedge(50*time.Millisecond, 2), // at most 2 copies in flight
			retry.WithMaxAttempts(3))))              // copies and retries together
	if err != nil {
		panic(err)
	}
	defer cc.Close()

	resp, err := testgrpc.NewTestServiceClient(cc).UnaryCall(context.Background(),
		&testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: []byte("hi")}})
	fmt.Println(string(resp.GetPayload().GetBody()), err, "server calls:", srv.calls.Load(),
		"previous attempts:", srv.previous.Load())
	// Output: hi <nil> server calls: 2 previous attempts: [1]
}
