package grpcx

import (
	"context"
	"sync"

	"github.com/retrykit/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
)

// stream is the stream interceptor. It creates the stream, retrying
// creation failures (nothing reached the server), and returns a
// retryingStream that retries the first response.
//
// A stream is one call of the decision engine: one retry.Progress across
// every attempt, whether it failed at its creation or at its first
// response, each attempt admitted by Policy.Begin and reported once, by
// Failed or, when the stream commits or ends well, by Succeeded.
func (in *interceptor) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string,
	streamer grpc.Streamer, callOpts ...grpc.CallOption) (grpc.ClientStream, error) {
	pol, err := in.policy(ctx, callOpts, true)
	if err != nil {
		return nil, invalid(err)
	}
	idempotent := in.set.isIdempotent(method, callOpts)
	if pol.hedges && idempotent {
		return in.hedgedStream(ctx, pol, desc, cc, method, streamer, callOpts)
	}
	s := &retryingStream{
		ctx: ctx, set: &in.set, pol: pol, desc: desc, cc: cc, method: method, streamer: streamer, callOpts: callOpts,
		idempotent: idempotent,
	}
	s.callOpts, s.onFinish = takeOnFinish(callOpts)
	// An attempt whose outcome the caller never waits for (the stream is
	// abandoned and its context cancelled) is reported as nothing, so that
	// a breaker's half-open probe is not held for good.
	s.stopAbandon = context.AfterFunc(ctx, s.abandon)
	a, raw, judged, err := s.reopen(nil)
	if err == nil && a == nil {
		_, err = s.advance(raw, judged)
	}
	if err != nil {
		s.finish(err)
		return nil, err
	}
	return s, nil
}

// retryingStream is a client stream that is retried, as a whole, until it
// is committed: until the first response header or message arrives, and
// only while everything sent on it fits the replay limit.
//
// Concurrency: one goroutine may send (SendMsg, CloseSend) while another
// receives (RecvMsg, Header), as with grpc-go's streams. A retry happens
// on the receiving goroutine; sendMu keeps its replay and the sender's
// messages in order on the new attempt.
//
// Its parts: stream_attempt.go opens an attempt and replays on it what was
// sent; stream_timeout.go is the attempt timeout, which bounds an attempt
// until its first response; stream_outcome.go reports each attempt to the
// policy, commits the stream and ends it; stream_send.go and
// stream_recv.go are the two sides of [grpc.ClientStream].
type retryingStream struct {
	ctx         context.Context // the caller's
	set         *settings
	pol         *calls
	desc        *grpc.StreamDesc
	cc          *grpc.ClientConn
	method      string
	streamer    grpc.Streamer
	callOpts    []grpc.CallOption // the caller's, without its OnFinish options
	onFinish    []func(error)     // the caller's OnFinish callbacks (stream_finish.go)
	idempotent  bool
	stopAbandon func() bool

	sendMu sync.Mutex // held while sending on the current attempt, and during a replay

	mu         sync.Mutex // guards the fields below, and attempt.live and attempt.expired
	cur        *attempt
	pr         retry.Progress  // the engine's progress of the stream
	held       bool            // pr holds the admission of the latest attempt, not yet reported
	final      bool            // committed, or no longer replayable: no more retries
	unkept     string          // why the stream is no longer replayable, if it is not; see keep
	committed  bool            // a response arrived: the attempt was reported a success
	sent       []proto.Message // copies of the messages sent, for a replay, while not final
	size       int             // their encoded size in bytes
	closed     bool            // CloseSend was called
	broken     bool            // a send failed on cur: later sends are only kept, for the retry
	finished   bool            // the stream ended and its attempt was released
	end        error           // what RecvMsg returned when the stream ended, returned again
	onFinished bool            // the caller's OnFinish callbacks ran
}

// current returns the attempt in use.
func (s *retryingStream) current() *attempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// Trailer implements [grpc.ClientStream]: the current attempt's trailer.
func (s *retryingStream) Trailer() metadata.MD { return s.current().cs.Trailer() }

// Context implements [grpc.ClientStream]: the context of the current
// attempt's stream, as grpc-go returns it (it carries the peer, for
// example). A retry replaces the attempt and cancels the context of the
// one it replaces: take the context after the first response (when the
// stream can no longer be retried) to hold one that lasts as long as the
// stream.
func (s *retryingStream) Context() context.Context { return s.current().cs.Context() }
