package grpcx_test

import (
	"context"
	"sort"
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

// copyNumber returns the grpc-previous-rpc-attempts of a call as the
// server sees it: "" for a call's first copy.
func copyNumber(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	return append(md.Get("grpc-previous-rpc-attempts"), "")[0]
}

// slowCopies is a unary handler slow on a chosen fraction of the calls it
// receives: of every per calls, in the order they arrive, the first slow
// stay until the client cancels them (each cancellation puts the copy's
// grpc-previous-rpc-attempts on cancelled); the others answer with
// answer(ctx, role, copy), role counting from slow+1 (a nil answer: OK).
type slowCopies struct {
	per, slow int
	answer    func(ctx context.Context, role int, copy string) error
	cancelled chan string
}

func newSlowCopies(per, slow int, answer func(context.Context, int, string) error) *slowCopies {
	return &slowCopies{per: per, slow: slow, answer: answer, cancelled: make(chan string, 100)}
}

func (s *slowCopies) handle(ctx context.Context, n int) error {
	c, role := copyNumber(ctx), (n-1)%s.per+1
	if role <= s.slow {
		<-ctx.Done()
		s.cancelled <- c
		return ctx.Err()
	}
	if s.answer != nil {
		return s.answer(ctx, role, c)
	}
	return nil
}

// hedgeEvents records the observer's events of hedged calls.
type hedgeEvents struct {
	mu     sync.Mutex
	hedge  []bool // AttemptStartInfo.Hedge, in order
	done   []retry.DoneInfo
	losers int
}

func (e *hedgeEvents) observer() *retry.Observer {
	return &retry.Observer{
		AttemptStart: func(ctx context.Context, a retry.AttemptStartInfo) context.Context {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.hedge = append(e.hedge, a.Hedge)
			return ctx
		},
		AttemptEnd: func(_ context.Context, a retry.AttemptEndInfo) {
			e.mu.Lock()
			defer e.mu.Unlock()
			if a.Lost {
				e.losers++
			}
		},
		Done: func(_ context.Context, d retry.DoneInfo) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.done = append(e.done, d)
		},
	}
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

// TestHedgeUnaryLoserCancelled: against a real server on 127.0.0.1 slow
// on the first copy of each call to arrive, each hedged call is answered
// by the other copy, with that copy's reply (payload) and trailer; the
// server sees the slow copy cancelled; the copies carry
// grpc-previous-rpc-attempts "" and "1".
func TestHedgeUnaryLoserCancelled(t *testing.T) {
	noLeaks(t)
	h := newSlowCopies(2, 1, func(ctx context.Context, _ int, c string) error {
		return grpc.SetTrailer(ctx, metadata.Pairs("copy", c))
	})
	srv := &server{unary: h.handle}
	events := &hedgeEvents{}
	client := serve(t, srv, grpcx.Config{Idempotent: idempotent}, retry.WithHedge(0, 2), retry.WithObserver(events.observer()))
	const calls = 4
	for i := range calls {
		body := []byte{byte(i), 'x'}
		var trailer metadata.MD
		resp, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: body}}, grpc.Trailer(&trailer))
		require.NoError(t, err)
		assert.Equal(t, body, resp.GetPayload().GetBody(), "the winner's reply")
		loser := <-h.cancelled // the server sees the loser cancelled
		require.Len(t, trailer.Get("copy"), 1, "the winner's trailer")
		assert.Equal(t, []string{"", "1"}, sorted([]string{loser, trailer.Get("copy")[0]}))
	}
	got := srv.attempts()
	require.Len(t, got, 2*calls)
	for i := 0; i < len(got); i += 2 {
		assert.Equal(t, []string{"", "1"}, sorted(got[i:i+2]))
	}
	events.mu.Lock()
	defer events.mu.Unlock()
	require.Len(t, events.done, calls)
	for _, d := range events.done {
		assert.Equal(t, 1, d.Hedges)
		assert.Equal(t, 2, d.Attempts)
	}
	assert.Equal(t, calls, events.losers)
}

// TestHedgePreviousAttempts: three copies at once; the third to arrive
// answers. Each copy carries the number of copies sent before it, and the
// other two are cancelled.
func TestHedgePreviousAttempts(t *testing.T) {
	noLeaks(t)
	h := newSlowCopies(3, 2, nil)
	srv := &server{unary: h.handle}
	client := serve(t, srv, grpcx.Config{Idempotent: idempotent}, retry.WithHedge(0, 3))
	_, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
	require.NoError(t, err)
	assert.Equal(t, []string{"", "1", "2"}, sorted(srv.attempts()))
	<-h.cancelled
	<-h.cancelled
}

