package grpcx_test

// Review of branch gfix (rev-gfix): the hedged stream's per-copy senders.

import (
	"context"
	"strconv"
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
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// boomStream is a stream whose SendMsg panics on a message "boom", as a
// buggy inner interceptor's would.
type boomStream struct{ grpc.ClientStream }

func (b boomStream) SendMsg(m any) error {
	if r, ok := m.(*testgrpc.StreamingOutputCallRequest); ok && string(r.GetPayload().GetBody()) == "boom" {
		panic("send panics")
	}
	return b.ClientStream.SendMsg(m)
}

// TestReviewGfixOnFinishAfterPanicAfterCommit: one copy (the hedge is an hour
// away); its server's flow-control window is 64 KiB and it reads nothing
// until told. The caller sends 40 messages of 6 KiB (kept: SendMsg
// returns at once; the sender stalls on flow control and write quota after ~21), the
// server then sends its headers (the stream commits, the driver has no
// copy left to report and returns), and then reads: the sender, replaying
// the kept messages to the winner, meets the 39th, on which an inner
// interceptor panics. The caller's Recv panics (as
// TestReviewGfixSenderPanicAfterCommit checks); the caller's grpc.OnFinish
// must still run, once (grpc-go promises it once per RPC; panicEnd's doc
// says OnFinish sees the panic's end).
func TestReviewGfixOnFinishAfterPanicAfterCommit(t *testing.T) {
	noLeaks(t)
	head, read := make(chan struct{}), make(chan struct{})
	srv := &server{duplex: func(_ int, s duplexServer) error {
		<-head
		if err := s.SendHeader(metadata.Pairs("a", "b")); err != nil {
			return err
		}
		<-read
		for {
			if _, err := s.Recv(); err != nil {
				return nil
			}
		}
	}}
	inner := func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		cs, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			return nil, err
		}
		return boomStream{cs}, nil
	}
	cc := dial(t, listenWindow(t, srv), grpc.WithChainStreamInterceptor(
		grpcx.StreamClientInterceptor(grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithHedge(time.Hour, 2))...), inner))
	c := testgrpc.NewTestServiceClient(cc)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	finished := make(chan error, 2)
	s, err := c.FullDuplexCall(ctx, grpc.OnFinish(func(err error) { finished <- err }))
	require.NoError(t, err)
	for i := range 40 {
		b := strconv.Itoa(i) + strings.Repeat(".", 6<<10)
		if i == 38 {
			b = "boom"
		}
		require.NoError(t, s.Send(body(b)))
	}
	close(head)
	_, err = s.Header()
	require.NoError(t, err)
	close(read)
	got := make(chan any, 1)
	go func() {
		defer func() { got <- recover() }()
		_, err := s.Recv()
		t.Errorf("Recv returned %v", err)
	}()
	select {
	case v := <-got:
		assert.Equal(t, "send panics", v)
	case <-time.After(5 * time.Second): // a hang: no virtual time on a real server
		t.Fatal("Recv hangs")
	}
	cancel()
	select {
	case <-finished:
	case <-time.After(5 * time.Second): // a bound on a hang, not a timing assert
		t.Fatal("grpc.OnFinish never ran")
	}
	assert.Empty(t, finished, "OnFinish ran twice")
}

// TestReviewGfixContextEndsWithStream: grpc-go's stream context ends when
// the stream finishes (clientStream.finish cancels it), so a caller may
// wait on Context().Done() for the stream's end. A stream whose every
// copy fails (INTERNAL, not retried) ends without a commit: once Recv
// returned that error, Context() must be done, hedged as not. The hedged
// stream returns the caller's context then (with a peer), which never
// ends.
func TestReviewGfixContextEndsWithStream(t *testing.T) {
	noLeaks(t)
	srv := &server{duplex: func(int, duplexServer) error { return status.Error(codes.Internal, "no") }}
	for name, opts := range map[string][]retry.Option{
		"plain":  fast,
		"hedged": append(fast, retry.WithHedge(time.Hour, 2)),
	} {
		t.Run(name, func(t *testing.T) {
			c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, opts...)
			s, err := c.FullDuplexCall(t.Context())
			require.NoError(t, err)
			_, err = s.Recv()
			require.Equal(t, codes.Internal, status.Code(err))
			assert.Error(t, s.Context().Err(), "the stream ended: its context too")
		})
	}
}
