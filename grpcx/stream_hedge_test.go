package grpcx_test

import (
	"io"
	"strings"
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

// copyLog records what each copy of a hedged stream did on the server,
// by its grpc-previous-rpc-attempts ("" for the first copy).
type copyLog struct {
	mu        sync.Mutex
	started   map[string]time.Duration // since t0
	received  map[string][]string      // the bodies each copy read
	cancelled map[string]bool          // the copy's context ended before it returned
	t0        time.Time
}

func newCopyLog() *copyLog {
	return &copyLog{started: map[string]time.Duration{}, received: map[string][]string{}, cancelled: map[string]bool{}, t0: time.Now()}
}

func (l *copyLog) start(c string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.started[c] = time.Since(l.t0)
}

func (l *copyLog) got(c, body string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.received[c] = append(l.received[c], body)
}

func (l *copyLog) cancel(c string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cancelled[c] = true
}

func (l *copyLog) snapshot() (map[string]time.Duration, map[string][]string, map[string]bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	started, received, cancelled := map[string]time.Duration{}, map[string][]string{}, map[string]bool{}
	for k, v := range l.started {
		started[k] = v
	}
	for k, v := range l.received {
		received[k] = append([]string(nil), v...)
	}
	for k, v := range l.cancelled {
		cancelled[k] = v
	}
	return started, received, cancelled
}

// hang waits for the copy's context to end, records it, and returns.
func (l *copyLog) hang(c string, s grpc.ServerStream) error {
	<-s.Context().Done()
	l.cancel(c)
	return s.Context().Err()
}

// readAll reads a duplex or client stream to its end, recording the
// bodies; it reports false if the copy's context ended first.
func (l *copyLog) readAll(c string, recv func() (*testgrpc.Payload, error)) bool {
	for {
		p, err := recv()
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
		l.got(c, string(p.GetBody()))
	}
}

// duplexBy serves FullDuplexCall with a handler chosen by the copy.
func duplexBy(l *copyLog, handlers map[string]func(c string, s duplexServer) error) func(int, duplexServer) error {
	return func(_ int, s duplexServer) error {
		c := copyNumber(s.Context())
		l.start(c)
		h, ok := handlers[c]
		if !ok {
			return status.Error(codes.Internal, "no handler for copy "+c)
		}
		return h(c, s)
	}
}

func duplexRecv(s duplexServer) func() (*testgrpc.Payload, error) {
	return func() (*testgrpc.Payload, error) {
		m, err := s.Recv()
		return m.GetPayload(), err
	}
}

func body(b string) *testgrpc.StreamingOutputCallRequest {
	return &testgrpc.StreamingOutputCallRequest{Payload: &testgrpc.Payload{Body: []byte(b)}}
}

func reply(b string) *testgrpc.StreamingOutputCallResponse {
	return &testgrpc.StreamingOutputCallResponse{Payload: &testgrpc.Payload{Body: []byte(b)}}
}

// echoAfterEOF reads the whole upload, then answers with one message
// naming the copy and what it read.
func echoAfterEOF(l *copyLog) func(c string, s duplexServer) error {
	return func(c string, s duplexServer) error {
		if !l.readAll(c, duplexRecv(s)) {
			l.cancel(c)
			return s.Context().Err()
		}
		_, received, _ := l.snapshot()
		return s.Send(reply("copy " + c + ": " + strings.Join(received[c], ",")))
	}
}

// hangAfterRead reads the upload, then waits until it is cancelled.
func hangAfterRead(l *copyLog) func(c string, s duplexServer) error {
	return func(c string, s duplexServer) error {
		l.readAll(c, duplexRecv(s))
		return l.hang(c, s)
	}
}

// TestHedgeStreamSlowFirstLoses: the first copy of a duplex stream reads
// the upload and never answers; the hedge, sent after the delay, gets the
// messages sent before it (replayed) and after it, in order and once,
// answers, and wins; the server sees the first copy cancelled, having
// read, in order, the messages its sender sent it before that.
func TestHedgeStreamSlowFirstLoses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newCopyLog()
		srv := &server{duplex: duplexBy(l, map[string]func(string, duplexServer) error{
			"":  hangAfterRead(l),
			"1": echoAfterEOF(l),
		})}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithHedge(50*time.Millisecond, 2))...)
		s, err := c.FullDuplexCall(t.Context())
		require.NoError(t, err)
		require.NoError(t, s.Send(body("a")))
		require.NoError(t, s.Send(body("b")))
		time.Sleep(100 * time.Millisecond) // the hedge starts at 50ms
		require.NoError(t, s.Send(body("c")))
		require.NoError(t, s.CloseSend())
		m, err := s.Recv()
		require.NoError(t, err)
		assert.Equal(t, "copy 1: a,b,c", string(m.GetPayload().GetBody()))
		_, err = s.Recv()
		assert.Equal(t, io.EOF, err)
		synctest.Wait()
		started, received, cancelled := l.snapshot()
		assert.Equal(t, map[string]time.Duration{"": 0, "1": 50 * time.Millisecond}, started)
		assert.Equal(t, []string{"a", "b", "c"}, received["1"])
		// The loser's sender sends at its own pace: it may be cancelled
		// before "c" reaches it, never with a message out of order.
		assert.GreaterOrEqual(t, len(received[""]), 2, "a and b, sent before the hedge")
		assert.Equal(t, []string{"a", "b", "c"}[:len(received[""])], received[""])
		assert.Equal(t, map[string]bool{"": true}, cancelled, "the loser is cancelled")
	})
}

