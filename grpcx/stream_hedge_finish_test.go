package grpcx_test

// How a hedged stream finishes: a panic of its winner's sender after the
// commit reaches the caller and still runs grpc.OnFinish; its context
// ends with the stream, as grpc-go's does.

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

// panicAfterCommit runs a hedged stream (one copy: the hedge is an hour
// away) whose server's flow-control window is 64 KiB and which reads
// nothing until told. The caller sends 40 messages of 6 KiB (kept:
// SendMsg returns at once; the sender stalls on flow control and write
// quota after ~21), the server then sends its headers (the stream
// commits, the driver has no copy left to report and returns), and then
// reads: the sender, replaying the kept messages to the winner, meets the
// 39th, on which an inner interceptor panics. The caller's Recv must
// panic with the value: it neither hangs nor returns. It returns the
// cancel of the stream's context.
func panicAfterCommit(t *testing.T, opts ...grpc.CallOption) context.CancelFunc {
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
	t.Cleanup(cancel)
	s, err := c.FullDuplexCall(ctx, opts...)
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
	return cancel
}

// TestHedgeStreamSenderPanicAfterCommit: an inner interceptor panics in
// SendMsg on the winner's sender goroutine after the commit, while the
// kept messages are replayed to it: the caller's Recv panics with the
// value (see panicAfterCommit).
func TestHedgeStreamSenderPanicAfterCommit(t *testing.T) {
	noLeaks(t)
	panicAfterCommit(t)
}

// TestHedgeStreamOnFinishAfterSenderPanic: after that panic reached the
// caller's Recv, the caller's grpc.OnFinish still runs, once (grpc-go
// promises it once per RPC), with the panic's end, and the caller's
// grpc.Header option is filled with the winner's headers.
func TestHedgeStreamOnFinishAfterSenderPanic(t *testing.T) {
	noLeaks(t)
	finished := make(chan error, 2)
	var md metadata.MD
	cancel := panicAfterCommit(t, grpc.OnFinish(func(err error) { finished <- err }), grpc.Header(&md))
	cancel()
	select {
	case err := <-finished:
		assert.Error(t, err, "the stream panicked: no success")
	case <-time.After(5 * time.Second): // a bound on a hang, not a timing assert
		t.Fatal("grpc.OnFinish never ran")
	}
	assert.Empty(t, finished, "OnFinish ran twice")
	assert.Equal(t, []string{"b"}, md.Get("a"), "the winner's headers")
}

// TestStreamContextEndsWithStream: grpc-go's stream context ends when
// the stream finishes (clientStream.finish cancels it), so a caller may
// wait on Context().Done() for the stream's end. A stream whose every
// copy fails (INTERNAL, not retried) ends without a commit: once Recv
// returned that error, Context() is done, hedged as not; the caller's
// own context goes on.
func TestStreamContextEndsWithStream(t *testing.T) {
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
			assert.NoError(t, t.Context().Err(), "the caller's context goes on")
		})
	}
}
