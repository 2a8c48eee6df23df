package grpcx_test

import (
	"context"
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
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// A hedged stream's Trailer, Context and the caller's call options, as
// grpc-go's stream gives them.

// TestHedgeStreamTrailerAfterFailure: a hedged stream whose only copy
// fails with a fatal status and a trailer. As grpc-go's stream (and this
// package's non-hedged stream), Trailer() returns the failed attempt's
// trailer once RecvMsg returned the error, as the grpc.Trailer call
// option gets it.
func TestHedgeStreamTrailerAfterFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &server{duplex: func(_ int, s duplexServer) error {
			s.SetTrailer(metadata.Pairs("why", "bad request"))
			return status.Error(codes.InvalidArgument, "no")
		}}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithHedge(time.Second, 2))...)
		var opt metadata.MD
		s, err := c.FullDuplexCall(t.Context(), grpc.Trailer(&opt))
		require.NoError(t, err)
		_, err = s.Recv()
		require.Equal(t, codes.InvalidArgument, status.Code(err))
		assert.Equal(t, []string{"bad request"}, opt.Get("why"), "the call option")
		assert.Equal(t, []string{"bad request"}, s.Trailer().Get("why"), "Trailer(), as grpc-go's stream returns it")

		// The non-hedged stream, on the same server: Trailer() has it.
		u := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent}, fast...)
		s, err = u.FullDuplexCall(t.Context())
		require.NoError(t, err)
		_, err = s.Recv()
		require.Equal(t, codes.InvalidArgument, status.Code(err))
		assert.Equal(t, []string{"bad request"}, s.Trailer().Get("why"), "control: the non-hedged stream")
	})
}

// TestHedgeStreamContextCarriesPeer: Context() of a hedged stream before
// its commit carries the peer (of the first copy opened), as grpc-go's
// stream context (and the non-hedged one's) does as soon as the stream is
// created, for a caller that reads it right away (logging, per-peer
// metrics).
func TestHedgeStreamContextCarriesPeer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &server{duplex: func(_ int, s duplexServer) error {
			<-s.Context().Done()
			return nil
		}}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithHedge(time.Second, 2))...)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		s, err := c.FullDuplexCall(ctx)
		require.NoError(t, err)
		_, ok := peer.FromContext(s.Context())
		assert.True(t, ok, "s.Context() carries the peer, as grpc-go's stream context does")

		// The non-hedged stream: its Context() has the peer at once.
		u := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent}, fast...)
		us, err := u.FullDuplexCall(ctx)
		require.NoError(t, err)
		_, ok = peer.FromContext(us.Context())
		assert.True(t, ok, "control: the non-hedged stream")
		cancel()
		_, err = s.Recv()
		require.Error(t, err)
		_, err = us.Recv()
		require.Error(t, err)
		synctest.Wait()
	})
}

// TestHedgeStreamOnFinishOnce: grpc-go calls a grpc.OnFinish callback
// once per RPC; the hedged stream calls it once, with the winner's end,
// not once per copy (the losers' with their cancellation, concurrently).
func TestHedgeStreamOnFinishOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newCopyLog()
		srv := &server{duplex: duplexBy(l, map[string]func(string, duplexServer) error{
			"":  func(c string, s duplexServer) error { return l.hang(c, s) },
			"1": answerAfter(0),
		})}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithHedge(50*time.Millisecond, 2))...)
		var mu sync.Mutex
		var finished []codes.Code
		s, err := c.FullDuplexCall(t.Context(), grpc.OnFinish(func(err error) {
			mu.Lock()
			defer mu.Unlock()
			finished = append(finished, status.Code(err))
		}))
		require.NoError(t, err)
		assert.Equal(t, "from 1", firstMessage(t, s))
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, []codes.Code{codes.OK}, finished, "OnFinish once, with the call's status")
	})
}

