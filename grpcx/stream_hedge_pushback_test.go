package grpcx_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/grpcx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestHedgeStreamPushbackAfterHedgingStopped: A6's pushback delays the
// next copy, a retry too, even when hedging has stopped. A budget of one
// token, refilled at 10 a second, pays for the hedge at 50ms and refuses
// the one at 100ms (no further hedge). The first copy fails at 120ms with
// a pushback of 500ms while the hedge runs; the hedge fails at 150ms,
// alone: the retry (the budget has refilled) waits for the pushback, until
// 620ms, and wins.
func TestHedgeStreamPushbackAfterHedgingStopped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		budget, err := retry.NewBudget(retry.BudgetConfig{Capacity: 1, PerSecond: 10})
		require.NoError(t, err)
		l := newCopyLog()
		srv := &server{duplex: duplexBy(l, map[string]func(string, duplexServer) error{
			"": func(c string, s duplexServer) error {
				time.Sleep(120 * time.Millisecond)
				return pushedBack("500")(c, s)
			},
			"1": func(string, duplexServer) error {
				time.Sleep(100 * time.Millisecond)
				return status.Error(codes.Unavailable, "lost the backend")
			},
			"2": answerAfter(0),
		})}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent},
			append(fast, retry.WithHedge(50*time.Millisecond, 3), retry.WithMaxAttempts(5), retry.WithBudget(budget))...)
		s, err := c.FullDuplexCall(t.Context())
		require.NoError(t, err)
		assert.Equal(t, "from 2", firstMessage(t, s))
		synctest.Wait()
		started, _, _ := l.snapshot()
		assert.Equal(t, map[string]time.Duration{"": 0, "1": 50 * time.Millisecond, "2": 620 * time.Millisecond}, started)
	})
}

// TestHedgeStreamPushbackStopReports: a hedge that fails with a negative
// pushback while the first copy runs is reported at once as a failed
// attempt (not lost, no stop: the first copy goes on, as A6 says); the
// first copy's later retried failure is then the stream's stop, with no
// retry, and the one Done carries it.
func TestHedgeStreamPushbackStopReports(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		events := &eventLog{}
		l := newCopyLog()
		srv := &server{duplex: duplexBy(l, map[string]func(string, duplexServer) error{
			"": func(string, duplexServer) error {
				time.Sleep(200 * time.Millisecond)
				return status.Error(codes.Unavailable, "lost the backend")
			},
			"1": pushedBack("-1"),
		})}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent},
			append(fast, retry.WithHedge(50*time.Millisecond, 3), retry.WithMaxAttempts(5), retry.WithObserver(events.observer()))...)
		s, err := c.FullDuplexCall(t.Context())
		require.NoError(t, err)
		_, err = s.Recv()
		assert.ErrorIs(t, err, retry.ErrPermanent)
		synctest.Wait()
		assert.Equal(t, []string{
			"start 1 hedge=false",
			"start 2 hedge=true",
			"end 2 hedge=true lost=false err=Unavailable stop=-",
			"end 1 hedge=false lost=false err=Unavailable stop=permanent/Unavailable",
			"done attempts=2 hedges=1 err=permanent/Unavailable",
		}, events.snapshot())
	})
}
