package grpcx_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/grpcx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// pushback returns a handler that fails its first n calls with code and
// the pushback trailer v.
func pushback(n int, code codes.Code, v ...string) func(context.Context, int) error {
	return func(ctx context.Context, call int) error {
		if call > n {
			return nil
		}
		md := metadata.MD{}
		md.Append("grpc-retry-pushback-ms", v...)
		_ = grpc.SetTrailer(ctx, md)
		return status.Error(code, "pushed back")
	}
}

// retryInfo returns a handler that fails its first call with code and a
// google.rpc.RetryInfo of d.
func retryInfo(code codes.Code, d time.Duration) func(context.Context, int) error {
	return func(_ context.Context, call int) error {
		if call > 1 {
			return nil
		}
		st, err := status.New(code, "come back later").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(d)})
		if err != nil {
			return err
		}
		return st.Err()
	}
}

// TestHintWaits checks, in virtual time, that a server hint is waited for
// exactly (under WithExactHints), and that it lets a non-idempotent method
// be retried when it proves the request was refused unprocessed.
func TestHintWaits(t *testing.T) {
	for name, tc := range map[string]struct {
		handler func(context.Context, int) error
		wait    time.Duration
	}{
		"pushback 150ms, UNAVAILABLE":        {pushback(1, codes.Unavailable, "150"), 150 * time.Millisecond},
		"pushback 0, UNAVAILABLE":            {pushback(1, codes.Unavailable, "0"), 0},
		"pushback 150ms, RESOURCE_EXHAUSTED": {pushback(1, codes.ResourceExhausted, "150"), 150 * time.Millisecond},
		"RetryInfo 2s, RESOURCE_EXHAUSTED":   {retryInfo(codes.ResourceExhausted, 2*time.Second), 2 * time.Second},
		"RetryInfo 0, RESOURCE_EXHAUSTED":    {retryInfo(codes.ResourceExhausted, 0), 0},
	} {
		for _, method := range []string{unaryMethod, emptyMethod} {
			t.Run(name+" "+method, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					srv := &server{unary: tc.handler, empty: tc.handler}
					c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent}, retry.WithExactHints())
					start := time.Now()
					var err error
					if method == unaryMethod {
						_, err = c.UnaryCall(t.Context(), &testgrpc.SimpleRequest{})
					} else {
						_, err = c.EmptyCall(t.Context(), &testgrpc.Empty{})
					}
					require.NoError(t, err)
					assert.Equal(t, tc.wait, time.Since(start))
					assert.Equal(t, 2, srv.count(method))
				})
			})
		}
	}
}

func TestRetryInfoOnUnavailableNonIdempotent(t *testing.T) {
	// RetryInfo alone does not prove that an UNAVAILABLE call was not
	// processed: a non-idempotent method stops.
	noLeaks(t)
	srv := &server{empty: retryInfo(codes.Unavailable, 0), unary: retryInfo(codes.Unavailable, 0)}
	c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, retry.WithExactHints())
	_, err := c.EmptyCall(t.Context(), &testgrpc.Empty{})
	assert.ErrorIs(t, err, retry.ErrNotIdempotent)
	assert.Equal(t, 1, srv.count(emptyMethod))
	_, err = c.UnaryCall(t.Context(), &testgrpc.SimpleRequest{})
	assert.NoError(t, err)
	assert.Equal(t, 2, srv.count(unaryMethod))
}

func TestPushbackStops(t *testing.T) {
	for name, v := range map[string][]string{
		"negative":   {"-1"},
		"garbage":    {"soon"},
		"empty":      {""},
		"fraction":   {"1.5"},
		"two values": {"10", "20"},
		"space":      {" 10"},
		"hex":        {"0x10"},
	} {
		t.Run(name, func(t *testing.T) {
			noLeaks(t)
			srv := &server{unary: pushback(5, codes.Unavailable, v...)}
			c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, fast...)
			_, err := c.UnaryCall(t.Context(), &testgrpc.SimpleRequest{})
			assert.ErrorIs(t, err, retry.ErrPermanent)
			assert.Equal(t, codes.Unavailable, status.Code(err))
			assert.ErrorContains(t, err, "asked not to retry")
			assert.Equal(t, 1, srv.count(unaryMethod))
		})
	}
}

func TestHintTooLong(t *testing.T) {
	for name, tc := range map[string]struct {
		handler func(context.Context, int) error
		want    time.Duration
	}{
		"pushback 1h":           {pushback(1, codes.Unavailable, "3600000"), time.Hour},
		"pushback beyond int64": {pushback(1, codes.Unavailable, "99999999999999999999999"), time.Duration(1<<63 - 1)},
		"RetryInfo 1h":          {retryInfo(codes.ResourceExhausted, time.Hour), time.Hour},
	} {
		t.Run(name, func(t *testing.T) {
			noLeaks(t)
			srv := &server{unary: tc.handler}
			c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, retry.WithMaxDelay(time.Minute))
			_, err := c.UnaryCall(t.Context(), &testgrpc.SimpleRequest{})
			require.ErrorIs(t, err, retry.ErrHintTooLong)
			var re *retry.Error
			require.ErrorAs(t, err, &re)
			assert.Equal(t, tc.want, re.Hint)
			assert.Equal(t, 1, srv.count(unaryMethod))
		})
	}
}

