package grpcx_test

// The hedged streams' behaviour an independent review (rev-gstream)
// pinned: the slow copy hedging exists for, panics, trailers, contexts,
// OnFinish, and the budget and breaker against the unary driver.

import (
	"context"
	"io"
	"strconv"
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
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

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

// TestHedgeStreamConcurrentEcho: one goroutine sends 20
// messages, 10ms apart, while another receives; the first copy reads and
// never answers, the hedge (at 50ms) echoes each message it reads. The
// receiver sees every message once, in order (the five sent before the
// hedge replayed to it, the rest sent to both copies), under -race.
func TestHedgeStreamConcurrentEcho(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newCopyLog()
		srv := &server{duplex: duplexBy(l, map[string]func(string, duplexServer) error{
			"": hangAfterRead(l),
			"1": func(c string, s duplexServer) error {
				for {
					m, err := s.Recv()
					if err != nil {
						return nil
					}
					if err := s.Send(reply(string(m.GetPayload().GetBody()))); err != nil {
						return err
					}
				}
			},
		})}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithHedge(45*time.Millisecond, 2))...)
		s, err := c.FullDuplexCall(t.Context())
		require.NoError(t, err)
		var want []string
		for i := range 20 {
			want = append(want, strconv.Itoa(i))
		}
		sent := make(chan error, 1)
		go func() {
			for _, b := range want {
				if err := s.Send(body(b)); err != nil {
					sent <- err
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
			sent <- s.CloseSend()
		}()
		var got []string
		for {
			m, err := s.Recv()
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			got = append(got, string(m.GetPayload().GetBody()))
		}
		require.NoError(t, <-sent)
		assert.Equal(t, want, got)
		synctest.Wait()
		_, _, cancelled := l.snapshot()
		assert.True(t, cancelled[""])
	})
}

// TestHedgeStreamEveryCopyFails: every copy fails with
// UNAVAILABLE after 100ms (MaxAttempts 4, hedge at 50ms, two in flight):
// the first failure, with the hedge running, sends the next hedge at
// once; the later ones after the retry wait (0 here); the fifth copy is
// refused and the last failure ends the call with the policy's
// exhaustion. grpc-previous-rpc-attempts counts the copies sent before.
func TestHedgeStreamEveryCopyFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &server{duplex: func(_ int, s duplexServer) error {
			time.Sleep(100 * time.Millisecond)
			return status.Error(codes.Unavailable, "down")
		}}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent},
			append(fast, retry.WithHedge(50*time.Millisecond, 2), retry.WithMaxAttempts(4))...)
		start := time.Now()
		s, err := c.FullDuplexCall(t.Context())
		require.NoError(t, err)
		_, err = s.Recv()
		require.ErrorIs(t, err, retry.ErrExhausted)
		assert.Equal(t, codes.Unavailable, status.Code(err))
		var e *retry.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, 4, e.Attempts)
		assert.Equal(t, 250*time.Millisecond, time.Since(start))
		synctest.Wait()
		assert.Equal(t, []string{"", "1", "2", "3"}, srv.attempts())
	})
}

// TestHedgeStreamNoLeakOnAbandon: on a real 127.0.0.1 server,
// with goleak: a stream cancelled while both copies run (before any
// commit), and a stream abandoned after the commit (one message read of
// many, then its context cancelled, never read to the end), leave no
// goroutine behind.
func TestHedgeStreamNoLeakOnAbandon(t *testing.T) {
	noLeaks(t)
	hedged := make(chan struct{}, 4)
	srv := &server{duplex: func(_ int, s duplexServer) error {
		c := copyNumber(s.Context())
		if c == "1" {
			hedged <- struct{}{}
		}
		md, _ := metadata.FromIncomingContext(s.Context())
		if len(md.Get("answer")) == 0 || c == "" {
			<-s.Context().Done()
			return s.Context().Err()
		}
		for {
			if err := s.Send(reply("from " + c)); err != nil {
				return err
			}
		}
	}}
	c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithHedge(10*time.Millisecond, 2))...)

	ctx, cancel := context.WithCancel(t.Context())
	s, err := c.FullDuplexCall(ctx)
	require.NoError(t, err)
	<-hedged
	cancel()
	_, err = s.Recv()
	require.ErrorIs(t, err, context.Canceled)

	ctx, cancel = context.WithCancel(metadata.AppendToOutgoingContext(t.Context(), "answer", "yes"))
	s, err = c.FullDuplexCall(ctx)
	require.NoError(t, err)
	m, err := s.Recv()
	require.NoError(t, err)
	assert.Equal(t, "from 1", string(m.GetPayload().GetBody()))
	cancel()
}

