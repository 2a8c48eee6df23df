package grpcx_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/grpcx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// failFirst returns a handler that fails its first n calls with code.
func failFirst(n int, code codes.Code) func(context.Context, int) error {
	return func(_ context.Context, call int) error {
		if call <= n {
			return status.Error(code, "scripted failure")
		}
		return nil
	}
}

func TestUnavailableTwiceThenOK(t *testing.T) {
	noLeaks(t)
	srv := &server{unary: failFirst(2, codes.Unavailable), empty: failFirst(2, codes.Unavailable)}
	c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, fast...)

	resp, err := c.UnaryCall(t.Context(), &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: []byte("hi")}})
	require.NoError(t, err)
	assert.Equal(t, "hi", string(resp.GetPayload().GetBody()))
	assert.Equal(t, 3, srv.count(unaryMethod), "an idempotent method is retried")
	assert.Equal(t, []string{"", "1", "2"}, srv.attempts(), "grpc-previous-rpc-attempts on attempts 2 and 3")

	_, err = c.EmptyCall(t.Context(), &testgrpc.Empty{})
	assert.Equal(t, 1, srv.count(emptyMethod), "a non-idempotent method is not retried without proof")
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.ErrorIs(t, err, retry.ErrNotIdempotent)
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 1, re.Attempts)
}

// TestCodes checks the table of gRFC A6 codes against idempotency: which
// codes are retried, for which methods, with the default set and with
// INTERNAL opted in.
func TestCodes(t *testing.T) {
	withInternal := append([]codes.Code{codes.Internal}, grpcx.DefaultCodes()...)
	for _, tc := range []struct {
		code          codes.Code
		codes         []codes.Code
		idem, nonIdem int // server calls, of 3 allowed attempts
	}{
		{codes.Unavailable, nil, 3, 1},
		{codes.ResourceExhausted, nil, 3, 1}, // no hint: the non-idempotent call may have been processed
		{codes.Aborted, nil, 3, 1},
		{codes.DeadlineExceeded, nil, 1, 1}, // the server's, not our attempt timeout
		{codes.Internal, nil, 1, 1},
		{codes.Unknown, nil, 1, 1},
		{codes.Internal, withInternal, 3, 1},
		{codes.NotFound, nil, 1, 1},
		{codes.InvalidArgument, nil, 1, 1},
		{codes.PermissionDenied, nil, 1, 1},
		{codes.Unimplemented, nil, 1, 1},
		{codes.FailedPrecondition, nil, 1, 1},
		{codes.Unavailable, []codes.Code{codes.Aborted}, 1, 1}, // the caller's set replaces the default
		{codes.Aborted, []codes.Code{}, 1, 1},
	} {
		t.Run(tc.code.String(), func(t *testing.T) {
			noLeaks(t)
			srv := &server{unary: failFirst(5, tc.code), empty: failFirst(5, tc.code)}
			c := serve(t, srv, grpcx.Config{Idempotent: idempotent, Codes: tc.codes},
				append(fast, retry.WithMaxAttempts(3))...)
			_, err := c.UnaryCall(t.Context(), &testgrpc.SimpleRequest{})
			assert.Equal(t, tc.code, status.Code(err))
			assert.Equal(t, tc.idem, srv.count(unaryMethod), "idempotent")
			_, err = c.EmptyCall(t.Context(), &testgrpc.Empty{})
			assert.Equal(t, tc.code, status.Code(err))
			assert.Equal(t, tc.nonIdem, srv.count(emptyMethod), "non-idempotent")
		})
	}
}

