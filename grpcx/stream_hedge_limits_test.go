package grpcx_test

import (
	"context"
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
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// answerAfter answers with one message naming the copy after d.
func answerAfter(d time.Duration) func(c string, s duplexServer) error {
	return func(c string, s duplexServer) error {
		select {
		case <-time.After(d):
		case <-s.Context().Done():
			return s.Context().Err()
		}
		return s.Send(reply("from " + c))
	}
}

// pushedBack fails with UNAVAILABLE and a grpc-retry-pushback-ms trailer.
func pushedBack(ms string) func(c string, s duplexServer) error {
	return func(_ string, s duplexServer) error {
		s.SetTrailer(metadata.Pairs("grpc-retry-pushback-ms", ms))
		return status.Error(codes.Unavailable, "overloaded")
	}
}

// firstMessage receives the stream's only message, then its end.
func firstMessage(t *testing.T, s grpc.BidiStreamingClient[testgrpc.StreamingOutputCallRequest, testgrpc.StreamingOutputCallResponse]) string {
	t.Helper()
	m, err := s.Recv()
	require.NoError(t, err)
	require.NoError(t, s.CloseSend())
	_, err = s.Recv()
	require.Equal(t, io.EOF, err)
	return string(m.GetPayload().GetBody())
}

// TestHedgeStreamPushback: gRFC A6's pushback on a copy that fails while
// another runs. A negative one (do not retry) stops the hedging: no copy
// follows, and the copy running goes on and wins. A positive one delays
// the next hedge by it (not sent at once, nor at the hedge delay).
func TestHedgeStreamPushback(t *testing.T) {
	for name, tc := range map[string]struct {
		pushback string
		third    func(c string, s duplexServer) error
		started  map[string]time.Duration
		winner   string
	}{
		"negative: no further hedge": {
			pushback: "-1",
			started:  map[string]time.Duration{"": 0, "1": 50 * time.Millisecond},
			winner:   "from ",
		},
		"300ms: the next hedge after it": {
			pushback: "300",
			third:    answerAfter(0),
			started:  map[string]time.Duration{"": 0, "1": 50 * time.Millisecond, "2": 350 * time.Millisecond},
			winner:   "from 2",
		},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newCopyLog()
				handlers := map[string]func(string, duplexServer) error{
					"":  answerAfter(time.Second),
					"1": pushedBack(tc.pushback),
				}
				if tc.third != nil {
					handlers["2"] = tc.third
				}
				srv := &server{duplex: duplexBy(l, handlers)}
				c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent},
					append(fast, retry.WithHedge(50*time.Millisecond, 3), retry.WithMaxAttempts(5))...)
				s, err := c.FullDuplexCall(t.Context())
				require.NoError(t, err)
				assert.Equal(t, tc.winner, firstMessage(t, s))
				synctest.Wait()
				started, _, _ := l.snapshot()
				assert.Equal(t, tc.started, started)
			})
		})
	}
}

// TestHedgeStreamAttemptsShared: WithMaxAttempts counts hedges and
// retries together: the first copy fails alone and is retried at once
// (copy 2), whose hedge (copy 3) is the last the limit allows; when both
// fail, the stream ends exhausted after 3 attempts.
func TestHedgeStreamAttemptsShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newCopyLog()
		failAfter := func(d time.Duration) func(string, duplexServer) error {
			return func(string, duplexServer) error {
				time.Sleep(d)
				return status.Error(codes.Unavailable, "lost the backend")
			}
		}
		srv := &server{duplex: duplexBy(l, map[string]func(string, duplexServer) error{
			"":  failAfter(10 * time.Millisecond),
			"1": failAfter(time.Second),
			"2": failAfter(time.Second),
		})}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent},
			append(fast, retry.WithHedge(50*time.Millisecond, 2), retry.WithMaxAttempts(3))...)
		s, err := c.FullDuplexCall(t.Context())
		require.NoError(t, err)
		_, err = s.Recv()
		assert.Equal(t, codes.Unavailable, status.Code(err))
		assert.ErrorIs(t, err, retry.ErrExhausted)
		var e *retry.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, 3, e.Attempts)
		synctest.Wait()
		started, _, _ := l.snapshot()
		assert.Equal(t, map[string]time.Duration{"": 0, "1": 10 * time.Millisecond, "2": 60 * time.Millisecond}, started)
	})
}

// TestHedgeStreamBudget: each hedge is admitted by the policy's budget
// like a retry, so grpcx.ThrottlingBudget throttles hedges as A6 does:
// ThrottlingBudget(10, 0.001) grants 4 retries from a full bucket (10
// tokens, each costs 1, none granted at 5 or below); the four winners'
// deposits (0.001 each) leave 6.004, so a fifth hedge is granted (5.004),
// and then none: the streams run unhedged, their first copy answering.
func TestHedgeStreamBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		budget, err := grpcx.ThrottlingBudget(10, 0.001)
		require.NoError(t, err)
		l := newCopyLog()
		srv := &server{duplex: duplexBy(l, map[string]func(string, duplexServer) error{
			"":  answerAfter(200 * time.Millisecond),
			"1": answerAfter(0),
		})}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent},
			append(fast, retry.WithHedge(50*time.Millisecond, 2), retry.WithBudget(budget))...)
		var winners []string
		for range 7 {
			s, err := c.FullDuplexCall(t.Context())
			require.NoError(t, err)
			winners = append(winners, firstMessage(t, s))
		}
		assert.Equal(t, []string{"from 1", "from 1", "from 1", "from 1", "from 1", "from ", "from "}, winners)
	})
}