// TestHintNotRetriedByClassifier: a hint does not override the policy's
// own decision that the status is not worth retrying.
func TestHintNotRetriedByClassifier(t *testing.T) {
	noLeaks(t)
	srv := &server{unary: pushback(1, codes.Unavailable, "0")}
	stop := retry.RetryIf(func(err error) bool { return status.Code(err) != codes.Unavailable })
	c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, retry.WithClassifier(stop))
	_, err := c.UnaryCall(t.Context(), &testgrpc.SimpleRequest{})
	assert.ErrorIs(t, err, retry.ErrPermanent)
	assert.Equal(t, 1, srv.count(unaryMethod))
}

// TestDeadlineCutsWait: a wait is cut short by the caller's cancellation,
// and never started when it would end past the caller's deadline.
func TestDeadlineCutsWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &server{unary: failFirst(5, codes.Unavailable)}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent},
			retry.WithBackoff(retry.Constant(5*time.Second)), retry.WithJitter(retry.NoJitter))

		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(300*time.Millisecond, cancel)
		start := time.Now()
		_, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{})
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, 300*time.Millisecond, time.Since(start))
		assert.Equal(t, 1, srv.count(unaryMethod))

		ctx, cancel2 := context.WithTimeout(t.Context(), time.Second)
		defer cancel2()
		start = time.Now()
		_, err = c.UnaryCall(ctx, &testgrpc.SimpleRequest{})
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Zero(t, time.Since(start), "no wait starts that would end past the deadline")
		assert.Equal(t, 2, srv.count(unaryMethod))
	})
}

// TestAttemptTimeout: DEADLINE_EXCEEDED is retried when the policy's
// attempt timeout fired, never when the caller's deadline did.
func TestAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slowFirst := func(ctx context.Context, n int) error {
			if n == 1 {
				<-ctx.Done()
				return status.FromContextError(ctx.Err()).Err()
			}
			return nil
		}
		srv := &server{unary: slowFirst, empty: slowFirst}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithAttemptTimeout(50*time.Millisecond))...)

		start := time.Now()
		_, err := c.UnaryCall(t.Context(), &testgrpc.SimpleRequest{})
		require.NoError(t, err)
		assert.Equal(t, 50*time.Millisecond, time.Since(start))
		assert.Equal(t, 2, srv.count(unaryMethod))
		assert.Equal(t, []string{"", "1"}, srv.attempts())

		_, err = c.EmptyCall(t.Context(), &testgrpc.Empty{})
		assert.Equal(t, codes.DeadlineExceeded, status.Code(err), "a non-idempotent call may have been processed")
		assert.Equal(t, 1, srv.count(emptyMethod))

		srv2 := &server{unary: func(ctx context.Context, _ int) error {
			<-ctx.Done()
			return status.FromContextError(ctx.Err()).Err()
		}}
		c2 := serveBuf(t, srv2, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithAttemptTimeout(time.Second))...)
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		_, err = c2.UnaryCall(ctx, &testgrpc.SimpleRequest{})
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 1, srv2.count(unaryMethod), "the caller's deadline is not retried")
	})
}

// TestOwnTimeoutIsTimedOut: an attempt ended by the policy's attempt
// timeout is retried whatever the classifiers say, and a budget charges
// it its TimeoutCost: for a unary call and for a stream.
func TestOwnTimeoutIsTimedOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slowFirst := func(ctx context.Context, n int) error {
			if n == 1 {
				<-ctx.Done()
				return status.FromContextError(ctx.Err()).Err()
			}
			return nil
		}
		srv := &server{unary: slowFirst, output: func(n int, _ *testgrpc.StreamingOutputCallRequest, s outputServer) error {
			if n == 1 {
				<-s.Context().Done()
				return s.Context().Err()
			}
			return s.Send(msg(n, 0))
		}}
		b, err := retry.NewBudget(retry.BudgetConfig{Capacity: 10, RetryCost: 1, TimeoutCost: 3, PerSuccess: 0.5})
		require.NoError(t, err)
		stopAll := retry.WithClassifier(retry.RetryIf(func(error) bool { return false }))
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent},
			append(fast, retry.WithAttemptTimeout(50*time.Millisecond), retry.WithBudget(b), stopAll)...)

		_, err = c.UnaryCall(t.Context(), &testgrpc.SimpleRequest{})
		require.NoError(t, err)
		assert.Equal(t, 2, srv.count(unaryMethod))
		assert.InDelta(t, 10-3+0.5, b.Tokens(), 1e-9)

		s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
		require.NoError(t, err)
		got, err := recvAll(s)
		require.NoError(t, err)
		assert.Equal(t, []string{"2.0"}, got)
		assert.InDelta(t, 10-3+0.5-3+0.5, b.Tokens(), 1e-9)
	})
}