func TestInvalidConfig(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg  grpcx.Config
		opts []retry.Option
	}{
		"nil option":           {opts: []retry.Option{nil}},
		"negative attempts":    {opts: []retry.Option{retry.WithMaxAttempts(-1)}},
		"negative replay":      {cfg: grpcx.Config{ReplayLimit: -1}},
		"code OK":              {cfg: grpcx.Config{Codes: []codes.Code{codes.OK}}},
		"code out of range":    {cfg: grpcx.Config{Codes: []codes.Code{codes.Code(17)}}},
		"invalid code at end":  {cfg: grpcx.Config{Codes: []codes.Code{codes.Unavailable, codes.Code(99)}}},
		"method without slash": {cfg: grpcx.Config{Idempotent: grpcx.Methods(unaryMethod, "grpc.testing.TestService/UnaryCall")}},
		"service alone":        {cfg: grpcx.Config{Idempotent: grpcx.Methods("/grpc.testing.TestService")}},
		"empty method":         {cfg: grpcx.Config{Idempotent: grpcx.Methods("/grpc.testing.TestService/")}},
		"method alone":         {cfg: grpcx.Config{Idempotent: grpcx.Methods("UnaryCall")}},
		"three parts":          {cfg: grpcx.Config{Idempotent: grpcx.Methods("/a/b/c")}},
	} {
		t.Run(name, func(t *testing.T) {
			noLeaks(t)
			srv := &server{output: func(int, *testgrpc.StreamingOutputCallRequest, testgrpc.TestService_StreamingOutputCallServer) error {
				return nil
			}}
			c := serve(t, srv, tc.cfg, tc.opts...)
			_, err := c.UnaryCall(t.Context(), &testgrpc.SimpleRequest{})
			require.ErrorIs(t, err, retry.ErrInvalidConfig)
			var re *retry.Error
			require.ErrorAs(t, err, &re)
			assert.Zero(t, re.Attempts)
			_, err = c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
			require.ErrorIs(t, err, retry.ErrInvalidConfig)
			assert.Zero(t, srv.count(unaryMethod)+srv.count(outputMethod), "nothing reaches the server")
		})
	}
}

func TestPerCallOverride(t *testing.T) {
	noLeaks(t)
	srv := &server{unary: failFirst(10, codes.Unavailable)}
	c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithMaxAttempts(5))...)

	_, err := c.UnaryCall(t.Context(), &testgrpc.SimpleRequest{}, grpcx.CallOptions(retry.WithMaxAttempts(2)))
	assert.ErrorIs(t, err, retry.ErrExhausted)
	assert.Equal(t, 2, srv.count(unaryMethod), "the call option overrides the interceptor")

	ctx := grpcx.WithOptions(t.Context(), retry.WithMaxAttempts(3))
	_, err = c.UnaryCall(ctx, &testgrpc.SimpleRequest{})
	assert.ErrorIs(t, err, retry.ErrExhausted)
	assert.Equal(t, 2+3, srv.count(unaryMethod), "the context overrides the interceptor")

	_, err = c.UnaryCall(ctx, &testgrpc.SimpleRequest{}, grpcx.CallOptions(retry.WithMaxAttempts(1)))
	assert.Equal(t, 2+3+1, srv.count(unaryMethod), "the call option applies after the context's")
	assert.ErrorIs(t, err, retry.ErrExhausted)

	_, err = c.UnaryCall(t.Context(), &testgrpc.SimpleRequest{}, grpcx.CallOptions(retry.WithMaxDelay(-1)))
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	_, err = c.UnaryCall(grpcx.WithOptions(t.Context(), nil), &testgrpc.SimpleRequest{})
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	assert.Equal(t, 6, srv.count(unaryMethod), "an invalid override reaches no server")
}

func TestCallerCancellationIsNotRetried(t *testing.T) {
	noLeaks(t)
	ctx, cancel := context.WithCancel(t.Context())
	srv := &server{unary: func(ctx context.Context, _ int) error {
		cancel()
		<-ctx.Done()
		return ctx.Err()
	}}
	c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, fast...)
	_, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, codes.Canceled, status.Code(err))
	assert.Equal(t, 1, srv.count(unaryMethod))
	assert.False(t, errors.Is(err, retry.ErrExhausted))
}