// TestHedgeStreamAttemptTimeout: the policy's attempt timeout bounds each
// copy until its first response: a silent first copy is cut at 100ms, and,
// being the only one running (the hedge delay is longer), is retried at
// once; the retry's headers at 50ms stop its timeout, so its message at
// 500ms is received.
func TestHedgeStreamAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newCopyLog()
		srv := &server{duplex: duplexBy(l, map[string]func(string, duplexServer) error{
			"": func(c string, s duplexServer) error { return l.hang(c, s) },
			"1": func(c string, s duplexServer) error {
				time.Sleep(50 * time.Millisecond)
				if err := s.SendHeader(nil); err != nil {
					return err
				}
				return answerAfter(450*time.Millisecond)(c, s)
			},
		})}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent},
			append(fast, retry.WithHedge(time.Second, 2), retry.WithAttemptTimeout(100*time.Millisecond))...)
		start := time.Now()
		s, err := c.FullDuplexCall(t.Context())
		require.NoError(t, err)
		assert.Equal(t, "from 1", firstMessage(t, s))
		assert.Equal(t, 600*time.Millisecond, time.Since(start))
		synctest.Wait()
		started, _, cancelled := l.snapshot()
		assert.Equal(t, map[string]time.Duration{"": 0, "1": 100 * time.Millisecond}, started)
		assert.True(t, cancelled[""])
	})
}

// TestHedgeStreamCallerCancels: the caller's context ending before any
// copy answers ends the stream with its cause; every copy is cancelled
// and reported once, none as a success.
func TestHedgeStreamCallerCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newCopyLog()
		srv := &server{duplex: duplexBy(l, map[string]func(string, duplexServer) error{
			"":  func(c string, s duplexServer) error { return l.hang(c, s) },
			"1": func(c string, s duplexServer) error { return l.hang(c, s) },
		})}
		var mu sync.Mutex
		var ends []error
		obs := &retry.Observer{AttemptEnd: func(_ context.Context, a retry.AttemptEndInfo) {
			mu.Lock()
			defer mu.Unlock()
			ends = append(ends, a.Err)
		}}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent},
			append(fast, retry.WithHedge(50*time.Millisecond, 2), retry.WithObserver(obs))...)
		ctx, cancel := context.WithCancel(t.Context())
		s, err := c.FullDuplexCall(ctx)
		require.NoError(t, err)
		time.Sleep(100 * time.Millisecond)
		cancel()
		_, err = s.Recv()
		assert.ErrorIs(t, err, context.Canceled)
		synctest.Wait()
		started, _, cancelled := l.snapshot()
		assert.Len(t, started, 2)
		assert.Equal(t, map[string]bool{"": true, "1": true}, cancelled)
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, ends, 2)
		for _, e := range ends {
			assert.Error(t, e)
		}
	})
}

// TestHedgeStreamPushbackThenFailure: after a copy's server said not to
// retry (a negative pushback), the copy that went on failing with a
// retried code ends the stream: no hedge and no retry follows, and the
// error says why.
func TestHedgeStreamPushbackThenFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newCopyLog()
		srv := &server{duplex: duplexBy(l, map[string]func(string, duplexServer) error{
			"": func(string, duplexServer) error {
				time.Sleep(200 * time.Millisecond)
				return status.Error(codes.Unavailable, "lost the backend")
			},
			"1": pushedBack("-1"),
		})}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent},
			append(fast, retry.WithHedge(50*time.Millisecond, 3), retry.WithMaxAttempts(5))...)
		s, err := c.FullDuplexCall(t.Context())
		require.NoError(t, err)
		_, err = s.Recv()
		assert.Equal(t, codes.Unavailable, status.Code(err))
		assert.ErrorIs(t, err, retry.ErrPermanent)
		assert.ErrorContains(t, err, "asked not to retry")
		synctest.Wait()
		time.Sleep(time.Second)
		started, _, _ := l.snapshot()
		assert.Len(t, started, 2)
	})
}

// TestHedgeStreamPushbackDelaysRetry: a pushback of 300ms on a copy that
// fails while another runs delays the next copy; when that copy is the
// retry that follows the other's failure (at 100ms), it still waits for
// the pushback (sent at 350ms, not at once).
func TestHedgeStreamPushbackDelaysRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newCopyLog()
		srv := &server{duplex: duplexBy(l, map[string]func(string, duplexServer) error{
			"": func(string, duplexServer) error {
				time.Sleep(100 * time.Millisecond)
				return status.Error(codes.Unavailable, "lost the backend")
			},
			"1": pushedBack("300"),
			"2": answerAfter(0),
		})}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent},
			append(fast, retry.WithHedge(50*time.Millisecond, 3), retry.WithMaxAttempts(5))...)
		s, err := c.FullDuplexCall(t.Context())
		require.NoError(t, err)
		assert.Equal(t, "from 2", firstMessage(t, s))
		synctest.Wait()
		started, _, _ := l.snapshot()
		assert.Equal(t, map[string]time.Duration{"": 0, "1": 50 * time.Millisecond, "2": 350 * time.Millisecond}, started)
	})
}
