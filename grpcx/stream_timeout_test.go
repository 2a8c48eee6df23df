package grpcx_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/grpcx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// TestStreamAttemptTimeout: the attempt timeout bounds a stream only until
// its first response: a stream that lives 1s survives a 50ms timeout, and
// a first response that takes too long is retried.
func TestStreamAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &server{output: func(n int, _ *testgrpc.StreamingOutputCallRequest, s outputServer) error {
			if n == 1 {
				<-s.Context().Done() // never answers: the attempt timeout ends it
				return s.Context().Err()
			}
			for i := range 5 {
				if err := s.Send(msg(n, i)); err != nil {
					return err
				}
				time.Sleep(250 * time.Millisecond)
			}
			return nil
		}}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent},
			append(fast, retry.WithAttemptTimeout(50*time.Millisecond))...)
		start := time.Now()
		s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
		require.NoError(t, err)
		got, err := recvAll(s)
		require.NoError(t, err)
		assert.Equal(t, []string{"2.0", "2.1", "2.2", "2.3", "2.4"}, got)
		assert.Equal(t, 50*time.Millisecond+5*250*time.Millisecond, time.Since(start))
		assert.Equal(t, 2, srv.count(outputMethod))
	})
}

// TestStreamAttemptTimeoutSparesUpload: an upload that lasts longer than
// the attempt timeout is not cut while the caller sends (each message
// restarts the timeout); once the caller stops sending, a server that
// does not answer within the timeout is retried.
func TestStreamAttemptTimeoutSparesUpload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &server{input: func(n int, s inputServer) error {
			if n == 1 {
				for { // reads the whole upload, then never answers
					if _, err := s.Recv(); err != nil {
						break
					}
				}
				<-s.Context().Done()
				return s.Context().Err()
			}
			return sumInput(n, s)
		}}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent},
			append(fast, retry.WithAttemptTimeout(100*time.Millisecond), retry.WithMaxAttempts(3))...)
		s, err := c.StreamingInputCall(t.Context())
		require.NoError(t, err)
		start := time.Now()
		for range 10 {
			require.NoError(t, s.Send(&testgrpc.StreamingInputCallRequest{Payload: &testgrpc.Payload{Body: make([]byte, 10)}}))
			time.Sleep(50 * time.Millisecond)
		}
		resp, err := s.CloseAndRecv()
		require.NoError(t, err)
		assert.EqualValues(t, 100, resp.GetAggregatedPayloadSize())
		assert.Equal(t, 2, srv.count(inputMethod), "the upload is not cut; the silence after it is")
		assert.Equal(t, 500*time.Millisecond+100*time.Millisecond, time.Since(start))
	})
}

// TestStreamAttemptTimeoutEndsAtHeaders: response headers end the attempt
// timeout even when the caller does not ask for them: a first message
// slower than the timeout is received, not cut.
func TestStreamAttemptTimeoutEndsAtHeaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &server{output: func(n int, _ *testgrpc.StreamingOutputCallRequest, s outputServer) error {
			if err := s.SendHeader(metadata.Pairs("hello", "1")); err != nil {
				return err
			}
			time.Sleep(200 * time.Millisecond)
			return s.Send(msg(n, 0))
		}}
		c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent},
			append(fast, retry.WithAttemptTimeout(50*time.Millisecond))...)
		s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
		require.NoError(t, err)
		got, err := recvAll(s)
		require.NoError(t, err)
		assert.Equal(t, []string{"1.0"}, got)
		assert.Equal(t, 1, srv.count(outputMethod))
	})
}

