package grpcx_test

import (
	"context"
	"io"
	"sync/atomic"
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
	"google.golang.org/grpc/status"
)

// A stream is one call of the decision engine: its creation and its first
// response are attempts of the same call, each reported once.

// TestStreamBreakerCountsFailedStreams: a server whose streams all fail
// before their first response opens a breaker; a created stream is not a
// success. Threshold 3, 2 attempts a call: the second call's first
// attempt is the third failure, and its retry is refused, keeping the
// status.
func TestStreamBreakerCountsFailedStreams(t *testing.T) {
	noLeaks(t)
	br, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 3, RecoveryTimeout: time.Hour})
	require.NoError(t, err)
	srv := &server{output: failOutput(1<<30, codes.Unavailable)}
	c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithMaxAttempts(2), retry.WithBreaker(br))...)
	var errs []error
	for range 3 {
		s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
		if err == nil {
			_, err = s.Recv()
		}
		errs = append(errs, err)
	}
	assert.Equal(t, retry.BreakerOpen, br.State())
	assert.Equal(t, 3, srv.count(outputMethod))
	assert.ErrorIs(t, errs[0], retry.ErrExhausted)
	assert.ErrorIs(t, errs[1], retry.ErrCircuitOpen)
	assert.Equal(t, codes.Unavailable, status.Code(errs[1]), "the refused retry keeps the last status")
	assert.ErrorIs(t, errs[2], retry.ErrCircuitOpen, "refused at creation")
}

// TestStreamHalfOpenProbe: after the recovery timeout, a stream is the
// breaker's probe, and holds it until its first response: other calls
// are refused meanwhile (a created stream has not succeeded yet); one that
// fails before its first response reopens the breaker, one that answers
// closes it.
func TestStreamHalfOpenProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		br, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second})
		require.NoError(t, err)
		var up atomic.Bool
		srv := &server{output: func(n int, _ *testgrpc.StreamingOutputCallRequest, s outputServer) error {
			time.Sleep(time.Millisecond) // the first response takes 1ms
			if !up.Load() {
				return status.Error(codes.Unavailable, "down")
			}
			return s.Send(msg(n, 0))
		}}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithMaxAttempts(1), retry.WithBreaker(br))...)
		open := func() grpc.ServerStreamingClient[testgrpc.StreamingOutputCallResponse] {
			s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
			require.NoError(t, err)
			return s
		}
		_, err = open().Recv()
		require.Error(t, err)
		require.Equal(t, retry.BreakerOpen, br.State())
		time.Sleep(time.Second)
		probe := open()
		_, err = c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
		assert.ErrorIs(t, err, retry.ErrCircuitOpen, "the probe is in flight")
		_, err = probe.Recv()
		assert.ErrorIs(t, err, retry.ErrExhausted)
		assert.Equal(t, retry.BreakerOpen, br.State(), "a failed probe reopens the breaker")
		time.Sleep(time.Second)
		up.Store(true)
		_, err = open().Recv()
		assert.NoError(t, err)
		assert.Equal(t, retry.BreakerClosed, br.State())
		assert.Equal(t, 3, srv.count(outputMethod))
	})
}

// TestStreamBudgetDepositsOnce: a stream retried to success costs one
// retry and deposits once; a stream that fails deposits nothing.
func TestStreamBudgetDepositsOnce(t *testing.T) {
	noLeaks(t)
	b, err := retry.NewBudget(retry.BudgetConfig{Capacity: 10, PerSuccess: 1, RetryCost: 1})
	require.NoError(t, err)
	srv := &server{
		unary: failFirst(3, codes.Unavailable),
		output: func(n int, req *testgrpc.StreamingOutputCallRequest, s outputServer) error {
			if n%2 == 1 || len(req.GetResponseParameters()) > 0 {
				return status.Error(codes.Unavailable, "down")
			}
			return s.Send(msg(n, 0))
		}}
	c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithBudget(b), retry.WithMaxAttempts(4))...)
	_, err = c.UnaryCall(t.Context(), &testgrpc.SimpleRequest{})
	require.NoError(t, err)
	require.InDelta(t, 8, b.Tokens(), 1e-9, "three retries, one success")

	s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
	require.NoError(t, err)
	got, err := recvAll(s)
	require.NoError(t, err)
	assert.Equal(t, []string{"2.0"}, got)
	assert.InDelta(t, 8, b.Tokens(), 1e-9, "one retry, one success")

	s, err = c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{ResponseParameters: []*testgrpc.ResponseParameters{{}}},
		grpcx.CallOptions(retry.WithMaxAttempts(1)))
	require.NoError(t, err)
	_, err = s.Recv()
	assert.ErrorIs(t, err, retry.ErrExhausted)
	assert.InDelta(t, 8, b.Tokens(), 1e-9, "a failed stream deposits nothing")
}