// TestBreaker: the core's breaker counts attempts through the interceptor;
// once open, calls fail fast without reaching the server; a final status
// (the server answered) does not count as a failure.
func TestBreaker(t *testing.T) {
	noLeaks(t)
	br, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 2, RecoveryTimeout: time.Hour})
	require.NoError(t, err)
	srv := &server{unary: failFirst(1<<30, codes.Unavailable), empty: failFirst(1<<30, codes.NotFound)}
	c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithMaxAttempts(2), retry.WithBreaker(br))...)

	for range 3 {
		_, err = c.EmptyCall(t.Context(), &testgrpc.Empty{})
		assert.Equal(t, codes.NotFound, status.Code(err))
	}
	assert.Equal(t, retry.BreakerClosed, br.State(), "NOT_FOUND is an answer")

	_, err = c.UnaryCall(t.Context(), &testgrpc.SimpleRequest{})
	assert.ErrorIs(t, err, retry.ErrExhausted)
	assert.Equal(t, retry.BreakerOpen, br.State())
	_, err = c.UnaryCall(t.Context(), &testgrpc.SimpleRequest{})
	assert.ErrorIs(t, err, retry.ErrCircuitOpen)
	assert.Equal(t, 2, srv.count(unaryMethod), "an open breaker keeps calls from the server")
}

// TestWithOptionsNilContext: WithOptions with a nil context does not
// panic; the calls made with the context it returns fail with
// ErrInvalidConfig without reaching the server.
func TestWithOptionsNilContext(t *testing.T) {
	noLeaks(t)
	srv := &server{}
	c := serve(t, srv, grpcx.Config{}, fast...)
	var nilCtx context.Context
	ctx := grpcx.WithOptions(nilCtx, retry.WithMaxAttempts(2))
	require.NotNil(t, ctx)
	_, err := c.EmptyCall(ctx, &testgrpc.Empty{})
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	_, err = c.StreamingOutputCall(ctx, &testgrpc.StreamingOutputCallRequest{})
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	_, err = c.EmptyCall(grpcx.WithOptions(ctx, retry.WithMaxAttempts(3)), &testgrpc.Empty{})
	assert.ErrorIs(t, err, retry.ErrInvalidConfig, "nested: still invalid")
	assert.Zero(t, srv.count(emptyMethod))
}

// TestRetriedCallKeepsMetadata: every attempt of a retried call carries
// the caller's outgoing metadata, set in either of grpc-go's ways, and
// grpc-previous-rpc-attempts after the first; a call without metadata of
// its own gets the attempt count alone.
func TestRetriedCallKeepsMetadata(t *testing.T) {
	noLeaks(t)
	for name, tc := range map[string]struct {
		ctx  func(context.Context) context.Context
		want []string // the "auth" values every attempt must carry
	}{
		"none": {func(ctx context.Context) context.Context { return ctx }, nil},
		"NewOutgoingContext": {func(ctx context.Context) context.Context {
			return metadata.NewOutgoingContext(ctx, metadata.Pairs("auth", "a"))
		}, []string{"a"}},
		"appended": {func(ctx context.Context) context.Context { return metadata.AppendToOutgoingContext(ctx, "auth", "b") }, []string{"b"}},
	} {
		t.Run(name, func(t *testing.T) {
			var mu sync.Mutex
			var got [][]string // auth, then grpc-previous-rpc-attempts, of each attempt
			fail := failFirst(2, codes.Unavailable)
			srv := &server{unary: func(ctx context.Context, n int) error {
				md, _ := metadata.FromIncomingContext(ctx)
				mu.Lock()
				got = append(got, []string{strings.Join(md.Get("auth"), ","), strings.Join(md.Get("grpc-previous-rpc-attempts"), ",")})
				mu.Unlock()
				return fail(ctx, n)
			}}
			c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, fast...)
			_, err := c.UnaryCall(tc.ctx(t.Context()), &testgrpc.SimpleRequest{})
			require.NoError(t, err)
			auth := strings.Join(tc.want, ",")
			assert.Equal(t, [][]string{{auth, ""}, {auth, "1"}, {auth, "2"}}, got)
		})
	}
}
