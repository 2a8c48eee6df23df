package grpcx_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/grpcx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

type outputServer = testgrpc.TestService_StreamingOutputCallServer

// msg returns a response whose body names its call and index.
func msg(call, i int) *testgrpc.StreamingOutputCallResponse {
	return &testgrpc.StreamingOutputCallResponse{Payload: &testgrpc.Payload{Body: fmt.Appendf(nil, "%d.%d", call, i)}}
}

// recvAll reads a server stream to its end and returns the bodies and the
// error that ended it (nil for io.EOF).
func recvAll(s grpc.ServerStreamingClient[testgrpc.StreamingOutputCallResponse]) ([]string, error) {
	var got []string
	for {
		m, err := s.Recv()
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got = append(got, string(m.GetPayload().GetBody()))
	}
}

// TestServerStreamNeverReplays: after messages were delivered, a failure
// reaches the caller with exactly those messages; the same failure before
// the first message is retried without the caller noticing.
func TestServerStreamNeverReplays(t *testing.T) {
	for name, tc := range map[string]struct {
		before   int // messages sent before the failure on call 1
		want     []string
		wantCode codes.Code
		calls    int
	}{
		"after 3 messages": {3, []string{"1.0", "1.1", "1.2"}, codes.Unavailable, 1},
		"before any":       {0, []string{"2.0", "2.1", "2.2"}, codes.OK, 2},
	} {
		t.Run(name, func(t *testing.T) {
			noLeaks(t)
			srv := &server{output: func(n int, _ *testgrpc.StreamingOutputCallRequest, s outputServer) error {
				for i := range 3 {
					if n == 1 && i == tc.before {
						return status.Error(codes.Unavailable, "lost the backend")
					}
					if err := s.Send(msg(n, i)); err != nil {
						return err
					}
				}
				if n == 1 {
					return status.Error(codes.Unavailable, "lost the backend")
				}
				return nil
			}}
			c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, fast...)
			s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
			require.NoError(t, err)
			got, err := recvAll(s)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.wantCode, status.Code(err))
			assert.Equal(t, tc.calls, srv.count(outputMethod))
			if tc.calls == 2 {
				assert.Equal(t, []string{"", "1"}, srv.attempts())
			}
		})
	}
}

func TestServerStreamNonIdempotent(t *testing.T) {
	noLeaks(t)
	srv := &server{output: func(n int, _ *testgrpc.StreamingOutputCallRequest, s outputServer) error {
		if n == 1 {
			return status.Error(codes.Unavailable, "lost the backend")
		}
		return s.Send(msg(n, 0))
	}}
	c := serve(t, srv, grpcx.Config{}, fast...)
	s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
	require.NoError(t, err)
	got, err := recvAll(s)
	assert.Empty(t, got)
	assert.ErrorIs(t, err, retry.ErrNotIdempotent)
	assert.Equal(t, 1, srv.count(outputMethod))
}

type inputServer = testgrpc.TestService_StreamingInputCallServer

// sumInput reads a client stream to its end and returns the sum of the
// payload sizes; call 1 fails with UNAVAILABLE once it has read them all.
func sumInput(n int, s inputServer) error {
	total := 0
	for {
		m, err := s.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		total += len(m.GetPayload().GetBody())
	}
	if n == 1 {
		return status.Error(codes.Unavailable, "lost the backend")
	}
	return s.SendAndClose(&testgrpc.StreamingInputCallResponse{AggregatedPayloadSize: int32(total)})
}

type duplexServer = testgrpc.TestService_FullDuplexCallServer

// TestUnsentRetried: a call that never had a transport stream (nothing
// listens at the address) never reached the server, so it is retried even
// for a non-idempotent method.
func TestUnsentRetried(t *testing.T) {
	noLeaks(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close()) // nothing listens there now
	var retries int
	cc := dial(t, addr, grpc.WithChainUnaryInterceptor(grpcx.UnaryClientInterceptor(grpcx.Config{},
		retry.WithMaxAttempts(3), retry.WithBackoff(retry.Constant(0)),
		retry.WithNotify(func(context.Context, retry.RetryInfo) { retries++ }))))
	_, err = testgrpc.NewTestServiceClient(cc).EmptyCall(t.Context(), &testgrpc.Empty{})
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.ErrorIs(t, err, retry.ErrExhausted)
	assert.Equal(t, 2, retries)
}

