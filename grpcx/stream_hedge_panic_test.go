package grpcx_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/grpcx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
)

// panicStreamer is an inner stream interceptor that panics, as a buggy
// interceptor chained after the retry interceptor may.
func panicStreamer(context.Context, *grpc.StreamDesc, *grpc.ClientConn, string, grpc.Streamer, ...grpc.CallOption) (grpc.ClientStream, error) {
	panic("inner interceptor panics")
}

// TestHedgeStreamPanicReachesCaller: a panic in one copy reaches the
// caller. A hedged stream creates every copy, the first too, on a
// goroutine of its own, and its driver runs the observer's hooks on
// another: a panic of the inner interceptor chain (streamer), or of an
// observer hook as a hedge starts (observer), is recovered there and
// panics again on the caller's goroutine: in the interceptor, or in
// RecvMsg. Run in child processes, which report what they saw (a panic
// not recovered would end the test binary).
func TestHedgeStreamPanicReachesCaller(t *testing.T) {
	switch os.Getenv("GRPCX_HEDGE_PANIC_CHILD") {
	case "streamer":
		srv := &server{duplex: func(int, duplexServer) error { return nil }}
		cc := dial(t, listen(t, srv),
			grpc.WithChainStreamInterceptor(
				grpcx.StreamClientInterceptor(grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithHedge(time.Second, 2))...),
				panicStreamer))
		recoverCall(func() { _, _ = testgrpc.NewTestServiceClient(cc).FullDuplexCall(t.Context()) })
		return
	case "observer":
		// The hedge's AttemptStart hook panics: it runs on the driver.
		obs := &retry.Observer{AttemptStart: func(ctx context.Context, a retry.AttemptStartInfo) context.Context {
			if a.Hedge {
				panic("observer panics")
			}
			return ctx
		}}
		srv := &server{duplex: func(_ int, s duplexServer) error {
			<-s.Context().Done()
			return nil
		}}
		c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithHedge(time.Millisecond, 2), retry.WithObserver(obs))...)
		recoverCall(func() {
			s, err := c.FullDuplexCall(t.Context())
			if err == nil {
				_, _ = s.Recv()
			}
		})
		return
	}
	for mode, want := range map[string]string{"streamer": "inner interceptor panics", "observer": "observer panics"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHedgeStreamPanicReachesCaller$", "-test.count=1")
			cmd.Env = append(os.Environ(), "GRPCX_HEDGE_PANIC_CHILD="+mode)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "the child process died:\n%s", firstLines(out, 4))
			assert.Contains(t, string(out), "CALLER RECOVERED: "+want)
		})
	}
}

// recoverCall runs call and prints the panic it recovers, if any.
func recoverCall(call func()) {
	defer func() {
		if r := recover(); r != nil {
			_, _ = fmt.Fprintf(os.Stdout, "CALLER RECOVERED: %v\n", r)
		}
	}()
	call()
}

func firstLines(b []byte, n int) string {
	lines := bytes.SplitN(b, []byte("\n"), n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// TestHedgeStreamPanicKeepsBudgetAndBreaker: a hedged stream's hedge
// panics, in an inner interceptor as it is created (the hedge ran: the
// budget keeps its charge, as retry.DoHedged's), or in the observer's
// AttemptStart as it starts (the engine gives its tokens back: it was not
// sent). The caller's Recv panics with the value; the first copy is
// cancelled; a breaker that opens at the first failure records
// none (every copy counts as nothing), and the next stream succeeds.
func TestHedgeStreamPanicKeepsBudgetAndBreaker(t *testing.T) {
	for name, tc := range map[string]struct {
		inner  bool
		tokens float64
	}{
		"inner interceptor": {inner: true, tokens: 9},
		"observer hook":     {inner: false, tokens: 10},
	} {
		t.Run(name, func(t *testing.T) {
			noLeaks(t)
			br, err := retry.NewBreaker(retry.BreakerConfig{FailureThreshold: 1, RecoveryTimeout: time.Hour})
			require.NoError(t, err)
			b, err := retry.NewBudget(retry.BudgetConfig{Capacity: 10})
			require.NoError(t, err)
			var panicking atomic.Bool
			panicking.Store(true)
			arrived, cancelled := make(chan struct{}), make(chan string, 1)
			srv := &server{duplex: func(_ int, s duplexServer) error {
				if !panicking.Load() {
					return s.Send(reply("up"))
				}
				close(arrived)
				<-s.Context().Done()
				cancelled <- copyNumber(s.Context())
				return s.Context().Err()
			}}
			inner := func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
				md, _ := metadata.FromOutgoingContext(ctx)
				if tc.inner && panicking.Load() && len(md.Get("grpc-previous-rpc-attempts")) > 0 {
					<-arrived // the first copy reached the server
					panic("hedge panics")
				}
				return streamer(ctx, desc, cc, method, opts...)
			}
			obs := &retry.Observer{AttemptStart: func(ctx context.Context, a retry.AttemptStartInfo) context.Context {
				if !tc.inner && panicking.Load() && a.Hedge {
					<-arrived
					panic("hedge panics")
				}
				return ctx
			}}
			opts := append(fast, retry.WithHedge(time.Millisecond, 2), retry.WithBreaker(br), retry.WithBudget(b), retry.WithObserver(obs))
			cc := dial(t, listen(t, srv), grpc.WithChainStreamInterceptor(
				grpcx.StreamClientInterceptor(grpcx.Config{Idempotent: idempotent}, opts...), inner))
			c := testgrpc.NewTestServiceClient(cc)
			var got any
			func() {
				defer func() { got = recover() }()
				s, err := c.FullDuplexCall(t.Context())
				if err == nil {
					_, _ = s.Recv()
				}
				t.Error("no panic")
			}()
			assert.Equal(t, "hedge panics", got)
			assert.Empty(t, <-cancelled, "the first copy was cancelled")
			assert.InDelta(t, tc.tokens, b.Tokens(), 1e-9)
			assert.Equal(t, retry.BreakerClosed, br.State())
			assert.Zero(t, br.Stats().Failures, "a panic and a cancelled copy count as nothing")

			panicking.Store(false)
			s, err := c.FullDuplexCall(t.Context())
			require.NoError(t, err)
			m, err := s.Recv()
			require.NoError(t, err)
			assert.Equal(t, "up", string(m.GetPayload().GetBody()))
		})
	}
}
