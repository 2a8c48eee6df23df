package grpcx_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
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
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

type outputServer = testgrpc.TestService_StreamingOutputCallServer

// msg returns a response whose body names its call and index.
func msg(call, i int) *testgrpc.StreamingOutputCallResponse {
	return &testgrpc.StreamingOutputCallResponse{Payload: &testgrpc.Payload{Body: fmt.Appendf(nil, "%d.%d", call, i)}}
}

// recvAll reads a server stream to its end and returns the bodies and the
// error that ended it (nil for io.EOF).
func recvAll(s grpc.ServerStreamingClient[testgrpc.StreamingOutputCallResponse]) ([]string, error) {
	var got []string
	for {
		m, err := s.Recv()
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got = append(got, string(m.GetPayload().GetBody()))
	}
}

// TestServerStreamNeverReplays: after messages were delivered, a failure
// reaches the caller with exactly those messages; the same failure before
// the first message is retried without the caller noticing.
func TestServerStreamNeverReplays(t *testing.T) {
	for name, tc := range map[string]struct {
		before   int // messages sent before the failure on call 1
		want     []string
		wantCode codes.Code
		calls    int
	}{
		"after 3 messages": {3, []string{"1.0", "1.1", "1.2"}, codes.Unavailable, 1},
		"before any":       {0, []string{"2.0", "2.1", "2.2"}, codes.OK, 2},
	} {
		t.Run(name, func(t *testing.T) {
			noLeaks(t)
			srv := &server{output: func(n int, _ *testgrpc.StreamingOutputCallRequest, s outputServer) error {
				for i := range 3 {
					if n == 1 && i == tc.before {
						return status.Error(codes.Unavailable, "lost the backend")
					}
					if err := s.Send(msg(n, i)); err != nil {
						return err
					}
				}
				if n == 1 {
					return status.Error(codes.Unavailable, "lost the backend")
				}
				return nil
			}}
			c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, fast...)
			s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
			require.NoError(t, err)
			got, err := recvAll(s)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.wantCode, status.Code(err))
			assert.Equal(t, tc.calls, srv.count(outputMethod))
			if tc.calls == 2 {
				assert.Equal(t, []string{"", "1"}, srv.attempts())
			}
		})
	}
}

func TestServerStreamNonIdempotent(t *testing.T) {
	noLeaks(t)
	srv := &server{output: func(n int, _ *testgrpc.StreamingOutputCallRequest, s outputServer) error {
		if n == 1 {
			return status.Error(codes.Unavailable, "lost the backend")
		}
		return s.Send(msg(n, 0))
	}}
	c := serve(t, srv, grpcx.Config{}, fast...)
	s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
	require.NoError(t, err)
	got, err := recvAll(s)
	assert.Empty(t, got)
	assert.ErrorIs(t, err, retry.ErrNotIdempotent)
	assert.Equal(t, 1, srv.count(outputMethod))
}

// TestStreamAttemptTimeout: the attempt timeout bounds a stream only until
// its first response: a stream that lives 1s survives a 50ms timeout, and
// a first response that takes too long is retried.
func TestStreamAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &server{output: func(n int, _ *testgrpc.StreamingOutputCallRequest, s outputServer) error {
			if n == 1 {
				<-s.Context().Done() // never answers: the attempt timeout ends it
				return s.Context().Err()
			}
			for i := range 5 {
				if err := s.Send(msg(n, i)); err != nil {
					return err
				}
				time.Sleep(250 * time.Millisecond)
			}
			return nil
		}}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent},
			append(fast, retry.WithAttemptTimeout(50*time.Millisecond))...)
		start := time.Now()
		s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
		require.NoError(t, err)
		got, err := recvAll(s)
		require.NoError(t, err)
		assert.Equal(t, []string{"2.0", "2.1", "2.2", "2.3", "2.4"}, got)
		assert.Equal(t, 50*time.Millisecond+5*250*time.Millisecond, time.Since(start))
		assert.Equal(t, 2, srv.count(outputMethod))
	})
}

