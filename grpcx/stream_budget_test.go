package grpcx_test

import (
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/grpcx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
)

// TestStreamSuccessDeposits: a stream that succeeds is reported to the
// budget as the call's success: its deposit (PerSuccess) is made once,
// when the stream commits (its headers, its first message, or its end with
// OK arrive), for every kind of stream. The budget is first drained below
// its capacity, so that a deposit shows (and a second one would).
func TestStreamSuccessDeposits(t *testing.T) {
	const perSuccess = 0.25
	hello := metadata.Pairs("hello", "1")
	for name, tc := range map[string]struct {
		srv *server
		// run drives the stream to its end; deposited asserts, at the
		// moment it is called, that the deposit was made.
		run func(t *testing.T, c testgrpc.TestServiceClient, deposited func(string))
	}{
		"server stream, first message": {
			srv: &server{output: func(n int, _ *testgrpc.StreamingOutputCallRequest, s outputServer) error {
				return s.Send(msg(n, 0))
			}},
			run: func(t *testing.T, c testgrpc.TestServiceClient, deposited func(string)) {
				s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
				require.NoError(t, err)
				_, err = s.Recv()
				require.NoError(t, err)
				deposited("at the first message")
				_, err = s.Recv()
				require.Equal(t, io.EOF, err)
			},
		},
		"server stream, OK without a message": {
			srv: &server{output: func(int, *testgrpc.StreamingOutputCallRequest, outputServer) error { return nil }},
			run: func(t *testing.T, c testgrpc.TestServiceClient, deposited func(string)) {
				s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
				require.NoError(t, err)
				_, err = s.Recv()
				require.Equal(t, io.EOF, err)
				deposited("at the end")
			},
		},
		"server stream, headers read by Header": {
			srv: &server{output: func(n int, _ *testgrpc.StreamingOutputCallRequest, s outputServer) error {
				if err := s.SendHeader(hello); err != nil {
					return err
				}
				time.Sleep(time.Second)
				return s.Send(msg(n, 0))
			}},
			run: func(t *testing.T, c testgrpc.TestServiceClient, deposited func(string)) {
				s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{})
				require.NoError(t, err)
				md, err := s.Header()
				require.NoError(t, err)
				require.Equal(t, []string{"1"}, md.Get("hello"))
				deposited("at the headers, a second before the message")
				_, err = recvAll(s)
				require.NoError(t, err)
			},
		},
		"server stream, headers the caller does not ask for": {
			srv: &server{output: func(n int, _ *testgrpc.StreamingOutputCallRequest, s outputServer) error {
				if err := s.SendHeader(hello); err != nil {
					return err
				}
				time.Sleep(time.Second)
				return s.Send(msg(n, 0))
			}},
			run: func(t *testing.T, c testgrpc.TestServiceClient, deposited func(string)) {
				// With an attempt timeout, the stream watches for headers.
				s, err := c.StreamingOutputCall(t.Context(), &testgrpc.StreamingOutputCallRequest{},
					grpcx.CallOptions(retry.WithAttemptTimeout(time.Hour)))
				require.NoError(t, err)
				time.Sleep(time.Millisecond)
				deposited("at the headers, before any Recv")
				_, err = recvAll(s)
				require.NoError(t, err)
			},
		},
		"client stream": {
			srv: &server{input: func(n int, s inputServer) error { return sumInput(n+1, s) }},
			run: func(t *testing.T, c testgrpc.TestServiceClient, deposited func(string)) {
				s, err := c.StreamingInputCall(t.Context())
				require.NoError(t, err)
				require.NoError(t, s.Send(&testgrpc.StreamingInputCallRequest{Payload: &testgrpc.Payload{Body: make([]byte, 3)}}))
				resp, err := s.CloseAndRecv()
				require.NoError(t, err)
				require.EqualValues(t, 3, resp.GetAggregatedPayloadSize())
				deposited("at the response")
			},
		},
		"bidi stream": {
			srv: &server{duplex: func(n int, s duplexServer) error {
				for {
					if _, err := s.Recv(); err != nil {
						return nil
					}
					if err := s.Send(&testgrpc.StreamingOutputCallResponse{}); err != nil {
						return err
					}
				}
			}},
			run: func(t *testing.T, c testgrpc.TestServiceClient, deposited func(string)) {
				s, err := c.FullDuplexCall(t.Context())
				require.NoError(t, err)
				require.NoError(t, s.Send(&testgrpc.StreamingOutputCallRequest{}))
				_, err = s.Recv()
				require.NoError(t, err)
				deposited("at the first message")
				require.NoError(t, s.Send(&testgrpc.StreamingOutputCallRequest{}))
				_, err = s.Recv()
				require.NoError(t, err)
				require.NoError(t, s.CloseSend())
				_, err = s.Recv()
				require.Equal(t, io.EOF, err)
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b, err := retry.NewBudget(retry.BudgetConfig{Capacity: 10, PerSuccess: perSuccess, RetryCost: 1})
				require.NoError(t, err)
				tc.srv.unary = failFirst(4, codes.Unavailable)
				c := serveBuf(t, tc.srv, grpcx.Config{Idempotent: idempotent},
					append(fast, retry.WithBudget(b), retry.WithMaxAttempts(5))...)
				_, err = c.UnaryCall(t.Context(), &testgrpc.SimpleRequest{})
				require.NoError(t, err)
				drained := 10 - 4 + perSuccess
				require.InDelta(t, drained, b.Tokens(), 1e-9, "four retries, one success")

				tc.run(t, c, func(when string) {
					assert.InDelta(t, drained+perSuccess, b.Tokens(), 1e-9, "deposited %s", when)
				})
				assert.InDelta(t, drained+perSuccess, b.Tokens(), 1e-9, "one deposit per stream")
			})
		})
	}
}
