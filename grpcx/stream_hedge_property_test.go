package grpcx_test

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/grpcx"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"pgregory.net/rapid"
)

// copyBoard is the server side of TestPropertyHedgeStreamOneWinner: each
// copy of a call registers as it arrives, waits for the test's order
// (win: send headers and a message; fail: UNAVAILABLE) or its
// cancellation, and records how it ended.
type copyBoard struct {
	mu      sync.Mutex
	arrived chan string            // copy numbers, as they arrive
	orders  map[string]chan bool   // per copy: true win, false fail
	endings map[string]chan string // per copy: "won", "failed", "cancelled"
}

func (b *copyBoard) reset(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.arrived = make(chan string, n)
	b.orders, b.endings = map[string]chan bool{}, map[string]chan string{}
	for i := range n {
		c := strconv.Itoa(i)
		if i == 0 {
			c = ""
		}
		b.orders[c], b.endings[c] = make(chan bool, 1), make(chan string, 1)
	}
}

func (b *copyBoard) handle(_ int, s duplexServer) error {
	c := copyNumber(s.Context())
	b.mu.Lock()
	order, ending, arrived := b.orders[c], b.endings[c], b.arrived
	b.mu.Unlock()
	arrived <- c
	select {
	case win := <-order:
		if !win {
			ending <- "failed"
			return status.Error(codes.Unavailable, "scripted")
		}
		if err := s.SendHeader(metadata.Pairs("copy", c)); err != nil {
			ending <- "cancelled"
			return err
		}
		if err := s.Send(reply(c)); err != nil {
			ending <- "cancelled"
			return err
		}
		for { // until the client closes (the winner) or cancels (a loser)
			if _, err := s.Recv(); err != nil {
				if s.Context().Err() != nil {
					ending <- "cancelled"
					return s.Context().Err()
				}
				ending <- "won"
				return nil
			}
		}
	case <-s.Context().Done():
		ending <- "cancelled"
		return s.Context().Err()
	}
}

// TestPropertyHedgeStreamOneWinner: n copies of a stream start at once
// (WithHedge(0, n), n attempts); the server then, in a random order and
// with random pauses (until a copy told to fail has ended), tells each to answer (headers and a message) or to
// fail with UNAVAILABLE. Whatever the schedule: the caller receives the
// message of exactly one copy told to answer, and no other, or, when all
// were told to fail, UNAVAILABLE after n attempts; every other copy
// either failed as told or was cancelled (the server sees its context
// end); the policy hears of every copy's end exactly once, and of one
// success at most.
func TestPropertyHedgeStreamOneWinner(t *testing.T) {
	noLeaks(t)
	b := &copyBoard{}
	srv := &server{duplex: b.handle}
	c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, fast...)
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(2, 4).Draw(rt, "copies")
		order := rapid.Permutation([]int{0, 1, 2, 3}[:n]).Draw(rt, "order")
		wins := rapid.SliceOfN(rapid.Bool(), n, n).Draw(rt, "wins")
		pauses := rapid.SliceOfN(rapid.Bool(), n, n).Draw(rt, "pauses")
		b.reset(n)
		ends, dones := make(chan error, 2*n), make(chan retry.DoneInfo, 2)
		obs := &retry.Observer{
			AttemptEnd: func(_ context.Context, a retry.AttemptEndInfo) { ends <- a.Err },
			Done:       func(_ context.Context, d retry.DoneInfo) { dones <- d },
		}
		s, err := c.FullDuplexCall(rt.Context(), grpcx.CallOptions(retry.WithHedge(0, n), retry.WithMaxAttempts(n), retry.WithObserver(obs)))
		require.NoError(rt, err)
		for range n {
			<-b.arrived
		}
		name := func(i int) string {
			if i == 0 {
				return ""
			}
			return strconv.Itoa(i)
		}
		told := map[string]bool{}
		for k, i := range order {
			b.orders[name(i)] <- wins[k]
			told[name(i)] = wins[k]
			if pauses[k] && !wins[k] { // a winner ends only when the caller closes
				<-b.endingPeek(name(i))
			}
		}
		m, err := s.Recv()
		anyWin := false
		for _, w := range wins {
			anyWin = anyWin || w
		}
		winner := ""
		if anyWin {
			require.NoError(rt, err)
			winner = string(m.GetPayload().GetBody())
			require.True(rt, told[winner], "the winner %q was told to answer", winner)
			require.NoError(rt, s.CloseSend())
			_, err = s.Recv()
			require.Error(rt, err)
		} else {
			require.Equal(rt, codes.Unavailable, status.Code(err))
			require.ErrorIs(rt, err, retry.ErrExhausted)
		}
		successes := 0
		for range n {
			if <-ends == nil {
				successes++
			}
		}
		for i := range n {
			got := b.ending(name(i))
			switch {
			case anyWin && name(i) == winner:
				require.Equal(rt, "won", got)
			case got == "failed":
				require.False(rt, told[name(i)])
			default:
				require.Equal(rt, "cancelled", got, "copy %q", name(i))
			}
		}
		require.Equal(rt, map[bool]int{true: 1, false: 0}[anyWin], successes)
		done := <-dones
		require.Equal(rt, n, done.Attempts, "the call's one Done has its count of copies")
		require.Empty(rt, ends, "no copy is reported twice")
		require.Empty(rt, dones, "one Done per call")
	})
}

// endingPeek returns a channel that is ready when copy c has ended,
// leaving its ending for ending.
func (b *copyBoard) endingPeek(c string) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		e := b.ending(c)
		b.mu.Lock()
		b.endings[c] <- e
		b.mu.Unlock()
		close(done)
	}()
	return done
}

// ending waits for copy c's ending.
func (b *copyBoard) ending(c string) string {
	b.mu.Lock()
	ch := b.endings[c]
	b.mu.Unlock()
	return <-ch
}