type inputServer = testgrpc.TestService_StreamingInputCallServer

// sumInput reads a client stream to its end and returns the sum of the
// payload sizes; call 1 fails with UNAVAILABLE once it has read them all.
func sumInput(n int, s inputServer) error {
	total := 0
	for {
		m, err := s.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		total += len(m.GetPayload().GetBody())
	}
	if n == 1 {
		return status.Error(codes.Unavailable, "lost the backend")
	}
	return s.SendAndClose(&testgrpc.StreamingInputCallResponse{AggregatedPayloadSize: int32(total)})
}

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

type duplexServer = testgrpc.TestService_FullDuplexCallServer

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

// TestUnsentRetried: a call that never had a transport stream (nothing
// listens at the address) never reached the server, so it is retried even
// for a non-idempotent method.
func TestUnsentRetried(t *testing.T) {
	noLeaks(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close()) // nothing listens there now
	var retries int
	cc := dial(t, addr, grpc.WithChainUnaryInterceptor(grpcx.UnaryClientInterceptor(grpcx.Config{},
		retry.WithMaxAttempts(3), retry.WithBackoff(retry.Constant(0)),
		retry.WithNotify(func(context.Context, retry.RetryInfo) { retries++ }))))
	_, err = testgrpc.NewTestServiceClient(cc).EmptyCall(t.Context(), &testgrpc.Empty{})
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.ErrorIs(t, err, retry.ErrExhausted)
	assert.Equal(t, 2, retries)
}

// TestStreamCreationRetried: a stream that cannot be created never reached
// the server, so it is retried even for a non-idempotent method.
func TestStreamCreationRetried(t *testing.T) {
	noLeaks(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close()) // nothing listens there now
	var retries int
	cc, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDisableRetry(),
		grpc.WithChainStreamInterceptor(grpcx.StreamClientInterceptor(grpcx.Config{},
			retry.WithMaxAttempts(3), retry.WithBackoff(retry.Constant(0)),
			retry.WithNotify(func(context.Context, retry.RetryInfo) { retries++ }))))
	require.NoError(t, err)
	defer cc.Close()
	_, err = testgrpc.NewTestServiceClient(cc).StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.ErrorIs(t, err, retry.ErrExhausted)
	assert.Equal(t, 2, retries)
	assert.False(t, errors.Is(err, retry.ErrPermanent))
}

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

// TestStreamHintsAndOverrides: a server stream honours pushback (a
// non-idempotent one is then retried: the server refused it unprocessed),
// stops on a hint beyond the maximum delay, and takes per-call options,
// an invalid one failing the stream's creation.
func TestStreamHintsAndOverrides(t *testing.T) {
	noLeaks(t)
	srv := &server{output: func(n int, _ *testgrpc.StreamingOutputCallRequest, s outputServer) error {
		if n == 1 || n == 3 {
			v := "0"
			if n == 3 {
				v = "3600000"
			}
			s.SetTrailer(metadata.Pairs("grpc-retry-pushback-ms", v))
			return status.Error(codes.Unavailable, "pushed back")
		}
		return s.Send(msg(n, 0))
	}}
	c := serve(t, srv, grpcx.Config{}, append(fast, retry.WithMaxDelay(time.Minute))...)

	s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
	require.NoError(t, err)
	got, err := recvAll(s)
	require.NoError(t, err)
	assert.Equal(t, []string{"2.0"}, got, "calls 1 and 2")

	s, err = c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
	require.NoError(t, err)
	_, err = recvAll(s)
	assert.ErrorIs(t, err, retry.ErrHintTooLong, "call 3")
	assert.Equal(t, 3, srv.count(outputMethod))

	_, err = c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{}, grpcx.CallOptions(retry.WithMaxAttempts(-1)))
	assert.ErrorIs(t, err, retry.ErrInvalidConfig)
	assert.Equal(t, 3, srv.count(outputMethod))
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
		assert.ErrorIs(t, err, retry.ErrPermanent)
		assert.Equal(t, codes.Unavailable, status.Code(err))
		assert.Equal(t, 1, srv.count(duplexMethod))
	})
}

