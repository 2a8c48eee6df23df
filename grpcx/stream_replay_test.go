package grpcx_test

import (
	"fmt"
	"io"
	"sync"
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
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// TestClientStreamReplay: a client stream that fails before its response
// is sent again, every message included, while the messages fit the
// replay limit; beyond it, the failure reaches the caller.
func TestClientStreamReplay(t *testing.T) {
	for name, tc := range map[string]struct {
		limit int
		code  codes.Code
		calls int
	}{
		"within the limit": {0, codes.OK, 2},
		"beyond the limit": {250, codes.Unavailable, 1},
	} {
		t.Run(name, func(t *testing.T) {
			noLeaks(t)
			srv := &server{input: sumInput}
			c := serve(t, srv, grpcx.Config{Idempotent: idempotent, ReplayLimit: tc.limit}, fast...)
			s, err := c.StreamingInputCall(t.Context())
			require.NoError(t, err)
			body := make([]byte, 100)
			for i := range 3 {
				body[0] = byte(i)
				require.NoError(t, s.Send(&testgrpc.StreamingInputCallRequest{Payload: &testgrpc.Payload{Body: body}}))
			}
			resp, err := s.CloseAndRecv()
			assert.Equal(t, tc.code, status.Code(err))
			assert.Equal(t, tc.calls, srv.count(inputMethod))
			if err == nil {
				assert.EqualValues(t, 300, resp.GetAggregatedPayloadSize())
			}
		})
	}
}

// TestBidiRetryBeforeFirstResponse: a bidirectional stream whose sender
// and receiver run on two goroutines is retried, with its sent messages
// replayed in order, when it fails before its first response; once a
// response arrived, a failure reaches the caller.
func TestBidiRetryBeforeFirstResponse(t *testing.T) {
	noLeaks(t)
	var mu sync.Mutex
	var seen [][]string
	srv := &server{duplex: func(n int, s duplexServer) error {
		var got []string
		for {
			m, err := s.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			got = append(got, string(m.GetPayload().GetBody()))
		}
		mu.Lock()
		seen = append(seen, got)
		mu.Unlock()
		switch n {
		case 1:
			return status.Error(codes.Unavailable, "lost the backend")
		case 2:
			if err := s.Send(msg(n, len(got))); err != nil {
				return err
			}
			return status.Error(codes.Unavailable, "lost it again, after a response")
		}
		return nil
	}}
	c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, fast...)
	s, err := c.FullDuplexCall(t.Context())
	require.NoError(t, err)
	sent := make(chan error, 1)
	go func() {
		defer close(sent)
		for i := range 20 {
			if err := s.Send(&testgrpc.StreamingOutputCallRequest{Payload: &testgrpc.Payload{Body: fmt.Appendf(nil, "%d", i)}}); err != nil {
				sent <- err
				return
			}
		}
		sent <- s.CloseSend()
	}()
	m, err := s.Recv()
	require.NoError(t, err)
	assert.Equal(t, "2.20", string(m.GetPayload().GetBody()))
	_, err = s.Recv()
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.ErrorContains(t, err, "after a response")
	require.NoError(t, <-sent)
	assert.Equal(t, 2, srv.count(duplexMethod))
	want := make([]string, 20)
	for i := range want {
		want[i] = fmt.Sprint(i)
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, 2)
	assert.Equal(t, want, seen[1], "the retry sees every message, in order")
}

// TestClientStreamFailsWhileSending: the server fails a client stream at
// once, while the caller is still sending more than the stream's flow
// control window; the sends that find the stream gone are kept and return
// nil, and the retry sends every message, in order.
func TestClientStreamFailsWhileSending(t *testing.T) {
	noLeaks(t)
	const n, size = 2000, 1000
	srv := &server{input: func(call int, s inputServer) error {
		if call == 1 {
			return status.Error(codes.Unavailable, "not now")
		}
		return sumInput(call, s)
	}}
	c := serve(t, srv, grpcx.Config{Idempotent: idempotent, ReplayLimit: 4 << 20}, fast...)
	s, err := c.StreamingInputCall(t.Context())
	require.NoError(t, err)
	body := make([]byte, size)
	for range n {
		require.NoError(t, s.Send(&testgrpc.StreamingInputCallRequest{Payload: &testgrpc.Payload{Body: body}}))
	}
	resp, err := s.CloseAndRecv()
	require.NoError(t, err)
	assert.EqualValues(t, n*size, resp.GetAggregatedPayloadSize())
	assert.Equal(t, 2, srv.count(inputMethod))
}

// TestBidiNotReplayedAfterFinal: a sender that outgrows the replay limit
// while the receiver waits to retry makes the stream final; the retry
// then stops with the failure instead of opening an attempt that would
// replay nothing of what SendMsg accepted.
func TestBidiNotReplayedAfterFinal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &server{duplex: func(n int, s duplexServer) error {
			if n == 1 {
				return status.Error(codes.Unavailable, "down")
			}
			for {
				if _, err := s.Recv(); err != nil {
					return s.Send(msg(n, 0))
				}
			}
		}}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent, ReplayLimit: 100},
			retry.WithBackoff(retry.Constant(time.Second)), retry.WithJitter(retry.NoJitter))
		s, err := c.FullDuplexCall(t.Context())
		require.NoError(t, err)
		require.NoError(t, s.Send(&testgrpc.StreamingOutputCallRequest{Payload: &testgrpc.Payload{Body: []byte("a")}}))
		got := make(chan error, 1)
		go func() { _, err := s.Recv(); got <- err }()
		time.Sleep(100 * time.Millisecond) // the receiver is in its 1s wait
		synctest.Wait()
		err = s.Send(&testgrpc.StreamingOutputCallRequest{Payload: &testgrpc.Payload{Body: make([]byte, 200)}})
		assert.Equal(t, io.EOF, err, "the attempt is gone and the message cannot be kept")
		require.NoError(t, s.CloseSend())
		err = <-got
		assert.ErrorIs(t, err, retry.ErrNotIdempotent)
		assert.ErrorContains(t, err, "the stream cannot be sent again: its sent messages outgrew the replay limit (Config.ReplayLimit, 100 bytes)")
		assert.Equal(t, codes.Unavailable, status.Code(err))
		assert.Equal(t, 1, srv.count(duplexMethod))
	})
}

