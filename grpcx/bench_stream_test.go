package grpcx_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/grpcx"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
)

// fakeStream is a client stream without I/O: it accepts every message and
// answers one message, then io.EOF.
type fakeStream struct {
	ctx  context.Context
	sent int
	done bool
}

func (f *fakeStream) Header() (metadata.MD, error) { return metadata.MD{}, nil }
func (f *fakeStream) Trailer() metadata.MD         { return nil }
func (f *fakeStream) CloseSend() error             { return nil }
func (f *fakeStream) Context() context.Context     { return f.ctx }
func (f *fakeStream) SendMsg(any) error            { f.sent++; return nil }
func (f *fakeStream) RecvMsg(any) error {
	if f.done {
		return io.EOF
	}
	f.done = true
	return nil
}

// benchStream runs a client-streaming call of sends messages through the
// stream interceptor built from opts, around a stream without I/O.
func benchStream(b *testing.B, sends int, opts ...retry.Option) {
	p, err := retry.NewPolicy(append([]retry.Option{retry.WithMaxAttempts(3), retry.WithBackoff(retry.Constant(0))}, opts...)...)
	require.NoError(b, err)
	ic := grpcx.StreamClientInterceptor(grpcx.Config{Idempotent: idempotent}, p)
	desc := &grpc.StreamDesc{ClientStreams: true}
	streamer := func(ctx context.Context, _ *grpc.StreamDesc, _ *grpc.ClientConn, _ string, _ ...grpc.CallOption) (grpc.ClientStream, error) {
		return &fakeStream{ctx: ctx}, nil
	}
	req := &testgrpc.StreamingInputCallRequest{Payload: &testgrpc.Payload{Body: make([]byte, 16)}}
	resp := &testgrpc.StreamingInputCallResponse{}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		cs, err := ic(ctx, desc, nil, inputMethod, streamer)
		if err != nil {
			b.Fatal(err)
		}
		for range sends {
			if err := cs.SendMsg(req); err != nil {
				b.Fatal(err)
			}
		}
		if err := cs.CloseSend(); err != nil {
			b.Fatal(err)
		}
		if err := cs.RecvMsg(resp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamSuccess: a client stream of 4 messages whose first
// attempt answers, through the stream interceptor (not hedged).
func BenchmarkStreamSuccess(b *testing.B) { benchStream(b, 4) }

// BenchmarkStreamHedgedFirstWins: the same stream under a policy that
// hedges, whose first copy answers before the hedge delay.
func BenchmarkStreamHedgedFirstWins(b *testing.B) {
	benchStream(b, 4, retry.WithHedge(time.Hour, 2))
}