// TestStreamAttemptTimeoutRacesHeaders: the server sends its headers at
// the very instant the attempt timeout fires (100ms), and its message some
// time later (50ms, as in the failure this test was written for) or with
// them; a retried attempt answers the same way, but at once. In virtual time both happen
// at one instant, so which one the stream takes first varies from run to
// run. Either is a correct outcome, but nothing else is: the timeout wins
// (the attempt is cancelled and retried, and its headers and message
// never reach the caller), or the response wins (the stream continues, no
// longer bounded by the timeout). Each run must end with exactly one
// message, from the attempt whose headers the caller sees (whether it asks
// for them before or after the message), then io.EOF; never with the
// CANCELLED of an attempt the stream cancelled itself.
func TestStreamAttemptTimeoutRacesHeaders(t *testing.T) {
	runs := 2000 // before the fix, 34 of 2,000 ended CANCELLED
	switch {
	case testing.Short():
		runs = 200
	case raceEnabled:
		runs = 1000 // ten times slower
	}
	for name, tc := range map[string]struct {
		gap         time.Duration // from the headers to the message
		headerFirst bool          // the caller asks for the headers before the message
	}{
		"message 50ms after the headers": {gap: 50 * time.Millisecond},
		"message with the headers":       {gap: 0},
		"Header before Recv":             {gap: 50 * time.Millisecond, headerFirst: true},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := &server{output: func(n int, _ *testgrpc.StreamingOutputCallRequest, s outputServer) error {
					if md, _ := metadata.FromIncomingContext(s.Context()); len(md.Get("grpc-previous-rpc-attempts")) == 0 {
						time.Sleep(100 * time.Millisecond)
					}
					if err := s.SetHeader(metadata.Pairs("call", strconv.Itoa(n))); err != nil {
						return err
					}
					if tc.gap > 0 {
						if err := s.SendHeader(nil); err != nil {
							return err
						}
						time.Sleep(tc.gap)
					}
					return s.Send(msg(n, 0)) // sends the headers first, if they are not sent yet
				}}
				c := serveBuf(t, srv, grpcx.Config{Idempotent: idempotent},
					append(fast, retry.WithAttemptTimeout(100*time.Millisecond), retry.WithMaxAttempts(2))...)
				failed := map[string]int{}
				retried, committed := 0, 0
				for range runs {
					before := srv.count(outputMethod)
					got, err := raceRun(t, c, tc.headerFirst)
					switch {
					case err != nil:
						failed[fmt.Sprintf("%v: %v", status.Code(err), err)]++
					case got != "":
						failed[got]++
					case srv.count(outputMethod)-before == 2:
						retried++
					default:
						committed++
					}
				}
				assert.Empty(t, failed, "runs that did not end with one message of the attempt whose headers the caller saw")
				t.Logf("%d runs: the timeout won %d times (the stream was retried), the response %d times", runs, retried, committed)
			})
		})
	}
}

// raceRun runs one stream of TestStreamAttemptTimeoutRacesHeaders,
// asking for its headers before its message when headerFirst is set. It
// returns the error that ended it, or a description of what was wrong
// with a stream that did not fail ("" if nothing).
func raceRun(t *testing.T, c testgrpc.TestServiceClient, headerFirst bool) (string, error) {
	s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
	if err != nil {
		return "", err
	}
	var early metadata.MD
	if headerFirst {
		early, err = s.Header()
		require.NoError(t, err)
	}
	m, err := s.Recv()
	if err != nil {
		return "", err
	}
	md, err := s.Header()
	require.NoError(t, err)
	call := append(md.Get("call"), "?")[0]
	if body := string(m.GetPayload().GetBody()); body != call+".0" {
		return fmt.Sprintf("message %s after the headers of call %s", body, call), nil
	}
	if early != nil && early.Get("call")[0] != call {
		return fmt.Sprintf("headers of call %s, then of call %s", early.Get("call")[0], call), nil
	}
	if _, err := s.Recv(); err != io.EOF {
		return fmt.Sprintf("after the message: %v", err), nil
	}
	return "", nil
}

// slowHeader is a client stream whose Header returns late, as an inner
// interceptor (or a busy scheduler) may make it.
type slowHeader struct {
	grpc.ClientStream
	delay time.Duration
}

func (s slowHeader) Header() (metadata.MD, error) {
	time.Sleep(s.delay)
	return s.ClientStream.Header()
}

// TestStreamExpiredResponseTrailerUnread: a (non-hedged) stream's first
// attempt answers at once, then ends UNAVAILABLE with a pushback saying
// not to retry; an inner interceptor delays its headers (to 120ms) past
// the attempt timeout (100ms), and the caller reads at 150ms: the
// response is dropped, and the attempt's trailer is not read (grpc-go's
// trailer can be read only once the stream ended, which, from the
// caller's side, it has not; and the timeout, ours, is no server's
// word), so the attempt is retried as any that hit its timeout, and the
// retry answers. (Reading it, the stream ended with the pushback.)
func TestStreamExpiredResponseTrailerUnread(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newCopyLog()
		srv := &server{duplex: duplexBy(l, map[string]func(string, duplexServer) error{
			"": func(c string, s duplexServer) error {
				if err := s.Send(reply("from " + c)); err != nil {
					return err
				}
				return pushedBack("-1")(c, s)
			},
			"1": answerAfter(0),
		})}
		inner := func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			cs, err := streamer(ctx, desc, cc, method, opts...)
			if err != nil {
				return nil, err
			}
			return slowHeader{ClientStream: cs, delay: 120 * time.Millisecond}, nil
		}
		lis := bufconn.Listen(1 << 20)
		run(t, srv, lis)
		dialer := grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) })
		cc := dial(t, "passthrough:///bufconn", dialer, grpc.WithChainStreamInterceptor(
			grpcx.StreamClientInterceptor(grpcx.Config{Idempotent: idempotent}, append(fast, retry.WithAttemptTimeout(100*time.Millisecond))...), inner))
		s, err := testgrpc.NewTestServiceClient(cc).FullDuplexCall(t.Context())
		require.NoError(t, err)
		time.Sleep(150 * time.Millisecond)
		assert.Equal(t, "from 1", firstMessage(t, s))
		time.Sleep(time.Second) // the retry's slow Header returns
	})
}
