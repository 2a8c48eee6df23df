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
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// A hedged stream's accounting against the budget and the breaker, and
// against the hedged unary calls of the same policy.

// TestHedgeStreamBudgetMatchesUnary: many hedged calls whose
// hedge wins leave a ThrottlingBudget with the tokens the same hedged
// unary calls leave (each hedge costs 1, each winner deposits 0.5): no
// drift between the two drivers.
func TestHedgeStreamBudgetMatchesUnary(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		streamBudget, err := grpcx.ThrottlingBudget(100, 0.5)
		require.NoError(t, err)
		unaryBudget, err := grpcx.ThrottlingBudget(100, 0.5)
		require.NoError(t, err)
		l := newCopyLog()
		srv := &server{
			duplex: duplexBy(l, map[string]func(string, duplexServer) error{
				"":  func(c string, s duplexServer) error { return l.hang(c, s) },
				"1": answerAfter(0),
			}),
			unary: func(ctx context.Context, _ int) error {
				if copyNumber(ctx) == "" {
					<-ctx.Done()
					return ctx.Err()
				}
				return nil
			},
		}
		hedge := append(fast, retry.WithHedge(50*time.Millisecond, 2))
		sc := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent}, append(hedge, retry.WithBudget(streamBudget))...)
		uc := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent}, append(hedge, retry.WithBudget(unaryBudget))...)
		for range 20 {
			s, err := sc.FullDuplexCall(t.Context())
			require.NoError(t, err)
			assert.Equal(t, "from 1", firstMessage(t, s))
			_, err = uc.UnaryCall(t.Context(), &testgrpc.SimpleRequest{})
			require.NoError(t, err)
		}
		synctest.Wait()
		assert.InDelta(t, 100-20*0.5, streamBudget.Tokens(), 1e-9)
		assert.InDelta(t, unaryBudget.Tokens(), streamBudget.Tokens(), 1e-9)
	})
}

// TestHedgeStreamProbeFreedOnCancel: a half-open breaker's one
// probe is a hedged stream's first copy (its hedge is refused: the probe
// slot is taken); the caller cancels it mid-call. The copy is reported as
// nothing and frees the slot: the next stream is admitted, and its
// success closes the circuit.
func TestHedgeStreamProbeFreedOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		br, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Second, HalfOpenProbes: 1})
		require.NoError(t, err)
		srv := &server{duplex: func(n int, s duplexServer) error {
			switch n {
			case 1:
				return status.Error(codes.Unavailable, "down")
			case 2:
				<-s.Context().Done()
				return s.Context().Err()
			}
			return s.Send(reply("up"))
		}}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent},
			append(fast, retry.WithHedge(50*time.Millisecond, 2), retry.WithBreaker(br))...)
		s, err := c.FullDuplexCall(t.Context())
		require.NoError(t, err)
		_, err = s.Recv()
		require.ErrorIs(t, err, retry.ErrCircuitOpen)
		time.Sleep(time.Second) // half-open
		ctx, cancel := context.WithCancel(t.Context())
		s, err = c.FullDuplexCall(ctx)
		require.NoError(t, err)
		time.Sleep(100 * time.Millisecond) // the hedge was due at 50ms
		cancel()
		_, err = s.Recv()
		require.ErrorIs(t, err, context.Canceled)
		synctest.Wait()
		s, err = c.FullDuplexCall(t.Context())
		require.NoError(t, err)
		assert.Equal(t, "up", firstMessage(t, s))
		assert.Equal(t, retry.BreakerClosed, br.State())
		assert.Equal(t, 3, srv.count(duplexMethod), "the probe's hedge was refused")
	})
}

// TestHedgeStreamBudgetWithFailureMatchesUnary: as
// TestHedgeStreamBudgetMatchesUnary, with a first copy that fails
// (UNAVAILABLE, at 60ms) while the hedge (50ms) runs, so that a second
// hedge is sent at once; the hedge answers at 100ms. Stream and unary
// calls leave the budget with the same tokens, and start the same copies.
func TestHedgeStreamBudgetWithFailureMatchesUnary(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		streamBudget, err := grpcx.ThrottlingBudget(100, 0.5)
		require.NoError(t, err)
		unaryBudget, err := grpcx.ThrottlingBudget(100, 0.5)
		require.NoError(t, err)
		act := func(ctx context.Context, c string) error {
			d := map[string]time.Duration{"": 60 * time.Millisecond, "1": 100 * time.Millisecond, "2": 100 * time.Millisecond}[c]
			select {
			case <-time.After(d - 50*time.Millisecond*time.Duration(len(c))):
			case <-ctx.Done():
				return ctx.Err()
			}
			if c == "" {
				return status.Error(codes.Unavailable, "down")
			}
			return nil
		}
		srv := &server{
			duplex: func(_ int, s duplexServer) error {
				c := copyNumber(s.Context())
				if err := act(s.Context(), c); err != nil {
					return err
				}
				return s.Send(reply("from " + c))
			},
			unary: func(ctx context.Context, _ int) error { return act(ctx, copyNumber(ctx)) },
		}
		hedge := append(fast, retry.WithHedge(50*time.Millisecond, 3))
		sc := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent}, append(hedge, retry.WithBudget(streamBudget))...)
		uc := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent}, append(hedge, retry.WithBudget(unaryBudget))...)
		for range 10 {
			s, err := sc.FullDuplexCall(t.Context())
			require.NoError(t, err)
			assert.Equal(t, "from 1", firstMessage(t, s))
			_, err = uc.UnaryCall(t.Context(), &testgrpc.SimpleRequest{})
			require.NoError(t, err)
		}
		synctest.Wait()
		assert.InDelta(t, unaryBudget.Tokens(), streamBudget.Tokens(), 1e-9)
		assert.Equal(t, 30, srv.count(duplexMethod))
		assert.Equal(t, srv.count(duplexMethod), srv.count(unaryMethod))
	})
}
