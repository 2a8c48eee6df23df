package grpcbench

import (
	"context"
	"net"
	"sync/atomic"
	"time"

	mwretry "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/retry"
	"github.com/retrykit/retry"
	"github.com/retrykit/retry/grpcx"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// Attempts is the number of attempts every retrying client allows.
const Attempts = 3

// Server is a TestService whose UnaryCall fails with UNAVAILABLE on the
// first FailFirst of every FailFirst+1 calls it receives, so that a client
// that retries them until success makes exactly FailFirst+1 calls per
// logical call (when calls are made one at a time).
type Server struct {
	testgrpc.UnimplementedTestServiceServer
	FailFirst int64
	calls     atomic.Int64
}

// Calls returns the number of UnaryCall calls served.
func (s *Server) Calls() int64 { return s.calls.Load() }

func (s *Server) UnaryCall(context.Context, *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	n := s.calls.Add(1) - 1
	if n%(s.FailFirst+1) < s.FailFirst {
		return nil, status.Error(codes.Unavailable, "scripted failure")
	}
	return &testgrpc.SimpleResponse{}, nil
}

// Start serves s on 127.0.0.1:0 and returns its address and a function
// that stops it.
func Start(s *Server) (string, func(), error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	gs := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(gs, s)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = gs.Serve(lis)
	}()
	return lis.Addr().String(), func() { gs.Stop(); <-done }, nil
}

// Lib is a way of making retried calls: the dial options that install it.
type Lib struct {
	Name string
	Dial func() ([]grpc.DialOption, error)
}

// Libs are the compared clients, each written as its documentation
// recommends, all allowing Attempts attempts on UNAVAILABLE with no wait.
var Libs = []Lib{
	{"plain", func() ([]grpc.DialOption, error) {
		return []grpc.DialOption{grpc.WithDisableRetry()}, nil
	}},
	{"retrykit", func() ([]grpc.DialOption, error) {
		// A policy built once; UnaryCall declared idempotent.
		p, err := retry.NewPolicy(retry.WithMaxAttempts(Attempts), retry.WithBackoff(retry.Constant(0)))
		if err != nil {
			return nil, err
		}
		cfg := grpcx.Config{Idempotent: grpcx.Methods("/grpc.testing.TestService/UnaryCall")}
		return []grpc.DialOption{grpc.WithDisableRetry(), grpc.WithUnaryInterceptor(grpcx.UnaryClientInterceptor(cfg, p))}, nil
	}},
	{"go-grpc-middleware", func() ([]grpc.DialOption, error) {
		return []grpc.DialOption{grpc.WithDisableRetry(), grpc.WithUnaryInterceptor(mwretry.UnaryClientInterceptor(
			mwretry.WithMax(Attempts),
			mwretry.WithCodes(codes.Unavailable),
			mwretry.WithBackoff(func(context.Context, uint) time.Duration { return 0 }),
		))}, nil
	}},
	{"grpc-go", func() ([]grpc.DialOption, error) {
		// grpc-go's own retries; A6 requires initialBackoff > 0, so 1ns,
		// the shortest wait it accepts.
		return []grpc.DialOption{grpc.WithDefaultServiceConfig(`{"methodConfig": [{
			"name": [{"service": "grpc.testing.TestService"}],
			"retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.000000001s", "maxBackoff": "0.000000001s",
				"backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`)}, nil
	}},
}

// Client returns a client of addr made with lib, and a function that
// closes its connection.
func Client(addr string, lib Lib) (testgrpc.TestServiceClient, func(), error) {
	opts, err := lib.Dial()
	if err != nil {
		return nil, nil, err
	}
	cc, err := grpc.NewClient(addr, append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		return nil, nil, err
	}
	return testgrpc.NewTestServiceClient(cc), func() { _ = cc.Close() }, nil
}
