package grpcx_test

import (
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/grpcx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// TestHedgeStreamReplayOverflow: a send that outgrows the replay limit
// binds the stream to the copy to which the most messages were sent (of
// two with as many, the older): the other is cancelled, no further copy
// starts, and the bound copy gets every message and answers.
func TestHedgeStreamReplayOverflow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newCopyLog()
		srv := &server{duplex: duplexBy(l, map[string]func(string, duplexServer) error{
			"":  echoAfterEOF(l),
			"1": echoAfterEOF(l),
		})}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent, ReplayLimit: 20}, append(fast, retry.WithHedge(50*time.Millisecond, 3))...)
		s, err := c.FullDuplexCall(t.Context())
		require.NoError(t, err)
		require.NoError(t, s.Send(body("a")))
		time.Sleep(60 * time.Millisecond) // the hedge starts at 50ms
		require.NoError(t, s.Send(body(strings.Repeat("b", 30))))
		time.Sleep(time.Second) // the third copy would be due at 100ms
		require.NoError(t, s.Send(body("c")))
		require.NoError(t, s.CloseSend())
		m, err := s.Recv()
		require.NoError(t, err)
		assert.Equal(t, "copy : a,"+strings.Repeat("b", 30)+",c", string(m.GetPayload().GetBody()))
		_, err = s.Recv()
		assert.Equal(t, io.EOF, err)
		synctest.Wait()
		started, received, cancelled := l.snapshot()
		assert.Len(t, started, 2)
		assert.Equal(t, []string{"a"}, received["1"])
		assert.Equal(t, map[string]bool{"1": true}, cancelled)
	})
}

// TestHedgeStreamFatalStatus: a copy that fails with a code the call does
// not retry ends the call with it, and cancels the others.
func TestHedgeStreamFatalStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newCopyLog()
		srv := &server{duplex: duplexBy(l, map[string]func(string, duplexServer) error{
			"":  func(c string, s duplexServer) error { return l.hang(c, s) },
			"1": func(string, duplexServer) error { return status.Error(codes.NotFound, "no such thing") },
		})}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithHedge(50*time.Millisecond, 3))...)
		s, err := c.FullDuplexCall(t.Context())
		require.NoError(t, err)
		_, err = s.Recv()
		assert.Equal(t, codes.NotFound, status.Code(err))
		assert.ErrorIs(t, err, retry.ErrPermanent)
		synctest.Wait()
		time.Sleep(time.Second)
		started, _, cancelled := l.snapshot()
		assert.Len(t, started, 2, "no hedge after a fatal status")
		assert.Equal(t, map[string]bool{"": true}, cancelled)
	})
}

// TestHedgeStreamNotIdempotent: a stream not declared idempotent is
// never hedged: a slow one is opened once, and one that fails is not
// sent again (it may have been processed).
func TestHedgeStreamNotIdempotent(t *testing.T) {
	noLeaks(t)
	srv := &server{output: func(n int, _ *testgrpc.StreamingOutputCallRequest, s outputServer) error {
		if n == 1 {
			return status.Error(codes.Unavailable, "lost the backend")
		}
		return s.Send(msg(n, 0))
	}}
	c := serve(t, srv, grpcx.Config{}, append([]retry.Option{retry.WithHedge(0, 3)}, fast...)...)
	s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
	require.NoError(t, err)
	_, err = recvAll(s)
	assert.ErrorIs(t, err, retry.ErrNotIdempotent)
	assert.Equal(t, []string{""}, srv.attempts(), "no hedge, no retry")
}

// TestHedgeStreamLoopback: over 127.0.0.1, a stream whose copies all
// start at once (delay 0): the first never answers and is cancelled, the
// second answers once the first reached the server; the copies carry
// grpc-previous-rpc-attempts "" and "1".
func TestHedgeStreamLoopback(t *testing.T) {
	noLeaks(t)
	arrived, lost := make(chan struct{}), make(chan struct{})
	srv := &server{output: func(n int, _ *testgrpc.StreamingOutputCallRequest, s outputServer) error {
		if copyNumber(s.Context()) == "" {
			close(arrived)
			<-s.Context().Done()
			close(lost)
			return s.Context().Err()
		}
		<-arrived // else the client may commit and cancel the first copy before it reaches the server
		return s.Send(msg(n, 0))
	}}
	c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, append([]retry.Option{retry.WithHedge(0, 2)}, fast...)...)
	s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
	require.NoError(t, err)
	got, err := recvAll(s)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, []string{"", "1"}, sorted(srv.attempts()))
	<-lost // the server sees the loser cancelled
}