// TestBidiConcurrentHeaderSendRecv: a sender, a receiver and a third
// goroutine asking for Header and Context, on streams that fail before
// their first response and are retried: every retry replays every
// message, in order (run with -race).
func TestBidiConcurrentHeaderSendRecv(t *testing.T) {
	noLeaks(t)
	srv := &server{duplex: func(n int, s duplexServer) error {
		if n%3 != 0 {
			if n%2 == 0 {
				_, _ = s.Recv()
			}
			return status.Error(codes.Unavailable, "down")
		}
		var got int
		for {
			if _, err := s.Recv(); err == io.EOF {
				break
			} else if err != nil {
				return err
			}
			got++
		}
		return s.Send(msg(n, got))
	}}
	c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, fast...)
	for i := range 20 {
		s, err := c.FullDuplexCall(t.Context())
		require.NoError(t, err)
		var wg sync.WaitGroup
		wg.Go(func() {
			for j := range 50 {
				_ = s.Send(&testgrpc.StreamingOutputCallRequest{Payload: &testgrpc.Payload{Body: fmt.Appendf(nil, "%d", j)}})
			}
			_ = s.CloseSend()
		})
		wg.Go(func() {
			_, _ = s.Header()
			_ = s.Context()
		})
		m, err := s.Recv()
		wg.Wait()
		require.NoError(t, err, "iteration %d", i)
		assert.Contains(t, string(m.GetPayload().GetBody()), ".50", "iteration %d", i)
		_, err = s.Recv()
		assert.Equal(t, io.EOF, err)
	}
}

// TestReplayLimitBoundary: messages whose encoded size is exactly the
// replay limit are kept and replayed; one byte less and they are not.
func TestReplayLimitBoundary(t *testing.T) {
	req := &testgrpc.StreamingInputCallRequest{Payload: &testgrpc.Payload{Body: make([]byte, 100)}}
	total := 3 * proto.Size(req)
	for name, tc := range map[string]struct {
		limit int
		code  codes.Code
		calls int
	}{
		"exactly the limit":       {total, codes.OK, 2},
		"one byte over the limit": {total - 1, codes.Unavailable, 1},
	} {
		t.Run(name, func(t *testing.T) {
			noLeaks(t)
			srv := &server{input: sumInput}
			c := serve(t, srv, grpcx.Config{Idempotent: idempotent, ReplayLimit: tc.limit}, fast...)
			s, err := c.StreamingInputCall(t.Context())
			require.NoError(t, err)
			for range 3 {
				require.NoError(t, s.Send(req))
			}
			_, err = s.CloseAndRecv()
			assert.Equal(t, tc.code, status.Code(err))
			assert.Equal(t, tc.calls, srv.count(inputMethod))
		})
	}
}

// rawCodec is the proto codec that also sends a []byte as it is: the
// encoding of a message, made by the caller.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if b, ok := v.([]byte); ok {
		return mem.BufferSlice{mem.SliceBuffer(b)}, nil
	}
	b, err := proto.Marshal(v.(proto.Message))
	return mem.BufferSlice{mem.SliceBuffer(b)}, err
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	return proto.Unmarshal(data.Materialize(), v.(proto.Message))
}

func (rawCodec) Name() string { return "proto" }

// TestNonProtoMessageMakesFinal: a message that is not a protobuf message
// (here, bytes a codec of the caller's sends as they are) cannot be kept
// for a replay: the stream is no longer retried, and a failure before
// its first response reaches the caller.
func TestNonProtoMessageMakesFinal(t *testing.T) {
	noLeaks(t)
	var mu sync.Mutex
	var seen []string
	srv := &server{duplex: func(n int, s duplexServer) error {
		for {
			m, err := s.Recv()
			if err != nil {
				break
			}
			mu.Lock()
			seen = append(seen, string(m.GetPayload().GetBody()))
			mu.Unlock()
		}
		if n == 1 {
			return status.Error(codes.Unavailable, "lost the backend")
		}
		return s.Send(msg(n, 0))
	}}
	c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, fast...)
	s, err := c.FullDuplexCall(t.Context(), grpc.ForceCodecV2(rawCodec{}))
	require.NoError(t, err)
	require.NoError(t, s.Send(&testgrpc.StreamingOutputCallRequest{Payload: &testgrpc.Payload{Body: []byte("a")}}))
	raw, err := proto.Marshal(&testgrpc.StreamingOutputCallRequest{Payload: &testgrpc.Payload{Body: []byte("b")}})
	require.NoError(t, err)
	require.NoError(t, s.SendMsg(raw))
	require.NoError(t, s.CloseSend())
	_, err = s.Recv()
	assert.ErrorIs(t, err, retry.ErrNotIdempotent)
	assert.ErrorContains(t, err, "the stream cannot be sent again: it sent a []uint8, which is not a protobuf message")
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.Equal(t, 1, srv.count(duplexMethod))
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"a", "b"}, seen)
}
