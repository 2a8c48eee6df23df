package grpcx_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/grpcx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
)

// listenWindow is listen with the server's flow-control windows fixed at
// 64 KiB (which turns grpc-go's dynamic window off): a handler that does
// not read stops its stream's upload after about that much.
func listenWindow(t *testing.T, srv *server) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gs := grpc.NewServer(grpc.InitialWindowSize(1<<16), grpc.InitialConnWindowSize(1<<16))
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
	return lis.Addr().String()
}

// TestHedgeStreamSlowCopyStallsNoHedge: the first copy's server stops
// reading (the slow server hedging is for); the caller uploads 240 KB,
// within the replay limit. The first copy's flow control fills, but each
// copy has a sender of its own: the caller's sends return, the hedge,
// admitted at 50ms, receives every message and answers, and wins. (Before
// the senders, SendMsg sent to each copy in turn under a lock that a new
// copy's replay took too: the call waited for its deadline.)
func TestHedgeStreamSlowCopyStallsNoHedge(t *testing.T) {
	noLeaks(t)
	l := newCopyLog()
	srv := &server{duplex: duplexBy(l, map[string]func(string, duplexServer) error{
		"":  func(c string, s duplexServer) error { return l.hang(c, s) }, // reads nothing
		"1": echoAfterEOF(l),
	})}
	cc := dial(t, listenWindow(t, srv), interceptors(grpcx.Config{Idempotent: idempotent},
		append(fast, retry.WithHedge(50*time.Millisecond, 2)))...)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second) // a bound, not a timing assert
	defer cancel()
	s, err := testgrpc.NewTestServiceClient(cc).FullDuplexCall(ctx)
	require.NoError(t, err)
	chunk := string(bytes.Repeat([]byte("x"), 20_000))
	sendErr := error(nil)
	for range 12 { // 240 KB < DefaultReplayLimit (256 KiB)
		if sendErr = s.Send(body(chunk)); sendErr != nil {
			break
		}
	}
	if sendErr == nil {
		sendErr = s.CloseSend()
	}
	m, err := s.Recv()
	require.NoError(t, err, "the hedge's answer (send error: %v)", sendErr)
	assert.Contains(t, string(m.GetPayload().GetBody()), "copy 1: ")
}

// TestHedgeStreamSlowHedgeStallsNoCopy, the mirror case: the hedge's
// server stops reading, the first copy's reads everything. Once the hedge
// is open, the caller uploads 240 KB: the hedge's flow control fills, and
// the first copy still receives every message, answers and wins. (Before
// each copy had its sender, a send to the stalled hedge held up the
// others: the call waited for its deadline.)
func TestHedgeStreamSlowHedgeStallsNoCopy(t *testing.T) {
	noLeaks(t)
	l := newCopyLog()
	hedged := make(chan struct{})
	srv := &server{duplex: duplexBy(l, map[string]func(string, duplexServer) error{
		"": echoAfterEOF(l),
		"1": func(c string, s duplexServer) error {
			close(hedged)
			return l.hang(c, s) // reads nothing
		},
	})}
	cc := dial(t, listenWindow(t, srv), interceptors(grpcx.Config{Idempotent: idempotent},
		append(fast, retry.WithHedge(10*time.Millisecond, 2)))...)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second) // a bound, not a timing assert
	defer cancel()
	s, err := testgrpc.NewTestServiceClient(cc).FullDuplexCall(ctx)
	require.NoError(t, err)
	require.NoError(t, s.Send(body("first")))
	<-hedged
	chunk := string(bytes.Repeat([]byte("x"), 20_000))
	for range 12 { // 240 KB < DefaultReplayLimit (256 KiB)
		require.NoError(t, s.Send(body(chunk)))
	}
	require.NoError(t, s.CloseSend())
	m, err := s.Recv()
	require.NoError(t, err, "the first copy's answer")
	assert.True(t, strings.HasPrefix(string(m.GetPayload().GetBody()), "copy : first,x"))
	_, received, _ := l.snapshot()
	assert.Len(t, received[""], 13)
}
