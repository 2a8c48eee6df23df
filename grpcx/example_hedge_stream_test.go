package grpcx_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/retrykit/retry"
	"github.com/retrykit/retry/grpcx"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
)

// stuckFirstUpload is a TestService whose first StreamingInputCall reads
// the upload and then gets stuck until the client cancels it; any later
// one answers with the number of messages it read.
type stuckFirstUpload struct {
	testgrpc.UnimplementedTestServiceServer
	calls atomic.Int32
}

func (s *stuckFirstUpload) StreamingInputCall(st testgrpc.TestService_StreamingInputCallServer) error {
	first := s.calls.Add(1) == 1
	var read []string
	for {
		m, err := st.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		read = append(read, string(m.GetPayload().GetBody()))
	}
	if first {
		<-st.Context().Done()
		return st.Context().Err()
	}
	return st.SendAndClose(&testgrpc.StreamingInputCallResponse{AggregatedPayloadSize: int32(len(strings.Join(read, "")))})
}

// Hedged streams (gRFC A6): an upload declared idempotent whose first
// copy has no answer 50ms after it started gets a second copy, which
// receives every message sent so far, then every later one; the first
// copy to answer wins and the other is cancelled.
func Example_hedgedStream() {
	srv := &stuckFirstUpload{}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	gs := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(gs, srv)
	go func() { _ = gs.Serve(lis) }()
	defer gs.Stop()

	cfg := grpcx.Config{Idempotent: grpcx.Methods("/grpc.testing.TestService/StreamingInputCall")}
	cc, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDisableRetry(),
		grpc.WithChainStreamInterceptor(grpcx.StreamClientInterceptor(cfg,
			retry.WithHedge(50*time.Millisecond, 2), retry.WithMaxAttempts(3))))
	if err != nil {
		panic(err)
	}
	defer cc.Close()

	up, err := testgrpc.NewTestServiceClient(cc).StreamingInputCall(context.Background())
	if err != nil {
		panic(err)
	}
	for _, part := range []string{"hel", "lo ", "wor", "ld"} {
		_ = up.Send(&testgrpc.StreamingInputCallRequest{Payload: &testgrpc.Payload{Body: []byte(part)}})
	}
	resp, err := up.CloseAndRecv()
	fmt.Println(resp.GetAggregatedPayloadSize(), err, "server calls:", srv.calls.Load())
	// Output: 11 <nil> server calls: 2
}
