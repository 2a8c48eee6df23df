package grpcx_test

// Scenarios ported from the tests of go-grpc-middleware v2's retry
// interceptor (interceptors/retry/retry_test.go), where they apply to this
// package; the code is our own. Ported: FailsOnNonRetriableError (unary and
// server stream), FailsOnNonRetriableContextError, CallOptionsDontPanic-
// WithoutInterceptor, SucceedsOnRetriableError (unary and server stream),
// OverrideFromDialOpts and OverrideFromContext (per-call options),
// OverrideFromDialOpts2 (a caller's own predicate), OnRetryCallbackCalled
// and OnRetryCallbackNotCalledOnNonRetriableError (WithNotify), the
// chained-interceptor counts, and StreamClientInterceptorAttemptMetadata
// (in TestServerStreamNeverReplays and TestUnavailableTwiceThenOK).
// CallFailsOnOutOfRetries (a server that is down) is
// TestStreamCreationRetried. Not ported: the jitter and linear backoff
// tests (the core has its own), and its replay of a server stream after
// messages were delivered, which this package refuses by design.

import (
	"context"
	"testing"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/grpcx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

func failOutput(n int, code codes.Code) func(int, *testgrpc.StreamingOutputCallRequest, outputServer) error {
	return func(call int, _ *testgrpc.StreamingOutputCallRequest, s outputServer) error {
		if call <= n {
			return status.Error(code, "scripted failure")
		}
		return s.Send(msg(call, 0))
	}
}

func TestPortedMiddlewareScenarios(t *testing.T) {
	cfg := grpcx.Config{Idempotent: idempotent}
	for name, tc := range map[string]struct {
		fail     int
		code     codes.Code
		stream   bool
		callOpts []grpc.CallOption
		wantCode codes.Code
		calls    int
		retries  int
	}{
		"unary fails on a non-retriable error":           {5, codes.Internal, false, nil, codes.Internal, 1, 0},
		"unary fails on a non-retriable context error":   {5, codes.Canceled, false, nil, codes.Canceled, 1, 0},
		"server stream fails on a non-retriable error":   {5, codes.Internal, true, nil, codes.Internal, 1, 0},
		"unary succeeds on a retriable error":            {2, codes.Unavailable, false, nil, codes.OK, 3, 2},
		"server stream succeeds on a retriable error":    {2, codes.Unavailable, true, nil, codes.OK, 3, 2},
		"unary: more attempts per call":                  {4, codes.Aborted, false, []grpc.CallOption{grpcx.CallOptions(retry.WithMaxAttempts(5))}, codes.OK, 5, 4},
		"server stream: more attempts per call":          {4, codes.Aborted, true, []grpc.CallOption{grpcx.CallOptions(retry.WithMaxAttempts(5))}, codes.OK, 5, 4},
		"unary: the caller's own predicate per call":     {4, codes.Unavailable, false, []grpc.CallOption{grpcx.CallOptions(retry.WithClassifier(retry.RetryIf(func(error) bool { return false })))}, codes.Unavailable, 1, 0},
		"unary: out of attempts returns the last status": {9, codes.Unavailable, false, nil, codes.Unavailable, 4, 3},
	} {
		t.Run(name, func(t *testing.T) {
			noLeaks(t)
			srv := &server{unary: failFirst(tc.fail, tc.code), output: failOutput(tc.fail, tc.code)}
			retries := 0
			notify := retry.WithNotify(func(context.Context, retry.RetryInfo) { retries++ })
			c := serve(t, srv, cfg, append(fast, notify)...)
			var err error
			if tc.stream {
				var s grpc.ServerStreamingClient[testgrpc.StreamingOutputCallResponse]
				s, err = c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{}, tc.callOpts...)
				require.NoError(t, err, "a stream is created before it fails")
				_, err = s.Recv()
				assert.Equal(t, tc.calls, srv.count(outputMethod))
			} else {
				_, err = c.UnaryCall(t.Context(), &testgrpc.SimpleRequest{}, tc.callOpts...)
				assert.Equal(t, tc.calls, srv.count(unaryMethod))
			}
			assert.Equal(t, tc.wantCode, status.Code(err))
			assert.Equal(t, tc.retries, retries, "WithNotify is called once per retry")
		})
	}
}

func TestCallOptionsWithoutInterceptor(t *testing.T) {
	noLeaks(t)
	srv := &server{unary: failFirst(5, codes.Unavailable)}
	cc := dial(t, listen(t, srv))
	_, err := testgrpc.NewTestServiceClient(cc).UnaryCall(t.Context(), &testgrpc.SimpleRequest{},
		grpcx.CallOptions(retry.WithMaxAttempts(5)))
	assert.Equal(t, codes.Unavailable, status.Code(err), "grpc-go ignores the option")
	assert.Equal(t, 1, srv.count(unaryMethod))
}

// counter is an interceptor that counts its calls.
type counter struct{ unary, stream int }

func (c *counter) unaryInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	c.unary++
	return invoker(ctx, method, req, reply, cc, opts...)
}

func (c *counter) streamInterceptor(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	c.stream++
	return streamer(ctx, desc, cc, method, opts...)
}

// TestChainedInterceptors: an interceptor before the retries runs once per
// call, one after them once per attempt.
func TestChainedInterceptors(t *testing.T) {
	noLeaks(t)
	srv := &server{unary: failFirst(1, codes.Unavailable), output: failOutput(1, codes.Unavailable)}
	var pre, post counter
	cfg := grpcx.Config{Idempotent: idempotent}
	cc := dial(t, listen(t, srv),
		grpc.WithChainUnaryInterceptor(pre.unaryInterceptor, grpcx.UnaryClientInterceptor(cfg, fast...), post.unaryInterceptor),
		grpc.WithChainStreamInterceptor(pre.streamInterceptor, grpcx.StreamClientInterceptor(cfg, fast...), post.streamInterceptor))
	c := testgrpc.NewTestServiceClient(cc)
	_, err := c.UnaryCall(t.Context(), &testgrpc.SimpleRequest{})
	require.NoError(t, err)
	s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
	require.NoError(t, err)
	_, err = s.Recv()
	require.NoError(t, err)
	assert.Equal(t, counter{unary: 1, stream: 1}, pre)
	assert.Equal(t, counter{unary: 2, stream: 2}, post)
	assert.Equal(t, 2, srv.count(unaryMethod))
	assert.Equal(t, 2, srv.count(outputMethod))
}
