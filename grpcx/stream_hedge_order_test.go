package grpcx_test

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
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

// eventLog records the observer's events of one call, in order, as text.
type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (e *eventLog) add(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.events = append(e.events, fmt.Sprintf(format, args...))
}

func (e *eventLog) snapshot() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.events...)
}

func (e *eventLog) observer() *retry.Observer {
	return &retry.Observer{
		AttemptStart: func(ctx context.Context, a retry.AttemptStartInfo) context.Context {
			e.add("start %d hedge=%v", a.Attempt, a.Hedge)
			return ctx
		},
		AttemptEnd: func(_ context.Context, a retry.AttemptEndInfo) {
			stop := "-"
			if a.Stop != nil {
				stop = retry.ReasonOf(a.Stop) + "/" + status.Code(a.Stop).String()
			}
			e.add("end %d hedge=%v lost=%v err=%v stop=%s", a.Attempt, a.Hedge, a.Lost, status.Code(a.Err), stop)
		},
		Done: func(_ context.Context, d retry.DoneInfo) {
			e.add("done attempts=%d hedges=%d err=%s/%v", d.Attempts, d.Hedges, retry.ReasonOf(d.Err), status.Code(d.Err))
		},
	}
}

// TestHedgeStreamReportsMatchUnary: the observer hears of a hedged
// stream's copies as of a hedged unary call's (retry.DoHedged) in the
// same case, in the same order. A slow first copy and a hedge that fails
// with a code the call does not retry (NOT_FOUND): the hedge's end first,
// with the stop (not lost), then the first copy's, cancelled, as lost,
// then one Done with the NOT_FOUND stop. A hedge that fails with a code
// the call retries (UNAVAILABLE): its end, not lost and no stop, the next
// hedge at once, which answers; the first copy lost.
func TestHedgeStreamReportsMatchUnary(t *testing.T) {
	for _, tc := range []struct {
		name string
		code codes.Code // the second copy's; the third answers
		want []string
	}{{
		name: "fatal",
		code: codes.NotFound,
		want: []string{
			"start 1 hedge=false",
			"start 2 hedge=true",
			"end 2 hedge=true lost=false err=NotFound stop=permanent/NotFound",
			"end 1 hedge=false lost=true err=Canceled stop=-",
			"done attempts=2 hedges=1 err=permanent/NotFound",
		},
	}, {
		name: "retried",
		code: codes.Unavailable,
		want: []string{
			"start 1 hedge=false",
			"start 2 hedge=true",
			"end 2 hedge=true lost=false err=Unavailable stop=-",
			"start 3 hedge=true",
			"end 3 hedge=true lost=false err=OK stop=-",
			"end 1 hedge=false lost=true err=Canceled stop=-",
			"done attempts=3 hedges=2 err=success/OK",
		},
	}} {
		run := func(t *testing.T, call func(*testing.T, grpcx.Config, []retry.Option) error) {
			synctest.Test(t, func(t *testing.T) {
				events := &eventLog{}
				opts := append(fast, retry.WithHedge(50*time.Millisecond, 3), retry.WithMaxAttempts(5), retry.WithObserver(events.observer()))
				err := call(t, grpcx.Config{Idempotent: idempotent}, opts)
				if tc.code == codes.NotFound {
					assert.Equal(t, codes.NotFound, status.Code(err))
					assert.ErrorIs(t, err, retry.ErrPermanent)
				} else {
					assert.NoError(t, err)
				}
				synctest.Wait() // every copy is reported
				assert.Equal(t, tc.want, events.snapshot())
			})
		}
		t.Run(tc.name+"/stream", func(t *testing.T) {
			run(t, func(t *testing.T, cfg grpcx.Config, opts []retry.Option) error {
				l := newCopyLog()
				srv := &server{duplex: duplexBy(l, map[string]func(string, duplexServer) error{
					"":  func(c string, s duplexServer) error { return l.hang(c, s) },
					"1": func(string, duplexServer) error { return status.Error(tc.code, "copy 1") },
					"2": func(c string, s duplexServer) error { return s.Send(reply("from " + c)) },
				})}
				s, err := serveBuf(t, srv, cfg, opts...).FullDuplexCall(t.Context())
				require.NoError(t, err)
				if _, err = s.Recv(); err != nil {
					return err
				}
				require.NoError(t, s.CloseSend())
				_, err = s.Recv()
				assert.Equal(t, io.EOF, err)
				return nil
			})
		})
		t.Run(tc.name+"/unary", func(t *testing.T) {
			run(t, func(t *testing.T, cfg grpcx.Config, opts []retry.Option) error {
				srv := &server{unary: func(ctx context.Context, _ int) error {
					switch copyNumber(ctx) {
					case "":
						<-ctx.Done()
						return ctx.Err()
					case "1":
						return status.Error(tc.code, "copy 1")
					}
					return nil
				}}
				_, err := serveBuf(t, srv, cfg, opts...).UnaryCall(t.Context(), &testgrpc.SimpleRequest{})
				return err
			})
		})
	}
}

// TestStreamNotHedgedTeachesNoDelay: streams not declared idempotent
// under WithAdaptiveHedge are not hedged, and, as unary calls that are
// not, teach the estimator nothing: after many of them, answered after
// 5ms, the delay is still the initial one (the estimator's warm-up is 100
// latencies).
func TestStreamNotHedgedTeachesNoDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, err := retry.NewHedgeDelay(0.9, 200*time.Millisecond)
		require.NoError(t, err)
		var opened atomic.Int32
		srv := &server{duplex: func(_ int, s duplexServer) error {
			opened.Add(1)
			time.Sleep(5 * time.Millisecond)
			return s.Send(reply("answer"))
		}}
		c := serveBuf(t, srv, grpcx.Config{}, append(fast, retry.WithAdaptiveHedge(d, 2))...)
		const streams = 150 // past the estimator's warm-up (100 latencies)
		for i := range streams {
			s, err := c.FullDuplexCall(t.Context())
			require.NoError(t, err)
			require.NoError(t, s.CloseSend())
			m, err := s.Recv()
			require.NoError(t, err, "stream %d", i)
			assert.Equal(t, "answer", string(m.GetPayload().GetBody()))
			synctest.Wait()
		}
		assert.Equal(t, int32(streams), opened.Load(), "one attempt per stream: none hedged")
		assert.Equal(t, 200*time.Millisecond, d.Delay(), "the estimator learned nothing")
	})
}
