package grpcx

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/retrykit/retry"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
)

// headThenOK, once go is closed, sends its headers and ends with OK
// without reading.
type headThenOK struct {
	testgrpc.UnimplementedTestServiceServer
	start chan struct{}
}

func (h headThenOK) FullDuplexCall(s testgrpc.TestService_FullDuplexCallServer) error {
	<-h.start
	return s.SendHeader(metadata.Pairs("a", "b"))
}

// TestHedgeStreamLogFreedAfterCommit: a hedged stream (one copy, the hedge
// an hour away) keeps 40 messages of 6 KiB, more than its copy's flow
// control takes; the server sends its headers and ends with OK without
// reading, so the copy's sender stops at io.EOF before the end of the
// log. Once the caller received the end (io.EOF), the kept log (up to
// ReplayLimit bytes per stream) must be freed: the committed stream
// never replays it. It stays referenced by the stream for as long as the
// caller holds it: the sender frees it only when it reaches the log's
// end.
func TestHedgeStreamLogFreedAfterCommit(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gs := grpc.NewServer(grpc.InitialWindowSize(1<<16), grpc.InitialConnWindowSize(1<<16))
	srv := headThenOK{start: make(chan struct{})}
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
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDisableRetry(),
		grpc.WithChainStreamInterceptor(StreamClientInterceptor(Config{Idempotent: func(string) bool { return true }},
			retry.WithBackoff(retry.Constant(0)), retry.WithHedge(time.Hour, 2))))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	desc := &grpc.StreamDesc{StreamName: "FullDuplexCall", ServerStreams: true, ClientStreams: true}
	cs, err := cc.NewStream(t.Context(), desc, "/grpc.testing.TestService/FullDuplexCall")
	require.NoError(t, err)
	hs, ok := cs.(*hedgedStream)
	require.True(t, ok, "a hedged stream: %T", cs)
	for range 40 {
		require.NoError(t, cs.SendMsg(&testgrpc.StreamingOutputCallRequest{Payload: &testgrpc.Payload{Body: []byte(strings.Repeat(".", 6<<10))}}))
	}
	close(srv.start)
	require.ErrorIs(t, cs.RecvMsg(new(testgrpc.StreamingOutputCallResponse)), io.EOF)
	<-hs.won.pumped
	hs.mu.Lock()
	n, size := len(hs.sent), hs.size
	hs.mu.Unlock()
	require.Zero(t, n, "kept messages after the end (%d bytes)", size)
}
