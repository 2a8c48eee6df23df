package grpcx_test

// The order of the messages a hedged stream's per-copy senders deliver:
// the winner gets every message once, in order, whichever copy wins and
// when (properties).

import (
	"io"
	"strconv"
	"sync"
	"testing"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/grpcx"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"pgregory.net/rapid"
)

// TestHedgeStreamWinnerGetsEveryMessageOnce: two copies start at once; the
// one the test picks sends its headers after it read k messages, then
// echoes everything it read (those k first), until the caller closes; the
// other reads and never answers. One goroutine sends n messages then
// CloseSend while the caller receives. Whatever n, k and the winner, the
// caller receives every message once, in order, then io.EOF.
func TestHedgeStreamWinnerGetsEveryMessageOnce(t *testing.T) {
	noLeaks(t)
	win := make(chan struct {
		c string
		k int
	}, 1)
	srv := &server{duplex: func(_ int, s duplexServer) error {
		c := copyNumber(s.Context())
		w := <-win
		win <- w
		var read []string
		headed := false
		for {
			m, err := s.Recv()
			if err == io.EOF && c == w.c {
				if !headed {
					if err := s.SendHeader(metadata.Pairs("copy", c)); err != nil {
						return err
					}
					for _, b := range read {
						if err := s.Send(reply(b)); err != nil {
							return err
						}
					}
				}
				return nil
			}
			if err == io.EOF { // the loser: until it is cancelled
				<-s.Context().Done()
				return s.Context().Err()
			}
			if err != nil {
				return err
			}
			b := string(m.GetPayload().GetBody())
			if c != w.c {
				continue
			}
			if headed {
				if err := s.Send(reply(b)); err != nil {
					return err
				}
				continue
			}
			read = append(read, b)
			if len(read) >= w.k {
				headed = true
				if err := s.SendHeader(metadata.Pairs("copy", c)); err != nil {
					return err
				}
				for _, b := range read {
					if err := s.Send(reply(b)); err != nil {
						return err
					}
				}
			}
		}
	}}
	cl := serve(t, srv, grpcx.Config{Idempotent: idempotent}, fast...)
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(1, 40).Draw(rt, "n")
		k := rapid.IntRange(1, n).Draw(rt, "k")
		c := rapid.SampledFrom([]string{"", "1"}).Draw(rt, "winner")
		for len(win) > 0 {
			<-win
		}
		win <- struct {
			c string
			k int
		}{c, k}
		s, err := cl.FullDuplexCall(rt.Context(), grpcx.CallOptions(retry.WithHedge(0, 2), retry.WithMaxAttempts(2)))
		require.NoError(rt, err)
		var want []string
		for i := range n {
			want = append(want, strconv.Itoa(i))
		}
		sent := make(chan error, 1)
		go func() {
			for _, b := range want {
				if err := s.Send(body(b)); err != nil {
					sent <- err
					return
				}
			}
			sent <- s.CloseSend()
		}()
		var got []string
		for {
			m, err := s.Recv()
			if err == io.EOF {
				break
			}
			require.NoError(rt, err, "after %v", got)
			got = append(got, string(m.GetPayload().GetBody()))
		}
		require.NoError(rt, <-sent)
		require.Equal(rt, want, got)
	})
}

// echoAfter is a duplex handler: it reads k messages (its copy's k), then
// sends its headers and echoes them, then echoes each message it reads;
// at the end of the upload it answers (if it did not yet) and returns OK.
func echoAfter(ks func(c string) int) func(int, duplexServer) error {
	return func(_ int, s duplexServer) error {
		k := ks(copyNumber(s.Context()))
		var read []string
		headed := false
		answer := func() error {
			headed = true
			if err := s.SendHeader(metadata.Pairs("k", strconv.Itoa(k))); err != nil {
				return err
			}
			for _, b := range read {
				if err := s.Send(reply(b)); err != nil {
					return err
				}
			}
			return nil
		}
		for {
			m, err := s.Recv()
			if err == io.EOF {
				if !headed {
					return answer()
				}
				return nil
			}
			if err != nil {
				return err
			}
			b := string(m.GetPayload().GetBody())
			if headed {
				if err := s.Send(reply(b)); err != nil {
					return err
				}
				continue
			}
			read = append(read, b)
			if len(read) >= k {
				if err := answer(); err != nil {
					return err
				}
			}
		}
	}
}

