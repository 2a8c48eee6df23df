package grpcx_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/grpcx"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// flaky is a TestService whose UnaryCall fails its first calls with
// UNAVAILABLE, asking for a 10ms pushback on the first unless plain.
type flaky struct {
	testgrpc.UnimplementedTestServiceServer
	calls, failures atomic.Int32
	plain           atomic.Bool
}

func (f *flaky) UnaryCall(ctx context.Context, _ *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	n := f.calls.Add(1)
	if n > f.failures.Load() {
		return &testgrpc.SimpleResponse{}, nil
	}
	if n == 1 && !f.plain.Load() {
		_ = grpc.SetTrailer(ctx, metadata.Pairs("grpc-retry-pushback-ms", "10"))
	}
	return nil, status.Error(codes.Unavailable, "warming up")
}

// startFlaky serves f on 127.0.0.1 and returns its address and a stop func.
func startFlaky(f *flaky) (string, func()) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	s := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(s, f)
	go func() { _ = s.Serve(lis) }()
	return lis.Addr().String(), s.Stop
}

// A client connection with retries on every call: the same policy for
// unary and streaming calls, UnaryCall declared idempotent, grpc-go's own
// retries turned off so that the two do not multiply, and the A6
// throttling of a service config reproduced with a budget shared by every
// call to the server.
func Example() {
	srv := &flaky{}
	srv.failures.Store(2)
	addr, stop := startFlaky(srv)
	defer stop()

	budget, err := grpcx.ThrottlingBudget(10, 0.1) // retryThrottling{maxTokens: 10, tokenRatio: 0.1}
	if err != nil {
		panic(err)
	}
	cfg := grpcx.Config{Idempotent: grpcx.Methods("/grpc.testing.TestService/UnaryCall")}
	policy := []retry.Option{
		retry.WithMaxAttempts(5),
		retry.WithBackoff(retry.Exponential(10*time.Millisecond, 2)),
		retry.WithMaxDelay(time.Second), // a longer pushback stops with ErrHintTooLong
		retry.WithBudget(budget),
	}
	cc, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDisableRetry(), // retries are ours; see the package documentation
		grpc.WithChainUnaryInterceptor(grpcx.UnaryClientInterceptor(cfg, policy...)),
		grpc.WithChainStreamInterceptor(grpcx.StreamClientInterceptor(cfg, policy...)),
	)
	if err != nil {
		panic(err)
	}
	defer cc.Close()
	client := testgrpc.NewTestServiceClient(cc)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = client.UnaryCall(ctx, &testgrpc.SimpleRequest{})
	fmt.Println("error:", err, "server calls:", srv.calls.Load())

	// One call with a policy of its own: a single attempt.
	srv.calls.Store(0)
	_, err = client.UnaryCall(ctx, &testgrpc.SimpleRequest{}, grpcx.CallOptions(retry.WithMaxAttempts(1)))
	fmt.Println(status.Code(err), errors.Is(err, retry.ErrExhausted), "server calls:", srv.calls.Load())
	// Output:
	// error: <nil> server calls: 3
	// Unavailable true server calls: 1
}

// The A6 retry throttling, reproduced with a budget: with maxTokens 10 and
// a server that always fails, four retries in a row are granted and the
// fifth is refused, as grpc-go's throttling does; later calls are not
// retried until successes refill the bucket above half.
func ExampleThrottlingBudget() {
	srv := &flaky{}
	srv.failures.Store(1 << 30)
	addr, stop := startFlaky(srv)
	defer stop()

	budget, err := grpcx.ThrottlingBudget(10, 0.1)
	if err != nil {
		panic(err)
	}
	cc, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDisableRetry(),
		grpc.WithChainUnaryInterceptor(grpcx.UnaryClientInterceptor(
			grpcx.Config{Idempotent: func(string) bool { return true }},
			retry.WithMaxAttempts(0), // no limit: the budget decides
			retry.WithBackoff(retry.Constant(0)),
			retry.WithBudget(budget))))
	if err != nil {
		panic(err)
	}
	defer cc.Close()
	client := testgrpc.NewTestServiceClient(cc)

	for range 2 {
		srv.calls.Store(0)
		_, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
		fmt.Println(srv.calls.Load(), "attempts;", errors.Is(err, retry.ErrBudgetExhausted), budget.Tokens())
	}
	// Output:
	// 5 attempts; true 6
	// 1 attempts; true 6
}

// A method not declared idempotent is not sent again after a failure that
// may have come after the server carried it out: the call ends after one
// attempt with ErrNotIdempotent, and its message says how to allow the
// retry. IdempotentCall allows it for one call (one whose request the
// server deduplicates, say).
func ExampleIdempotentCall() {
	srv := &flaky{}
	srv.plain.Store(true) // UNAVAILABLE without pushback: it proves nothing
	srv.failures.Store(1)
	addr, stop := startFlaky(srv)
	defer stop()

	cc, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDisableRetry(),
		grpc.WithChainUnaryInterceptor(grpcx.UnaryClientInterceptor(grpcx.Config{}, retry.WithBackoff(retry.Constant(0)))))
	if err != nil {
		panic(err)
	}
	defer cc.Close()
	client := testgrpc.NewTestServiceClient(cc)

	_, err = client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
	fmt.Println(retry.ReasonOf(err), errors.Is(err, retry.ErrNotIdempotent), "server calls:", srv.calls.Load())

	srv.calls.Store(0)
	_, err = client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}, grpcx.IdempotentCall())
	fmt.Println(err, "server calls:", srv.calls.Load())
	// Output:
	// not_idempotent true server calls: 1
	// <nil> server calls: 2
}
