package grpcx_test

import (
	"context"
	"fmt"
	"strconv"
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

// TestUnaryAfterHeaders: unlike a stream (and unlike gRFC A6), a unary
// call that fails after its response headers is retried when it is
// declared idempotent: nothing of the failed attempt reached the caller,
// and the method is safe to repeat. A call not declared idempotent stops
// with ErrNotIdempotent (a breaker failure), its message saying the
// server answered with headers; a hint after the headers does not make it
// retryable. A final status after headers stays final (ErrPermanent, a
// breaker success). A trailers-only refusal with a pushback is still
// retried for any method. Against a grpc-go server on 127.0.0.1.
func TestUnaryAfterHeaders(t *testing.T) {
	pushbackZero := metadata.Pairs("grpc-retry-pushback-ms", "0")
	for name, tc := range map[string]struct {
		handler  func(context.Context, int) error
		call     func(testgrpc.TestServiceClient, context.Context, ...grpc.CallOption) error
		method   string
		calls    int   // server calls
		reason   error // nil: the call succeeds
		failures int   // the breaker's failures afterwards: each failed attempt but a final status
	}{
		"idempotent, UNAVAILABLE after headers":             {headersThenFail(codes.Unavailable, nil), unaryCall, unaryMethod, 2, nil, 1},
		"idempotent, RESOURCE_EXHAUSTED after headers":      {headersThenFail(codes.ResourceExhausted, nil), unaryCall, unaryMethod, 2, nil, 1},
		"idempotent, pushback after headers":                {headersThenFail(codes.Unavailable, pushbackZero), unaryCall, unaryMethod, 2, nil, 1},
		"IdempotentCall, UNAVAILABLE after headers":         {headersThenFail(codes.Unavailable, nil), idempotentEmptyCall, emptyMethod, 2, nil, 1},
		"not idempotent, UNAVAILABLE after headers":         {headersThenFail(codes.Unavailable, nil), emptyCall, emptyMethod, 1, retry.ErrNotIdempotent, 1},
		"not idempotent, pushback after headers":            {headersThenFail(codes.Unavailable, pushbackZero), emptyCall, emptyMethod, 1, retry.ErrNotIdempotent, 1},
		"not idempotent, trailers-only pushback: retried":   {pushback(1, codes.Unavailable, "0"), emptyCall, emptyMethod, 2, nil, 1},
		"idempotent, NOT_FOUND after headers: final":        {headersThenFail(codes.NotFound, nil), unaryCall, unaryMethod, 1, retry.ErrPermanent, 0},
		"not idempotent, NOT_FOUND after headers: final":    {headersThenFail(codes.NotFound, nil), emptyCall, emptyMethod, 1, retry.ErrPermanent, 0},
		"idempotent, negative pushback after headers: stop": {headersThenFail(codes.Unavailable, metadata.Pairs("grpc-retry-pushback-ms", "-1")), unaryCall, unaryMethod, 1, retry.ErrPermanent, 0},
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
			assert.Equal(t, tc.failures, int(br.Stats().Failures))
			if tc.reason == nil {
				require.NoError(t, err)
				assert.Empty(t, header.Get("processed"), "the failed attempt's headers do not reach the caller")
				return
			}
			assert.ErrorIs(t, err, tc.reason)
			assert.NotEqual(t, codes.OK, status.Code(err), "the status is kept")
			assert.Equal(t, []string{"yes"}, header.Get("processed"), "the caller's own Header option gets the last attempt's")
			if tc.reason == retry.ErrNotIdempotent {
				for _, want := range []string{"the server answered with response headers, so it may have processed the call",
					emptyMethod + " is not declared idempotent", fmt.Sprintf("grpcx.Methods(%q)", emptyMethod), "grpcx.IdempotentCall()"} {
					assert.ErrorContains(t, err, want)
				}
			}
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

func idempotentEmptyCall(c testgrpc.TestServiceClient, ctx context.Context, opts ...grpc.CallOption) error {
	return emptyCall(c, ctx, append(opts, grpcx.IdempotentCall())...)
}

// TestUnaryAfterHeadersTripsBreaker: a server that sends headers and then
// fails, or hangs until the policy's attempt timeout, opens a breaker
// (FailureThreshold 1): its failures count, for an idempotent method
// (retried, then exhausted or refused by the open breaker) as for one
// that is not (refused at once), in virtual time.
func TestUnaryAfterHeadersTripsBreaker(t *testing.T) {
	for name, tc := range map[string]struct {
		block  bool
		call   func(testgrpc.TestServiceClient, context.Context, ...grpc.CallOption) error
		method string
	}{
		"idempotent, UNAVAILABLE":     {false, unaryCall, unaryMethod},
		"idempotent, hangs":           {true, unaryCall, unaryMethod},
		"not idempotent, UNAVAILABLE": {false, emptyCall, emptyMethod},
		"not idempotent, hangs":       {true, emptyCall, emptyMethod},
		"IdempotentCall, UNAVAILABLE": {false, idempotentEmptyCall, emptyMethod},
		"IdempotentCall, hangs":       {true, idempotentEmptyCall, emptyMethod},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				handler := func(ctx context.Context, _ int) error {
					if err := grpc.SendHeader(ctx, metadata.Pairs("processed", "yes")); err != nil {
						return err
					}
					if tc.block {
						<-ctx.Done()
						return status.FromContextError(ctx.Err()).Err()
					}
					return status.Error(codes.Unavailable, "did the work, then failed")
				}
				br, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Hour})
				require.NoError(t, err)
				srv := &server{unary: handler, empty: handler}
				c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent},
					append(fast, retry.WithBreaker(br), retry.WithAttemptTimeout(50*time.Millisecond))...)
				for range 6 {
					assert.Error(t, tc.call(c, t.Context()))
				}
				assert.Equal(t, retry.BreakerOpen, br.State())
				assert.Equal(t, 1, srv.count(tc.method), "the breaker opened after the first failed attempt")
			})
		})
	}
}