// TestStreamBreakerOpenedByAnotherCall: a breaker that another call opens
// while a stream waits for its first response does not hide the stream's
// own failure: it is judged as the attempt it is, without asking the
// breaker again.
func TestStreamBreakerOpenedByAnotherCall(t *testing.T) {
	noLeaks(t)
	br, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Hour})
	require.NoError(t, err)
	release := make(chan struct{})
	srv := &server{
		unary: failFirst(100, codes.Unavailable),
		output: func(int, *testgrpc.StreamingOutputCallRequest, outputServer) error {
			<-release
			return status.Error(codes.Unavailable, "down")
		}}
	c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithBreaker(br), retry.WithMaxAttempts(1))...)
	s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
	require.NoError(t, err)
	_, _ = c.UnaryCall(t.Context(), &testgrpc.SimpleRequest{})
	require.Equal(t, retry.BreakerOpen, br.State())
	close(release)
	_, err = s.Recv()
	var re *retry.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 1, re.Attempts)
	assert.ErrorIs(t, err, retry.ErrExhausted)
	assert.Equal(t, codes.Unavailable, status.Code(err))
}

// TestStreamMaxAttemptsCountsCreation: a failed creation is an attempt of
// the stream like a failed first response: WithMaxAttempts(2) opens the
// stream twice in all, and the hook hears of one retry, numbered 1.
func TestStreamMaxAttemptsCountsCreation(t *testing.T) {
	noLeaks(t)
	var opens atomic.Int32
	failFirstOpen := func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		if opens.Add(1) == 1 {
			return nil, status.Error(codes.Unavailable, "no transport yet")
		}
		return streamer(ctx, desc, cc, method, opts...)
	}
	srv := &server{output: failOutput(1<<30, codes.Unavailable)}
	var notes []int
	notify := retry.WithNotify(func(_ context.Context, a retry.RetryInfo) { notes = append(notes, a.Attempt) })
	cc := dial(t, listen(t, srv), grpc.WithChainStreamInterceptor(
		grpcx.StreamClientInterceptor(grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithMaxAttempts(2), notify)...),
		failFirstOpen))
	s, err := testgrpc.NewTestServiceClient(cc).StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
	require.NoError(t, err)
	_, err = s.Recv()
	assert.ErrorIs(t, err, retry.ErrExhausted)
	assert.EqualValues(t, 2, opens.Load())
	assert.Equal(t, 1, srv.count(outputMethod))
	assert.Equal(t, []int{1}, notes)
	assert.Equal(t, []string{"1"}, srv.attempts(), "the server's call is the second attempt")
}

// TestStreamWaitEndsWithCaller: the wait before a stream's retry ends
// when the caller's context does, with its cause.
func TestStreamWaitEndsWithCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &server{output: failOutput(1, codes.Unavailable)}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent},
			retry.WithBackoff(retry.Constant(time.Hour)), retry.WithMaxDelay(2*time.Hour), retry.WithJitter(retry.NoJitter))
		ctx, cancel := context.WithCancelCause(t.Context())
		s, err := c.StreamingOutputCall(ctx, &testgrpc.StreamingOutputCallRequest{})
		require.NoError(t, err)
		cause := io.ErrClosedPipe
		time.AfterFunc(time.Minute, func() { cancel(cause) })
		start := time.Now()
		_, err = s.Recv()
		assert.ErrorIs(t, err, cause)
		assert.Equal(t, codes.Unavailable, status.Code(err), "the last status is kept")
		assert.Equal(t, time.Minute, time.Since(start))
		assert.Equal(t, 1, srv.count(outputMethod))
	})
}

// TestStreamEndRepeats: once a stream has ended, RecvMsg returns its end
// again: the error that ended it (the *retry.Error of a stream whose
// retries stopped), or io.EOF.
func TestStreamEndRepeats(t *testing.T) {
	noLeaks(t)
	srv := &server{output: failOutput(1, codes.Unavailable), input: func(n int, s inputServer) error { return sumInput(n+1, s) }}
	c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithMaxAttempts(1))...)
	s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
	require.NoError(t, err)
	_, first := s.Recv()
	require.ErrorIs(t, first, retry.ErrExhausted)
	_, again := s.Recv()
	assert.Same(t, first, again)

	in, err := c.StreamingInputCall(t.Context())
	require.NoError(t, err)
	_, err = in.CloseAndRecv()
	require.NoError(t, err)
	assert.Equal(t, io.EOF, in.RecvMsg(new(testgrpc.StreamingInputCallResponse)))
}
