package grpcx_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/grpcx"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
	"pgregory.net/rapid"
)

// TestPropertyServerStreamNeverReplays: whatever the server does on each
// call (fail with a retried or a final code after some messages, or send
// them all), the caller of a server stream receives the messages of one
// call only, in order, without a gap or a repeat; it gets them all exactly
// when it gets no error; and a call is retried only if the previous one
// failed with a retried code before its first message.
func TestPropertyServerStreamNeverReplays(t *testing.T) {
	noLeaks(t)
	const total = 4
	type step struct {
		after int        // messages sent before failing
		code  codes.Code // the failure; OK: send all and succeed
	}
	var mu sync.Mutex
	var script []step
	srv := &server{output: func(n int, _ *testgrpc.StreamingOutputCallRequest, s outputServer) error {
		mu.Lock()
		st := step{code: codes.OK}
		if n-1 < len(script) {
			st = script[n-1]
		}
		mu.Unlock()
		for i := range total {
			if st.code != codes.OK && i == st.after {
				return status.Error(st.code, "scripted")
			}
			if err := s.Send(msg(n, i)); err != nil {
				return err
			}
		}
		if st.code != codes.OK {
			return status.Error(st.code, "scripted")
		}
		return nil
	}}
	c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithMaxAttempts(4))...)

	rapid.Check(t, func(rt *rapid.T) {
		steps := rapid.SliceOfN(rapid.Custom(func(rt *rapid.T) step {
			return step{
				after: rapid.IntRange(0, total).Draw(rt, "after"),
				code:  rapid.SampledFrom([]codes.Code{codes.OK, codes.Unavailable, codes.Aborted, codes.NotFound}).Draw(rt, "code"),
			}
		}), 1, 6).Draw(rt, "script")
		mu.Lock()
		script = steps
		mu.Unlock()
		srv.reset()

		s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
		require.NoError(rt, err)
		got, err := recvAll(s)

		// The calls that the rules allow: retry while the failure came
		// before the first message with a retried code, up to 4 attempts.
		last := 0
		for last < 4 {
			st := step{code: codes.OK}
			if last < len(steps) {
				st = steps[last]
			}
			last++
			if st.code == codes.OK || st.code == codes.NotFound || st.after > 0 {
				break // a success, a final code, or a message delivered
			}
		}
		require.Equal(rt, last, srv.count(outputMethod), "calls made")
		st := step{code: codes.OK}
		if last-1 < len(steps) {
			st = steps[last-1]
		}
		want := total
		if st.code != codes.OK {
			want = st.after
		}
		require.Len(rt, got, want)
		for i, body := range got {
			require.Equal(rt, fmt.Sprintf("%d.%d", last, i), body, "message %d: all from the last call, in order", i)
		}
		if st.code == codes.OK {
			require.NoError(rt, err)
		} else {
			require.Equal(rt, st.code, status.Code(err))
		}
	})
}