// TestStreamAttemptTimeoutSparesUpload: an upload that lasts longer than
// the attempt timeout is not cut while the caller sends (each message
// restarts the timeout); once the caller stops sending, a server that
// does not answer within the timeout is retried.
func TestStreamAttemptTimeoutSparesUpload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &server{input: func(n int, s inputServer) error {
			if n == 1 {
				for { // reads the whole upload, then never answers
					if _, err := s.Recv(); err != nil {
						break
					}
				}
				<-s.Context().Done()
				return s.Context().Err()
			}
			return sumInput(n, s)
		}}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent},
			append(fast, retry.WithAttemptTimeout(100*time.Millisecond), retry.WithMaxAttempts(3))...)
		s, err := c.StreamingInputCall(t.Context())
		require.NoError(t, err)
		start := time.Now()
		for range 10 {
			require.NoError(t, s.Send(&testgrpc.StreamingInputCallRequest{Payload: &testgrpc.Payload{Body: make([]byte, 10)}}))
			time.Sleep(50 * time.Millisecond)
		}
		resp, err := s.CloseAndRecv()
		require.NoError(t, err)
		assert.EqualValues(t, 100, resp.GetAggregatedPayloadSize())
		assert.Equal(t, 2, srv.count(inputMethod), "the upload is not cut; the silence after it is")
		assert.Equal(t, 500*time.Millisecond+100*time.Millisecond, time.Since(start))
	})
}

// TestStreamAttemptTimeoutEndsAtHeaders: response headers end the attempt
// timeout even when the caller does not ask for them: a first message
// slower than the timeout is received, not cut.
func TestStreamAttemptTimeoutEndsAtHeaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &server{output: func(n int, _ *testgrpc.StreamingOutputCallRequest, s outputServer) error {
			if err := s.SendHeader(metadata.Pairs("hello", "1")); err != nil {
				return err
			}
			time.Sleep(200 * time.Millisecond)
			return s.Send(msg(n, 0))
		}}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent},
			append(fast, retry.WithAttemptTimeout(50*time.Millisecond))...)
		s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
		require.NoError(t, err)
		got, err := recvAll(s)
		require.NoError(t, err)
		assert.Equal(t, []string{"1.0"}, got)
		assert.Equal(t, 1, srv.count(outputMethod))
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

// TestClientStreamReleasedAtResponse: the single response of a client
// stream ends it: its attempt's context is released at once.
func TestClientStreamReleasedAtResponse(t *testing.T) {
	noLeaks(t)
	var attemptCtx context.Context
	capture := func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		attemptCtx = ctx
		return streamer(ctx, desc, cc, method, opts...)
	}
	srv := &server{input: func(n int, s inputServer) error { return sumInput(n+1, s) }}
	cc := dial(t, listen(t, srv), grpc.WithChainStreamInterceptor(
		grpcx.StreamClientInterceptor(grpcx.Config{Idempotent: idempotent}, fast...), capture))
	s, err := testgrpc.NewTestServiceClient(cc).StreamingInputCall(t.Context())
	require.NoError(t, err)
	require.NoError(t, s.Send(&testgrpc.StreamingInputCallRequest{Payload: &testgrpc.Payload{Body: make([]byte, 7)}}))
	resp, err := s.CloseAndRecv()
	require.NoError(t, err)
	assert.EqualValues(t, 7, resp.GetAggregatedPayloadSize())
	require.NotNil(t, attemptCtx)
	assert.ErrorIs(t, attemptCtx.Err(), context.Canceled, "released")
	assert.NoError(t, t.Context().Err())
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
	assert.Equal(t, codes.Unavailable, status.Code(err))
	assert.Equal(t, 1, srv.count(duplexMethod))
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"a", "b"}, seen)
}