// TestHedgeStreamOnFinishOnceOnFailure: a hedged stream whose every copy
// fails (two, the hedge's the last) calls OnFinish once, with the error
// the caller receives, before Recv returns it.
func TestHedgeStreamOnFinishOnceOnFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &server{duplex: func(_ int, s duplexServer) error {
			time.Sleep(100 * time.Millisecond)
			return status.Error(codes.Unavailable, "down")
		}}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent},
			append(fast, retry.WithHedge(50*time.Millisecond, 2), retry.WithMaxAttempts(2))...)
		var mu sync.Mutex
		var finished []error
		s, err := c.FullDuplexCall(t.Context(), grpc.OnFinish(func(err error) {
			mu.Lock()
			defer mu.Unlock()
			finished = append(finished, err)
		}))
		require.NoError(t, err)
		_, err = s.Recv()
		require.ErrorIs(t, err, retry.ErrExhausted)
		mu.Lock()
		assert.Equal(t, []error{err}, finished, "OnFinish once, with the stream's end, before Recv returns it")
		mu.Unlock()
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		assert.Len(t, finished, 1)
	})
}

// TestHedgeStreamOptionsFilledOnCancel: as grpc-go fills the caller's
// grpc.Header and grpc.Peer options, and calls OnFinish, when a stream
// ends because its context did, a hedged stream whose caller cancels it
// after the commit, without reading its end, fills them from the winner
// (the hedge) and calls OnFinish once, with CANCELLED.
func TestHedgeStreamOptionsFilledOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newCopyLog()
		srv := &server{duplex: duplexBy(l, map[string]func(string, duplexServer) error{
			"": func(c string, s duplexServer) error { return l.hang(c, s) },
			"1": func(c string, s duplexServer) error {
				if err := s.SendHeader(metadata.Pairs("copy", "#"+c)); err != nil {
					return err
				}
				return l.hang(c, s)
			},
		})}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithHedge(50*time.Millisecond, 2))...)
		ctx, cancel := context.WithCancel(t.Context())
		var header metadata.MD
		var p peer.Peer
		var mu sync.Mutex
		var finished []codes.Code
		s, err := c.FullDuplexCall(ctx, grpc.Header(&header), grpc.Peer(&p), grpc.OnFinish(func(err error) {
			mu.Lock()
			defer mu.Unlock()
			finished = append(finished, status.Code(err))
		}))
		require.NoError(t, err)
		md, err := s.Header()
		require.NoError(t, err)
		assert.Equal(t, []string{"#1"}, md.Get("copy"))
		cancel()
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, []codes.Code{codes.Canceled}, finished)
		assert.Equal(t, []string{"#1"}, header.Get("copy"))
		assert.NotNil(t, p.Addr)
	})
}

// TestStreamOnFinishOnce: a stream that is not hedged calls OnFinish once,
// as grpc-go promises, however many attempts it took: with the committed
// attempt's end (OK) after a retry, or with the error the caller receives
// when every attempt failed (not once per attempt).
func TestStreamOnFinishOnce(t *testing.T) {
	for name, tc := range map[string]struct {
		fails int
		want  codes.Code
	}{
		"retried, then OK": {fails: 1, want: codes.OK},
		"every attempt":    {fails: 3, want: codes.Unavailable},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := &server{duplex: func(n int, s duplexServer) error {
					if n <= tc.fails {
						return status.Error(codes.Unavailable, "down")
					}
					return s.Send(reply("up"))
				}}
				c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithMaxAttempts(3))...)
				var mu sync.Mutex
				var finished []codes.Code
				s, err := c.FullDuplexCall(t.Context(), grpc.OnFinish(func(err error) {
					mu.Lock()
					defer mu.Unlock()
					finished = append(finished, status.Code(err))
				}))
				require.NoError(t, err)
				if tc.want == codes.OK {
					assert.Equal(t, "up", firstMessage(t, s))
				} else {
					_, err = s.Recv()
					require.Equal(t, tc.want, status.Code(err))
				}
				synctest.Wait()
				mu.Lock()
				defer mu.Unlock()
				assert.Equal(t, []codes.Code{tc.want}, finished)
			})
		})
	}
}