// TestHedgeFatalCodeCancelsOthers: a copy that ends with a code the
// policy does not retry (NOT_FOUND, not among A6's nonFatalStatusCodes)
// ends the call and cancels the copy still running.
func TestHedgeFatalCodeCancelsOthers(t *testing.T) {
	noLeaks(t)
	h := newSlowCopies(2, 1, func(context.Context, int, string) error { return status.Error(codes.NotFound, "no such item") })
	srv := &server{unary: h.handle}
	client := serve(t, srv, grpcx.Config{Idempotent: idempotent}, retry.WithHedge(0, 2), retry.WithMaxAttempts(5))
	_, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
	require.ErrorIs(t, err, retry.ErrPermanent)
	assert.Equal(t, codes.NotFound, status.Code(err))
	<-h.cancelled
	assert.Equal(t, 2, srv.count(unaryMethod), "no copy after the fatal code")
}

// TestHedgeNonFatalCodeLetsOthersRun: a copy that fails with a code the
// policy retries (UNAVAILABLE) lets the first copy run on, and the next
// hedge starts at once (A6); here the third copy answers.
func TestHedgeNonFatalCodeLetsOthersRun(t *testing.T) {
	noLeaks(t)
	h := newSlowCopies(3, 1, func(_ context.Context, role int, _ string) error {
		if role == 2 {
			return status.Error(codes.Unavailable, "busy")
		}
		return nil
	})
	srv := &server{unary: h.handle}
	events := &hedgeEvents{}
	client := serve(t, srv, grpcx.Config{Idempotent: idempotent}, retry.WithHedge(0, 2), retry.WithMaxAttempts(3),
		retry.WithObserver(events.observer()))
	_, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
	require.NoError(t, err)
	assert.Equal(t, []string{"", "1", "2"}, sorted(srv.attempts()))
	<-h.cancelled // the first copy, still running, lost to the third
	events.mu.Lock()
	defer events.mu.Unlock()
	assert.Equal(t, []bool{false, true, true}, events.hedge)
}

// TestHedgePushbackStopsHedging: a hedge answered UNAVAILABLE with a
// grpc-retry-pushback-ms trailer stops the hedging: the first copy is
// cancelled, and the next copy is a retry after the pushback, alone.
// A negative pushback (do not retry) ends the call like a fatal code.
func TestHedgePushbackStopsHedging(t *testing.T) {
	for _, tt := range []struct {
		pushback string
		ok       bool
	}{{"5", true}, {"-1", false}, {"soon", false}} {
		t.Run(tt.pushback, func(t *testing.T) {
			noLeaks(t)
			h := newSlowCopies(3, 1, func(ctx context.Context, role int, _ string) error {
				if role == 2 {
					_ = grpc.SetTrailer(ctx, metadata.Pairs("grpc-retry-pushback-ms", tt.pushback))
					return status.Error(codes.Unavailable, "come back later")
				}
				return nil
			})
			srv := &server{unary: h.handle}
			events := &hedgeEvents{}
			client := serve(t, srv, grpcx.Config{Idempotent: idempotent}, retry.WithHedge(0, 2), retry.WithMaxAttempts(4),
				retry.WithObserver(events.observer()))
			_, err := client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
			<-h.cancelled // the running copy is cancelled
			events.mu.Lock()
			defer events.mu.Unlock()
			if !tt.ok {
				require.ErrorIs(t, err, retry.ErrPermanent)
				assert.Equal(t, 2, srv.count(unaryMethod))
				assert.Equal(t, []bool{false, true}, events.hedge)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, []string{"", "1", "2"}, sorted(srv.attempts()))
			assert.Equal(t, []bool{false, true, false}, events.hedge, "the third copy is a retry, not a hedge")
			require.Len(t, events.done, 1)
			assert.Equal(t, 1, events.done[0].Hedges)
		})
	}
}

// TestHedgeNonIdempotentNeverHedged runs in virtual time over an
// in-memory connection: a method not declared idempotent is sent exactly
// once however slow it is, where an idempotent one gets its hedges; and
// IdempotentCall makes one call hedgeable.
func TestHedgeNonIdempotentNeverHedged(t *testing.T) {
	for _, tt := range []struct {
		name   string
		method string
		opts   []grpc.CallOption
		sends  int
	}{
		{"not idempotent", emptyMethod, nil, 1},
		{"idempotent", unaryMethod, nil, 3},
		{"IdempotentCall", emptyMethod, []grpc.CallOption{grpcx.IdempotentCall()}, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				slow := func(ctx context.Context, _ int) error {
					select {
					case <-time.After(time.Second):
						return nil
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				srv := &server{unary: slow, empty: slow}
				client := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent}, retry.WithHedge(10*time.Millisecond, 3))
				var err error
				if tt.method == emptyMethod {
					_, err = client.EmptyCall(context.Background(), &testgrpc.Empty{}, tt.opts...)
				} else {
					_, err = client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{}, tt.opts...)
				}
				require.NoError(t, err)
				assert.Equal(t, tt.sends, srv.count(tt.method))
			})
		})
	}
}
