package grpcx_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/grpcx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// headersThenFail returns a handler whose first call sends response
// headers, sets the trailer, if any, and fails with code: the handler ran.
func headersThenFail(code codes.Code, trailer metadata.MD) func(context.Context, int) error {
	return func(ctx context.Context, n int) error {
		if n > 1 {
			return nil
		}
		if err := grpc.SendHeader(ctx, metadata.Pairs("processed", "yes")); err != nil {
			return err
		}
		_ = grpc.SetTrailer(ctx, trailer)
		return status.Error(code, "did the work, then failed")
	}
}

// TestUnaryCommittedByHeaders: as gRFC A6 says, and as grpc-go's own
// retries do, response headers commit a unary call: a failure after them
// is not retried, whether the method is idempotent or not, and even with
// a pushback that would prove a trailers-only refusal unprocessed. The
// headers are the server's answer: the call stops with ErrPermanent and a
// message naming the rule, and a breaker counts it as a success. The same
// failure in a trailers-only response is retried for an idempotent method
// (and refused for the other one). Against a grpc-go server on 127.0.0.1.
func TestUnaryCommittedByHeaders(t *testing.T) {
	pushbackZero := metadata.Pairs("grpc-retry-pushback-ms", "0")
	for name, tc := range map[string]struct {
		handler func(context.Context, int) error
		call    func(testgrpc.TestServiceClient, context.Context, ...grpc.CallOption) error
		method  string
		calls   int // server calls
	}{
		"idempotent, UNAVAILABLE after headers":           {headersThenFail(codes.Unavailable, nil), unaryCall, unaryMethod, 1},
		"idempotent, RESOURCE_EXHAUSTED after headers":    {headersThenFail(codes.ResourceExhausted, nil), unaryCall, unaryMethod, 1},
		"idempotent, pushback after headers":              {headersThenFail(codes.Unavailable, pushbackZero), unaryCall, unaryMethod, 1},
		"not idempotent, UNAVAILABLE after headers":       {headersThenFail(codes.Unavailable, nil), emptyCall, emptyMethod, 1},
		"not idempotent, pushback after headers":          {headersThenFail(codes.Unavailable, pushbackZero), emptyCall, emptyMethod, 1},
		"idempotent, trailers-only UNAVAILABLE: retried":  {failFirst(1, codes.Unavailable), unaryCall, unaryMethod, 2},
		"not idempotent, trailers-only pushback: retried": {pushback(1, codes.Unavailable, "0"), emptyCall, emptyMethod, 2},
	} {
		t.Run(name, func(t *testing.T) {
			noLeaks(t)
			br, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 2, RecoveryTimeout: time.Hour})
			require.NoError(t, err)
			srv := &server{unary: tc.handler, empty: tc.handler}
			c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithBreaker(br))...)
			var header metadata.MD
			err = tc.call(c, t.Context(), grpc.Header(&header))
			assert.Equal(t, tc.calls, srv.count(tc.method))
			assert.Equal(t, retry.BreakerClosed, br.State())
			if tc.calls == 2 {
				require.NoError(t, err)
				return
			}
			assert.Zero(t, br.Stats().Failures, "the headers are an answer, not a failure")
			assert.ErrorIs(t, err, retry.ErrPermanent)
			assert.ErrorContains(t, err, "the server sent response headers before it failed, which commits the call (gRFC A6)")
			assert.NotEqual(t, codes.OK, status.Code(err), "the status is kept")
			assert.Equal(t, []string{"yes"}, header.Get("processed"), "the caller's own Header option still works")
		})
	}
}

func unaryCall(c testgrpc.TestServiceClient, ctx context.Context, opts ...grpc.CallOption) error {
	_, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{}, opts...)
	return err
}

func emptyCall(c testgrpc.TestServiceClient, ctx context.Context, opts ...grpc.CallOption) error {
	_, err := c.EmptyCall(ctx, &testgrpc.Empty{}, opts...)
	return err
}

// TestUnaryAttemptTimeoutAfterHeaders: the policy's attempt timeout bounds
// a whole unary attempt (grpc-go gives an interceptor no way to lift it
// at the headers, as a stream does); when it fires after response headers
// arrived, the call was committed and is not retried: the call ends with
// the DEADLINE_EXCEEDED of the timeout. Before the headers it is retried.
func TestUnaryAttemptTimeoutAfterHeaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &server{unary: func(ctx context.Context, n int) error {
			if n == 1 {
				if err := grpc.SendHeader(ctx, metadata.Pairs("processed", "yes")); err != nil {
					return err
				}
				<-ctx.Done()
				return status.FromContextError(ctx.Err()).Err()
			}
			return nil
		}}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithAttemptTimeout(50*time.Millisecond))...)
		start := time.Now()
		_, err := c.UnaryCall(t.Context(), &testgrpc.SimpleRequest{})
		assert.Equal(t, codes.DeadlineExceeded, status.Code(err))
		assert.ErrorIs(t, err, retry.ErrPermanent)
		assert.ErrorContains(t, err, "gRFC A6")
		assert.Equal(t, 50*time.Millisecond, time.Since(start))
		assert.Equal(t, 1, srv.count(unaryMethod))
	})
}
