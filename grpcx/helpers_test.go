package grpcx_test

import (
	"context"
	"net"
	"sync"
	"testing"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/grpcx"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"
)

// Full method names of the test service.
const (
	unaryMethod  = "/grpc.testing.TestService/UnaryCall"
	emptyMethod  = "/grpc.testing.TestService/EmptyCall"
	outputMethod = "/grpc.testing.TestService/StreamingOutputCall"
	inputMethod  = "/grpc.testing.TestService/StreamingInputCall"
	duplexMethod = "/grpc.testing.TestService/FullDuplexCall"
)

// idempotent declares UnaryCall and the streaming methods idempotent;
// EmptyCall stands for a non-idempotent method.
var idempotent = grpcx.Methods(unaryMethod, outputMethod, inputMethod, duplexMethod)

// fast is a policy option set for wire tests: no waits between attempts.
var fast = []retry.Option{retry.WithBackoff(retry.Constant(0))}

// server is a scripted TestService: each handler gets the number of the
// call (from 1) to its method; calls counts them and attempts records the
// grpc-previous-rpc-attempts metadata of each.
type server struct {
	testgrpc.UnimplementedTestServiceServer

	unary  func(ctx context.Context, n int) error
	empty  func(ctx context.Context, n int) error
	output func(n int, req *testgrpc.StreamingOutputCallRequest, s testgrpc.TestService_StreamingOutputCallServer) error
	input  func(n int, s testgrpc.TestService_StreamingInputCallServer) error
	duplex func(n int, s testgrpc.TestService_FullDuplexCallServer) error

	mu       sync.Mutex
	calls    map[string]int
	previous []string
}

func (s *server) call(ctx context.Context, method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[method]++
	md, _ := metadata.FromIncomingContext(ctx)
	s.previous = append(s.previous, append(md.Get("grpc-previous-rpc-attempts"), "")[0])
	return s.calls[method]
}

// reset forgets the calls counted so far.
func (s *server) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls, s.previous = nil, nil
}

// count returns the number of calls to a method so far.
func (s *server) count(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// attempts returns the grpc-previous-rpc-attempts values seen, in order
// ("" when absent).
func (s *server) attempts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.previous...)
}

func (s *server) UnaryCall(ctx context.Context, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	n := s.call(ctx, unaryMethod)
	if s.unary != nil {
		if err := s.unary(ctx, n); err != nil {
			return nil, err
		}
	}
	return &testgrpc.SimpleResponse{Payload: req.GetPayload()}, nil
}

func (s *server) EmptyCall(ctx context.Context, _ *testgrpc.Empty) (*testgrpc.Empty, error) {
	n := s.call(ctx, emptyMethod)
	if s.empty != nil {
		if err := s.empty(ctx, n); err != nil {
			return nil, err
		}
	}
	return &testgrpc.Empty{}, nil
}

func (s *server) StreamingOutputCall(req *testgrpc.StreamingOutputCallRequest, st testgrpc.TestService_StreamingOutputCallServer) error {
	return s.output(s.call(st.Context(), outputMethod), req, st)
}

func (s *server) StreamingInputCall(st testgrpc.TestService_StreamingInputCallServer) error {
	return s.input(s.call(st.Context(), inputMethod), st)
}

func (s *server) FullDuplexCall(st testgrpc.TestService_FullDuplexCallServer) error {
	return s.duplex(s.call(st.Context(), duplexMethod), st)
}

// noLeaks fails the test, at its end, if goroutines it started remain.
// It must be called first, so that its cleanup runs last.
func noLeaks(t *testing.T) {
	t.Helper()
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// serve starts srv on 127.0.0.1:0 and returns a client whose connection
// has the interceptors built from cfg and opts, and grpc-go's own retries
// off. Everything is closed when the test ends.
func serve(t *testing.T, srv *server, cfg grpcx.Config, opts ...retry.Option) testgrpc.TestServiceClient {
	t.Helper()
	return testgrpc.NewTestServiceClient(dial(t, listen(t, srv), interceptors(cfg, opts)...))
}

// interceptors returns the dial options that install both interceptors.
func interceptors(cfg grpcx.Config, opts []retry.Option) []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(grpcx.UnaryClientInterceptor(cfg, opts...)),
		grpc.WithChainStreamInterceptor(grpcx.StreamClientInterceptor(cfg, opts...)),
	}
}

// listen starts srv on 127.0.0.1:0, stopped when the test ends, and
// returns its address.
func listen(t *testing.T, srv *server) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	run(t, srv, lis)
	return lis.Addr().String()
}

// dial returns a connection to target with grpc-go's own retries off and
// opts, closed when the test ends.
func dial(t *testing.T, target string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDisableRetry()}, opts...)
	cc, err := grpc.NewClient(target, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// run serves srv on lis until the test ends.
func run(t *testing.T, srv *server, lis net.Listener) {
	gs := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(gs, srv)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = gs.Serve(lis)
	}()
	t.Cleanup(func() {
		gs.Stop()
		<-done
	})
}

// serveBuf is serve over an in-memory listener, for tests that run in a
// testing/synctest bubble (real sockets cannot be used there).
func serveBuf(t *testing.T, srv *server, cfg grpcx.Config, opts ...retry.Option) testgrpc.TestServiceClient {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	run(t, srv, lis)
	dialer := grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) })
	return testgrpc.NewTestServiceClient(dial(t, "passthrough:///bufconn", append(interceptors(cfg, opts), dialer)...))
}