// TestHedgeStreamRaceToCommitKeepsOrder: two copies start at once, each
// answering after its own random number of messages (so either may win,
// at any point of the upload), under a random ReplayLimit that the
// upload may outgrow (binding the stream to one copy first). The caller
// sends n messages from one goroutine and receives on another: it
// receives every message once, in order, then io.EOF.
func TestHedgeStreamRaceToCommitKeepsOrder(t *testing.T) {
	noLeaks(t)
	var mu sync.Mutex
	kOf := map[string]int{}
	srv := &server{duplex: echoAfter(func(c string) int {
		mu.Lock()
		defer mu.Unlock()
		return kOf[c]
	})}
	limits := map[int]testgrpc.TestServiceClient{}
	for _, l := range []int{0, 1, 10, 40, 100} {
		limits[l] = serve(t, srv, grpcx.Config{Idempotent: idempotent, ReplayLimit: l}, fast...)
	}
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(1, 40).Draw(rt, "n")
		limit := rapid.SampledFrom([]int{0, 1, 10, 40, 100}).Draw(rt, "limit")
		mu.Lock()
		kOf[""] = rapid.IntRange(1, n+1).Draw(rt, "k0")
		kOf["1"] = rapid.IntRange(1, n+1).Draw(rt, "k1")
		mu.Unlock()
		s, err := limits[limit].FullDuplexCall(rt.Context(), grpcx.CallOptions(retry.WithHedge(0, 2), retry.WithMaxAttempts(2)))
		require.NoError(rt, err)
		var want []string
		for i := range n {
			want = append(want, strconv.Itoa(i))
		}
		sent := make(chan error, 1)
		go func() {
			for _, b := range want {
				if err := s.Send(body(b)); err != nil {
					sent <- err
					return
				}
			}
			sent <- s.CloseSend()
		}()
		var got []string
		for {
			m, err := s.Recv()
			if err == io.EOF {
				break
			}
			require.NoError(rt, err, "after %v", got)
			got = append(got, string(m.GetPayload().GetBody()))
		}
		require.NoError(rt, <-sent)
		require.Equal(rt, want, got)
	})
}

// TestHedgeStreamReplayToReplacementKeepsOrder: copies 0 and 1 start at
// once; each, at random, either fails with UNAVAILABLE after reading f
// messages (its replacement, copy 2, starts at once and gets the log
// replayed) or answers after k; copy 2 always answers after its k. The
// caller sends n messages from one goroutine and receives on another:
// whichever copy wins, it receives every message once, in order.
func TestHedgeStreamReplayToReplacementKeepsOrder(t *testing.T) {
	noLeaks(t)
	type plan struct {
		fail bool
		at   int
	}
	var mu sync.Mutex
	plans := map[string]plan{}
	answer := echoAfter(func(c string) int {
		mu.Lock()
		defer mu.Unlock()
		return plans[c].at
	})
	srv := &server{duplex: func(n int, s duplexServer) error {
		mu.Lock()
		p := plans[copyNumber(s.Context())]
		mu.Unlock()
		if !p.fail {
			return answer(n, s)
		}
		for range p.at {
			if _, err := s.Recv(); err != nil {
				break
			}
		}
		return status.Error(codes.Unavailable, "scripted")
	}}
	c := serve(t, srv, grpcx.Config{Idempotent: idempotent}, fast...)
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(1, 30).Draw(rt, "n")
		mu.Lock()
		for _, cn := range []string{"", "1"} {
			plans[cn] = plan{rapid.Bool().Draw(rt, "fail"+cn), rapid.IntRange(0, n+1).Draw(rt, "at"+cn)}
		}
		plans["2"] = plan{false, rapid.IntRange(1, n+1).Draw(rt, "at2")}
		if !plans[""].fail && !plans["1"].fail {
			plans["2"] = plan{} // never started
		}
		for cn, p := range plans {
			if !p.fail && p.at == 0 {
				plans[cn] = plan{false, 1}
			}
		}
		mu.Unlock()
		s, err := c.FullDuplexCall(rt.Context(), grpcx.CallOptions(retry.WithHedge(0, 2), retry.WithMaxAttempts(3)))
		require.NoError(rt, err)
		var want []string
		for i := range n {
			want = append(want, strconv.Itoa(i))
		}
		sent := make(chan error, 1)
		go func() {
			for _, b := range want {
				if err := s.Send(body(b)); err != nil {
					sent <- err
					return
				}
			}
			sent <- s.CloseSend()
		}()
		var got []string
		for {
			m, err := s.Recv()
			if err == io.EOF {
				break
			}
			require.NoError(rt, err, "after %v", got)
			got = append(got, string(m.GetPayload().GetBody()))
		}
		require.NoError(rt, <-sent)
		require.Equal(rt, want, got)
	})
}