// TestStreamCreationRetried: a stream that cannot be created never reached
// the server, so it is retried even for a non-idempotent method.
func TestStreamCreationRetried(t *testing.T) {
	noLeaks(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close()) // nothing listens there now
	var retries int
	cc, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDisableRetry(),
		grpc.WithChainStreamInterceptor(grpcx.StreamClientInterceptor(grpcx.Config{},
			retry.WithMaxAttempts(3), retry.WithBackoff(retry.Constant(0)),
			retry.WithNotify(func(context.Context, retry.RetryInfo) { retries++ }))))
	require.NoError(t, err)
	defer cc.Close()
	_, err = testgrpc.NewTestServiceClient(cc).StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.ErrorIs(t, err, retry.ErrExhausted)
	assert.Equal(t, 2, retries)
	assert.False(t, errors.Is(err, retry.ErrPermanent))
}

// TestStreamHintsAndOverrides: a server stream honours pushback (a
// non-idempotent one is then retried: the server refused it unprocessed),
// stops on a hint beyond the maximum delay, and takes per-call options,
// an invalid one failing the stream's creation.
func TestStreamHintsAndOverrides(t *testing.T) {
	noLeaks(t)
	srv := &server{output: func(n int, _ *testgrpc.StreamingOutputCallRequest, s outputServer) error {
		if n == 1 || n == 3 {
			v := "0"
			if n == 3 {
				v = "3600000"
			}
			s.SetTrailer(metadata.Pairs("grpc-retry-pushback-ms", v))
			return status.Error(codes.Unavailable, "pushed back")
		}
		return s.Send(msg(n, 0))
	}}
	c := serve(t, srv, grpcx.Config{}, append(fast, retry.WithMaxDelay(time.Minute))...)

	s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
	require.NoError(t, err)
	got, err := recvAll(s)
	require.NoError(t, err)
	assert.Equal(t, []string{"2.0"}, got, "calls 1 and 2")

	s, err = c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
	require.NoError(t, err)
	_, err = recvAll(s)
	assert.ErrorIs(t, err, retry.ErrHintTooLong, "call 3")
	assert.Equal(t, 3, srv.count(outputMethod))

	_, err = c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{}, grpcx.CallOptions(retry.WithMaxAttempts(-1)))
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	assert.Equal(t, 3, srv.count(outputMethod))
}

// TestClientStreamReleasedAtResponse: the single response of a client
// stream ends it: its attempt's context is released at once.
func TestClientStreamReleasedAtResponse(t *testing.T) {
	noLeaks(t)
	var attemptCtx context.Context
	capture := func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		attemptCtx = ctx
		return streamer(ctx, desc, cc, method, opts...)
	}
	srv := &server{input: func(n int, s inputServer) error { return sumInput(n+1, s) }}
	cc := dial(t, listen(t, srv), grpc.WithChainStreamInterceptor(
		grpcx.StreamClientInterceptor(grpcx.Config{Idempotent: idempotent}, fast...), capture))
	s, err := testgrpc.NewTestServiceClient(cc).StreamingInputCall(t.Context())
	require.NoError(t, err)
	require.NoError(t, s.Send(&testgrpc.StreamingInputCallRequest{Payload: &testgrpc.Payload{Body: make([]byte, 7)}}))
	resp, err := s.CloseAndRecv()
	require.NoError(t, err)
	assert.EqualValues(t, 7, resp.GetAggregatedPayloadSize())
	require.NotNil(t, attemptCtx)
	assert.ErrorIs(t, attemptCtx.Err(), context.Canceled, "released")
	assert.NoError(t, t.Context().Err())
}
