package grpcx_test

import (
	"fmt"
	"testing"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/grpcx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// TestStreamHeadersCommit: response headers commit a stream even when the
// caller has not asked for them: a failure after them is not retried.
func TestStreamHeadersCommit(t *testing.T) {
	noLeaks(t)
	srv := &server{output: func(n int, _ *testgrpc.StreamingOutputCallRequest, s outputServer) error {
		if n == 1 {
			if err := s.SendHeader(nil); err != nil {
				return err
			}
			return status.Error(codes.Unavailable, "lost the backend after the headers")
		}
		return s.Send(msg(n, 0))
	}}
	c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, fast...)
	s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
	require.NoError(t, err)
	got, err := recvAll(s)
	assert.Empty(t, got)
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.Equal(t, 1, srv.count(outputMethod))
}

// TestStreamHeaderTrailerAfterRetry: Header and Trailer are those of the
// attempt that is in use. Before the first response, a failed attempt's
// Header is nil (as grpc-go's); RecvMsg retries, and Header then returns
// the new attempt's headers.
func TestStreamHeaderTrailerAfterRetry(t *testing.T) {
	noLeaks(t)
	srv := &server{output: func(n int, _ *testgrpc.StreamingOutputCallRequest, s outputServer) error {
		if n == 1 {
			return status.Error(codes.Unavailable, "lost the backend")
		}
		if err := s.SendHeader(metadata.Pairs("attempt", fmt.Sprint(n))); err != nil {
			return err
		}
		s.SetTrailer(metadata.Pairs("done", fmt.Sprint(n)))
		return s.Send(msg(n, 0))
	}}
	c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, fast...)
	s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
	require.NoError(t, err)
	md, err := s.Header()
	require.NoError(t, err)
	assert.Nil(t, md, "the first attempt failed without headers")
	got, err := recvAll(s)
	require.NoError(t, err)
	assert.Equal(t, []string{"2.0"}, got)
	md, err = s.Header()
	require.NoError(t, err)
	assert.Equal(t, []string{"2"}, md.Get("attempt"))
	assert.Equal(t, []string{"2"}, s.Trailer().Get("done"))
	assert.NotNil(t, s.Context())
}

// TestStreamHeadersCommitRetriedAttempt: headers commit a retried attempt
// as they commit the first: a failure after them is not retried again.
func TestStreamHeadersCommitRetriedAttempt(t *testing.T) {
	noLeaks(t)
	srv := &server{output: func(n int, _ *testgrpc.StreamingOutputCallRequest, s outputServer) error {
		switch n {
		case 1:
			return status.Error(codes.Unavailable, "down, no headers")
		case 2:
			if err := s.SendHeader(nil); err != nil {
				return err
			}
			return status.Error(codes.Unavailable, "lost the backend after the headers")
		}
		return s.Send(msg(n, 0))
	}}
	c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, fast...)
	s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
	require.NoError(t, err)
	got, err := recvAll(s)
	assert.Empty(t, got)
	assert.ErrorContains(t, err, "after the headers")
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.Equal(t, 2, srv.count(outputMethod))
}

// TestStreamHeaderCommits: headers the caller receives from Header commit
// the stream at once: the policy hears of its success then (a budget gets
// its deposit), not at the first message.
func TestStreamHeaderCommits(t *testing.T) {
	noLeaks(t)
	b, err := retry.NewBudget(retry.BudgetConfig{Capacity: 10, PerSuccess: 1, RetryCost: 1})
	require.NoError(t, err)
	release := make(chan struct{})
	srv := &server{unary: failFirst(2, codes.Unavailable), output: func(n int, _ *testgrpc.StreamingOutputCallRequest, s outputServer) error {
		if err := s.SendHeader(metadata.Pairs("attempt", fmt.Sprint(n))); err != nil {
			return err
		}
		<-release
		return s.Send(msg(n, 0))
	}}
	c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithBudget(b))...)
	_, err = c.UnaryCall(t.Context(), &testgrpc.SimpleRequest{})
	require.NoError(t, err)
	require.InDelta(t, 9, b.Tokens(), 1e-9)
	s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
	require.NoError(t, err)
	md, err := s.Header()
	require.NoError(t, err)
	assert.Equal(t, []string{"1"}, md.Get("attempt"))
	assert.InDelta(t, 10, b.Tokens(), 1e-9, "the headers committed the stream")
	close(release)
	got, err := recvAll(s)
	require.NoError(t, err)
	assert.Equal(t, []string{"1.0"}, got)
	assert.InDelta(t, 10, b.Tokens(), 1e-9, "one deposit per stream")
}