// TestHedgeStreamLateHeaders: a server stream whose first copy
// sends its headers late (200ms) but before the hedge's (sent at 50ms,
// headers at 300ms): the first copy wins, the caller gets its messages
// only, in order and once, and its grpc.Header; the hedge is cancelled.
func TestHedgeStreamLateHeaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		cancelled := map[string]bool{}
		srv := &server{output: func(n int, _ *testgrpc.StreamingOutputCallRequest, s outputServer) error {
			c := copyNumber(s.Context())
			delay := map[string]time.Duration{"": 200 * time.Millisecond, "1": 300 * time.Millisecond}[c]
			select {
			case <-time.After(delay):
			case <-s.Context().Done():
				mu.Lock()
				defer mu.Unlock()
				cancelled[c] = true
				return s.Context().Err()
			}
			if err := s.SendHeader(metadata.Pairs("copy", "#"+c)); err != nil {
				return err
			}
			for i := range 3 {
				time.Sleep(10 * time.Millisecond)
				if err := s.Send(msg(n, i)); err != nil {
					return err
				}
			}
			return nil
		}}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithHedge(50*time.Millisecond, 2))...)
		var header metadata.MD
		s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{}, grpc.Header(&header))
		require.NoError(t, err)
		got, err := recvAll(s)
		require.NoError(t, err)
		assert.Equal(t, []string{"1.0", "1.1", "1.2"}, got)
		assert.Equal(t, []string{"#"}, header.Get("copy"))
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, map[string]bool{"1": true}, cancelled)
		assert.Equal(t, []string{"", "1"}, srv.attempts())
	})
}

// TestHedgeStreamAttemptTimeoutHedges: every copy is silent; the
// attempt timeout (100ms) cuts each, the hedge delay is 50ms, three
// attempts: the first copy's timeout, with the hedge running, sends the
// third copy at once (100ms); the hedge's timeout (150ms) finds no
// attempt left; the third copy's (200ms) ends the call, exhausted, with
// DEADLINE_EXCEEDED; every copy was cancelled.
func TestHedgeStreamAttemptTimeoutHedges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newCopyLog()
		hang := func(c string, s duplexServer) error { return l.hang(c, s) }
		srv := &server{duplex: duplexBy(l, map[string]func(string, duplexServer) error{"": hang, "1": hang, "2": hang})}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithHedge(50*time.Millisecond, 2),
			retry.WithAttemptTimeout(100*time.Millisecond), retry.WithMaxAttempts(3))...)
		start := time.Now()
		s, err := c.FullDuplexCall(t.Context())
		require.NoError(t, err)
		_, err = s.Recv()
		require.ErrorIs(t, err, retry.ErrExhausted)
		assert.Equal(t, codes.DeadlineExceeded, status.Code(err))
		assert.Equal(t, 200*time.Millisecond, time.Since(start))
		synctest.Wait()
		started, _, cancelled := l.snapshot()
		assert.Equal(t, map[string]time.Duration{"": 0, "1": 50 * time.Millisecond, "2": 100 * time.Millisecond}, started)
		assert.Equal(t, map[string]bool{"": true, "1": true, "2": true}, cancelled)
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

// TestHedgeStreamExpiredCopyTrailerUnread (run with -race): a copy whose
// headers arrive (60ms) before its attempt timeout (100ms) fires, but are
// taken by the driver only after it (here the driver is busy in the
// hedge's AttemptStart hook from 50ms to 100ms; a slow hook or a
// scheduling delay does the same), is judged a failure (errExpired)
// without reading its Trailer(): its stream has not ended, and grpc-go
// writes the trailer on its reader goroutine ("can be safely read only
// after stream has ended"; the server's trailers came at 99ms). Reading
// it was a data race -race reported in 12 of 12 runs of the 20 calls
// here.
func TestHedgeStreamExpiredCopyTrailerUnread(t *testing.T) {
	for range 20 {
		synctest.Test(t, func(t *testing.T) {
			srv := &server{duplex: func(_ int, s duplexServer) error {
				if copyNumber(s.Context()) != "" {
					<-s.Context().Done()
					return nil
				}
				time.Sleep(60 * time.Millisecond)
				if err := s.SendHeader(metadata.Pairs("h", "first")); err != nil {
					return err
				}
				time.Sleep(39 * time.Millisecond)
				s.SetTrailer(metadata.Pairs("t", "first"))
				return status.Error(codes.Unavailable, "late")
			}}
			obs := &retry.Observer{AttemptStart: func(ctx context.Context, a retry.AttemptStartInfo) context.Context {
				if a.Hedge && a.Attempt == 2 {
					time.Sleep(50 * time.Millisecond) // the driver is busy
				}
				return ctx
			}}
			c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithHedge(50*time.Millisecond, 2),
				retry.WithAttemptTimeout(100*time.Millisecond), retry.WithMaxAttempts(3), retry.WithObserver(obs))...)
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			s, err := c.FullDuplexCall(ctx)
			require.NoError(t, err)
			_, _ = s.Recv() // whichever way it ends
			synctest.Wait()
		})
	}
}
