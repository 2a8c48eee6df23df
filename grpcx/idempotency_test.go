package grpcx_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/grpcx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// TestBreakerOpensForNonIdempotent: a server that is down opens a breaker
// whether or not the method is idempotent: a retryable failure that is
// not retried only because the call may have been processed is a failure.
func TestBreakerOpensForNonIdempotent(t *testing.T) {
	noLeaks(t)
	br, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 3, RecoveryTimeout: time.Hour})
	require.NoError(t, err)
	srv := &server{empty: failFirst(1<<30, codes.Unavailable), output: failOutput(1<<30, codes.Unavailable)}
	c := serve(t, srv, grpcx.Config{}, append(fast, retry.WithBreaker(br))...)
	for range 2 {
		_, err = c.EmptyCall(t.Context(), &testgrpc.Empty{})
		assert.ErrorIs(t, err, retry.ErrNotIdempotent)
	}
	s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
	require.NoError(t, err)
	_, err = s.Recv()
	assert.ErrorIs(t, err, retry.ErrNotIdempotent)
	assert.Equal(t, retry.BreakerOpen, br.State())
	_, err = c.EmptyCall(t.Context(), &testgrpc.Empty{})
	assert.ErrorIs(t, err, retry.ErrCircuitOpen)
	assert.Equal(t, 2, srv.count(emptyMethod))
	assert.Equal(t, 1, srv.count(outputMethod))
}

// TestIdempotentPredicates: a valid Methods list, and predicates of the
// caller's own (one that is true for every name included), are valid.
func TestIdempotentPredicates(t *testing.T) {
	noLeaks(t)
	for name, pred := range map[string]func(string) bool{
		"Methods":     grpcx.Methods(emptyMethod),
		"every name":  func(string) bool { return true },
		"by a prefix": func(m string) bool { return strings.HasPrefix(m, "/grpc.testing.TestService/") },
	} {
		t.Run(name, func(t *testing.T) {
			srv := &server{empty: failFirst(1, codes.Unavailable)}
			c := serve(t, srv, grpcx.Config{Idempotent: pred}, fast...)
			_, err := c.EmptyCall(t.Context(), &testgrpc.Empty{})
			require.NoError(t, err)
			assert.Equal(t, 2, srv.count(emptyMethod), "idempotent: retried")
		})
	}
}

// TestIdempotentCall: IdempotentCall declares one call idempotent: a
// method Config.Idempotent does not name is then retried on UNAVAILABLE,
// unary or streaming; the same call without it is not.
func TestIdempotentCall(t *testing.T) {
	noLeaks(t)
	srv := &server{empty: failFirst(1, codes.Unavailable), output: failOutput(1, codes.Unavailable)}
	c := serve(t, srv, grpcx.Config{}, fast...)

	_, err := c.EmptyCall(t.Context(), &testgrpc.Empty{}, grpcx.IdempotentCall())
	require.NoError(t, err)
	assert.Equal(t, 2, srv.count(emptyMethod))
	s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{}, grpcx.IdempotentCall())
	require.NoError(t, err)
	_, err = recvAll(s)
	require.NoError(t, err)
	assert.Equal(t, 2, srv.count(outputMethod))

	srv.reset()
	_, err = c.EmptyCall(t.Context(), &testgrpc.Empty{})
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.Equal(t, 1, srv.count(emptyMethod))
	s, err = c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
	require.NoError(t, err)
	_, err = recvAll(s)
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.Equal(t, 1, srv.count(outputMethod))
}

// TestRefusalSaysWhy: with a zero Config, UNAVAILABLE (or ABORTED) on a
// method not declared idempotent ends the call after one attempt with its
// own reason, not the words of a final status such as NOT_FOUND, and a
// message naming the method and what would allow the retry; for a unary
// call and a stream.
func TestRefusalSaysWhy(t *testing.T) {
	for name, tc := range map[string]struct {
		code   codes.Code
		stream bool
		method string
	}{
		"unary UNAVAILABLE":  {codes.Unavailable, false, emptyMethod},
		"unary ABORTED":      {codes.Aborted, false, emptyMethod},
		"stream UNAVAILABLE": {codes.Unavailable, true, outputMethod},
	} {
		t.Run(name, func(t *testing.T) {
			noLeaks(t)
			srv := &server{empty: failFirst(1, tc.code), output: failOutput(1, tc.code)}
			c := serve(t, srv, grpcx.Config{}, fast...)
			var err error
			if tc.stream {
				var s grpc.ServerStreamingClient[testgrpc.StreamingOutputCallResponse]
				s, err = c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
				require.NoError(t, err)
				_, err = s.Recv()
			} else {
				_, err = c.EmptyCall(t.Context(), &testgrpc.Empty{})
			}
			assert.Equal(t, 1, srv.count(tc.method))
			assert.Equal(t, tc.code, status.Code(err))
			assert.ErrorIs(t, err, retry.ErrNotIdempotent)
			assert.False(t, errors.Is(err, retry.ErrPermanent), "not the reason of a final status")
			assert.Equal(t, "not_idempotent", retry.ReasonOf(err))
			assert.ErrorContains(t, err, retry.ErrNotIdempotent.Error()+" after 1 attempt: grpcx: not retried: the server may have processed the call")
			assert.NotContains(t, err.Error(), "permanent")
			for _, allow := range []string{tc.method + " is not declared idempotent", "grpcx.Config.Idempotent",
				fmt.Sprintf("grpcx.Methods(%q)", tc.method), "grpcx.IdempotentCall()"} {
				assert.ErrorContains(t, err, allow)
			}
		})
	}
}