// TestHedgeStreamClientStreaming: a client stream (StreamingInputCall)
// whose first copy never answers: the hedge receives every message, those
// sent before it (replayed) and after it, exactly once and in order.
func TestHedgeStreamClientStreaming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newCopyLog()
		srv := &server{input: func(_ int, s inputServer) error {
			c := copyNumber(s.Context())
			l.start(c)
			recv := func() (*testgrpc.Payload, error) {
				m, err := s.Recv()
				return m.GetPayload(), err
			}
			if !l.readAll(c, recv) || c == "" {
				return l.hang(c, s)
			}
			_, received, _ := l.snapshot()
			return s.SendAndClose(&testgrpc.StreamingInputCallResponse{AggregatedPayloadSize: int32(len(received[c]))})
		}}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithHedge(50*time.Millisecond, 2))...)
		s, err := c.StreamingInputCall(t.Context())
		require.NoError(t, err)
		var want []string
		for i := range 6 {
			b := string(rune('a' + i))
			want = append(want, b)
			require.NoError(t, s.Send(&testgrpc.StreamingInputCallRequest{Payload: &testgrpc.Payload{Body: []byte(b)}}))
			time.Sleep(20 * time.Millisecond) // the hedge starts between c and d
		}
		resp, err := s.CloseAndRecv()
		require.NoError(t, err)
		assert.EqualValues(t, 6, resp.GetAggregatedPayloadSize())
		synctest.Wait()
		_, received, cancelled := l.snapshot()
		assert.Equal(t, want, received["1"], "the winner got every message once, in order")
		assert.True(t, cancelled[""])
	})
}

// TestHedgeStreamCommitOnHeaders: the hedge's response headers commit the
// stream before any message: the first copy is cancelled, and no third
// copy follows although one was due; the caller gets the hedge's headers
// and message.
func TestHedgeStreamCommitOnHeaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newCopyLog()
		srv := &server{duplex: duplexBy(l, map[string]func(string, duplexServer) error{
			"": func(c string, s duplexServer) error { return l.hang(c, s) },
			"1": func(c string, s duplexServer) error {
				if err := s.SendHeader(metadata.Pairs("copy", c)); err != nil {
					return err
				}
				time.Sleep(time.Second) // the next hedge would be due at 100ms
				return s.Send(reply("from " + c))
			},
		})}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithHedge(50*time.Millisecond, 3))...)
		s, err := c.FullDuplexCall(t.Context())
		require.NoError(t, err)
		md, err := s.Header()
		require.NoError(t, err)
		assert.Equal(t, []string{"1"}, md.Get("copy"))
		time.Sleep(60 * time.Millisecond)
		_, _, cancelled := l.snapshot()
		assert.True(t, cancelled[""], "the other copy is cancelled at the headers")
		m, err := s.Recv()
		require.NoError(t, err)
		assert.Equal(t, "from 1", string(m.GetPayload().GetBody()))
		require.NoError(t, s.CloseSend())
		_, err = s.Recv()
		assert.Equal(t, io.EOF, err)
		started, _, _ := l.snapshot()
		assert.Len(t, started, 2, "no hedge after the commit")
	})
}

// TestHedgeStreamNonFatalFailure: a copy that fails with a retried code
// (UNAVAILABLE) while another runs lets it run, and the next hedge starts
// at once (not at its delay); the first copy, still running, wins.
// (WithMaxAttempts(3) leaves no room for a fourth copy at 100ms.) The
// caller's grpc.Trailer gets the winner's trailer, not the failed copy's.
func TestHedgeStreamNonFatalFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newCopyLog()
		srv := &server{duplex: duplexBy(l, map[string]func(string, duplexServer) error{
			"": func(c string, s duplexServer) error {
				s.SetTrailer(metadata.Pairs("copy", "first"))
				time.Sleep(200 * time.Millisecond)
				return s.Send(reply("from " + c))
			},
			"1": func(_ string, s duplexServer) error {
				s.SetTrailer(metadata.Pairs("copy", "second"))
				return status.Error(codes.Unavailable, "lost the backend")
			},
			"2": func(c string, s duplexServer) error { return l.hang(c, s) },
		})}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent},
			append(fast, retry.WithHedge(50*time.Millisecond, 3), retry.WithMaxAttempts(3))...)
		var trailer metadata.MD
		s, err := c.FullDuplexCall(t.Context(), grpc.Trailer(&trailer))
		require.NoError(t, err)
		m, err := s.Recv()
		require.NoError(t, err)
		assert.Equal(t, "from ", string(m.GetPayload().GetBody()))
		require.NoError(t, s.CloseSend())
		_, err = s.Recv()
		assert.Equal(t, io.EOF, err)
		synctest.Wait()
		started, _, cancelled := l.snapshot()
		assert.Equal(t, []string{"first"}, trailer.Get("copy"), "grpc.Trailer gets the winner's, never a loser's")
		assert.Equal(t, map[string]time.Duration{"": 0, "1": 50 * time.Millisecond, "2": 50 * time.Millisecond}, started)
		assert.Equal(t, map[string]bool{"2": true}, cancelled)
	})
}