// TestUnaryHeadersOfTheLastAttempt: the caller's grpc.Header and
// grpc.Trailer call options get the metadata of the call's last attempt
// only: a retried attempt's never reach them, neither when a later
// attempt succeeds nor when the last attempt never reached a transport
// stream (here refused by an interceptor nearer the connection), where
// grpc-go leaves them as they were.
func TestUnaryHeadersOfTheLastAttempt(t *testing.T) {
	for name, tc := range map[string]struct {
		refuseSecond bool
		header       []string // "attempt" in the caller's header
		trailer      []string
	}{
		"the second attempt succeeds":  {false, []string{"2"}, []string{"2"}},
		"the second attempt never ran": {true, nil, nil},
	} {
		t.Run(name, func(t *testing.T) {
			noLeaks(t)
			srv := &server{unary: func(ctx context.Context, n int) error {
				if err := grpc.SendHeader(ctx, metadata.Pairs("attempt", strconv.Itoa(n))); err != nil {
					return err
				}
				_ = grpc.SetTrailer(ctx, metadata.Pairs("attempt", strconv.Itoa(n)))
				if n == 1 {
					return status.Error(codes.Unavailable, "did the work, then failed")
				}
				return nil
			}}
			inner := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
				md, _ := metadata.FromOutgoingContext(ctx)
				if tc.refuseSecond && len(md.Get("grpc-previous-rpc-attempts")) > 0 {
					return status.Error(codes.Unavailable, "refused before a stream")
				}
				return invoker(ctx, method, req, reply, cc, opts...)
			}
			cc := dial(t, listen(t, srv), grpc.WithChainUnaryInterceptor(
				grpcx.UnaryClientInterceptor(grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithMaxAttempts(2))...), inner))
			var header, trailer metadata.MD
			_, err := testgrpc.NewTestServiceClient(cc).UnaryCall(t.Context(), &testgrpc.SimpleRequest{},
				grpc.Header(&header), grpc.Trailer(&trailer))
			if tc.refuseSecond {
				assert.ErrorContains(t, err, "refused before a stream")
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, 2, srv.count(unaryMethod)+boolInt(tc.refuseSecond))
			assert.Equal(t, tc.header, header.Get("attempt"))
			assert.Equal(t, tc.trailer, trailer.Get("attempt"))
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestUnaryAttemptTimeoutAfterHeaders: the policy's attempt timeout bounds
// a whole unary attempt (grpc-go gives an interceptor no way to lift it
// at the headers, as a stream does). When it fires after response
// headers, an idempotent call is retried; one not declared idempotent
// stops with ErrNotIdempotent, with the DEADLINE_EXCEEDED of the timeout.
func TestUnaryAttemptTimeoutAfterHeaders(t *testing.T) {
	for name, tc := range map[string]struct {
		call   func(testgrpc.TestServiceClient, context.Context, ...grpc.CallOption) error
		method string
		calls  int
	}{
		"idempotent":     {unaryCall, unaryMethod, 2},
		"not idempotent": {emptyCall, emptyMethod, 1},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				handler := func(ctx context.Context, n int) error {
					if n == 1 {
						if err := grpc.SendHeader(ctx, metadata.Pairs("processed", "yes")); err != nil {
							return err
						}
						<-ctx.Done()
						return status.FromContextError(ctx.Err()).Err()
					}
					return nil
				}
				srv := &server{unary: handler, empty: handler}
				c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithAttemptTimeout(50*time.Millisecond))...)
				start := time.Now()
				err := tc.call(c, t.Context())
				assert.Equal(t, 50*time.Millisecond, time.Since(start))
				assert.Equal(t, tc.calls, srv.count(tc.method))
				if tc.calls == 2 {
					require.NoError(t, err)
					return
				}
				assert.Equal(t, codes.DeadlineExceeded, status.Code(err))
				assert.ErrorIs(t, err, retry.ErrNotIdempotent)
				assert.ErrorContains(t, err, "the server answered with response headers")
			})
		})
	}
}
