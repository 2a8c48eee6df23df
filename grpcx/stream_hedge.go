package grpcx

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/retrykit/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/proto"
)

// Hedged streams (gRFC A6's hedgingPolicy), for a stream declared
// idempotent under a policy that hedges. Copies of the stream run at once,
// each started by a goroutine of its own (stream_hedge_copy.go); one
// goroutine per stream, the driver (stream_hedge_drive.go), admits them
// with the engine (Policy.Begin, Policy.Hedge), reports them, and commits
// the stream to the first copy whose response headers arrive (or that
// ends with OK). Until then, every message the caller sends goes to every
// copy running, and a copy started later first receives them all again.
// After the commit the stream is the winner's grpc-go stream.

// errHedgeLost is the cause with which a copy is cancelled when the
// stream commits to another one, or ends.
var errHedgeLost = errors.New("grpcx: hedged stream copy cancelled: another copy won, or the stream ended")

// hedgedStream is the stream of a hedged call: the caller's side
// ([grpc.ClientStream]) and the state shared with its copies and driver.
//
// Concurrency: as for retryingStream, one goroutine may send while
// another receives. mu guards the fields below it; no lock is held while
// sending or receiving, so a send blocked by a copy's flow control stalls
// neither the driver nor the other copies (see stream_hedge_send.go).
type hedgedStream struct {
	ctx      context.Context // the caller's
	set      *settings
	pol      *calls
	desc     *grpc.StreamDesc
	cc       *grpc.ClientConn
	method   string
	streamer grpc.Streamer
	callOpts []grpc.CallOption // the caller's, without its output options
	outs     *callOuts         // the caller's output options; nil if none

	events    chan copyEvent // each copy's first outcome, to the driver
	wake      chan struct{}  // (1) a send made the stream unreplayable, or a copy panicked
	ready     chan struct{}  // closed when a first copy is open, or the call ended
	readyOnce sync.Once      // closes ready
	decided   chan struct{}  // closed when the stream committed, or ended
	driven    chan struct{}  // closed when the driver reported every copy and returned

	mu        sync.Mutex
	live      []*hcopy        // open copies that receive the caller's messages
	sent      []proto.Message // the log: copies of the messages sent, while replayable (and until the final copy has them)
	size      int             // their encoded size in bytes
	closed    bool            // CloseSend was called
	final     bool            // no new copy may start: unreplayable, committed or ended
	unkept    string          // why the stream is no longer replayable, if it is not
	target    *hcopy          // the copy the stream is bound to once unreplayable; nil if none
	won       *hcopy          // the copy the stream committed to
	last      *hcopy          // the copy whose failure ended the call without a commit
	firstOpen *hcopy          // the first copy opened
	peerCtx   context.Context // the caller's context with firstOpen's peer, once built
	end       error           // why the call ended without a commit
	open      bool            // a copy was open (registered)
	finished  bool            // the caller received the winner's end
	recvEnd   error           // what RecvMsg returned then, returned again
	finCalled bool            // the caller's grpc.OnFinish callbacks ran
	filled    sync.Once       // fills the caller's output options
	panicked  bool            // a copy or the driver panicked (see stream_hedge_panic.go)
	panicVal  any             // with this value
	exited    bool            // or called runtime.Goexit
}

// hedgedStream starts a hedged stream and returns it once its first copy
// is open, or the error that ended it before that.
func (in *interceptor) hedgedStream(ctx context.Context, pol *calls, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string,
	streamer grpc.Streamer, callOpts []grpc.CallOption) (grpc.ClientStream, error) {
	s := &hedgedStream{
		ctx: ctx, set: &in.set, pol: pol, desc: desc, cc: cc, method: method, streamer: streamer,
		events: make(chan copyEvent), wake: make(chan struct{}, 1),
		ready: make(chan struct{}), decided: make(chan struct{}), driven: make(chan struct{}),
	}
	s.callOpts, s.outs = splitOuts(callOpts)
	go s.drive()
	<-s.ready
	s.mu.Lock()
	open, end, panicked := s.open, s.end, s.panicked
	s.mu.Unlock()
	switch {
	case panicked:
		s.repanic()
	case !open && end != nil:
		<-s.driven
		return nil, end // no copy was ever open: the stream could not be created
	}
	return s, nil
}

// winner returns the copy the stream committed to, nil while it has not,
// and the error that ended it without a commit.
func (s *hedgedStream) winner() (*hcopy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.won, s.end
}

// Header implements [grpc.ClientStream]: it waits until the stream
// commits, and returns the winner's headers; nil, nil if the stream ended
// without a commit (RecvMsg returns why).
func (s *hedgedStream) Header() (metadata.MD, error) {
	<-s.decided
	if s.isPanicked() {
		s.repanic()
	}
	w, _ := s.winner()
	if w == nil {
		return nil, nil
	}
	return w.cs.Header()
}

// Trailer implements [grpc.ClientStream]: the winner's trailer; once the
// stream ended without a commit, the trailer of the copy whose failure
// ended it (nil if its stream was never created, or its attempt timeout
// ended it); nil before that.
func (s *hedgedStream) Trailer() metadata.MD {
	s.mu.Lock()
	w, last, end := s.won, s.last, s.end
	s.mu.Unlock()
	switch {
	case w != nil:
		return w.cs.Trailer()
	case end != nil && last != nil:
		return s.trailerOf(last)
	}
	return nil
}

// Context implements [grpc.ClientStream]: the winner's stream context
// once the stream committed. Until then (and after an end without a
// commit), the caller's context carrying the peer of the first copy
// opened (peer.FromContext), as grpc-go's stream context carries it:
// the copies' own contexts end when they lose, the caller's does not.
func (s *hedgedStream) Context() context.Context {
	s.mu.Lock()
	w, pctx, first := s.won, s.peerCtx, s.firstOpen
	s.mu.Unlock()
	switch {
	case w != nil:
		return w.cs.Context()
	case pctx != nil:
		return pctx
	case first == nil:
		return s.ctx
	}
	pctx = s.ctx
	if p, ok := peer.FromContext(first.cs.Context()); ok { // no lock held: grpc-go takes its stream's
		pctx = peer.NewContext(s.ctx, p)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.peerCtx == nil {
		s.peerCtx = pctx
	}
	return s.peerCtx
}

// RecvMsg implements [grpc.ClientStream]: it waits until the stream
// commits, then receives from the winner. A stream that ended without a
// commit returns the error that ended it. The end (an error, or io.EOF)
// returns once every copy was reported to the policy.
func (s *hedgedStream) RecvMsg(m any) error {
	<-s.decided
	s.mu.Lock()
	w, end, finished, recvEnd, panicked := s.won, s.end, s.finished, s.recvEnd, s.panicked
	s.mu.Unlock()
	switch {
	case panicked:
		s.repanic()
	case w == nil:
		s.finishFailed()
		return end
	case finished:
		return recvEnd
	case w.end != nil: // it committed by ending with OK
		s.finish(w, w.end)
		return w.end
	}
	err := w.cs.RecvMsg(m)
	switch {
	case err != nil:
		if se := sendFailure(w.ctx); se != nil {
			err = se
		}
		s.finish(w, err)
	case !s.desc.ServerStreams:
		s.finish(w, io.EOF) // the single response: the stream is over
	}
	return err
}

// finish records the end the caller received, gives the caller's output
// options the winner's, and releases the winner; once every copy was
// reported. A panic meanwhile reaches the caller instead.
func (s *hedgedStream) finish(w *hcopy, end error) {
	s.mu.Lock()
	first := !s.finished
	if first {
		s.finished, s.recvEnd = true, end
	}
	s.mu.Unlock()
	if first {
		w.stopTimer()
		w.cancel(nil) // the stream is over: its end reached the caller
		s.fillOnce(w, w.cs.Trailer())
	}
	<-s.driven
	if s.isPanicked() {
		s.repanic()
	}
}

// finishFailed gives the caller's output options, once, those of the copy
// whose failure ended the stream without a commit; once every copy was
// reported.
func (s *hedgedStream) finishFailed() {
	<-s.driven
	s.mu.Lock()
	first, last, panicked := !s.finished, s.last, s.panicked
	s.finished = true
	s.mu.Unlock()
	if panicked {
		s.repanic()
	}
	if first && last != nil {
		s.fillOnce(last, s.trailerOf(last))
	}
}

// unreplayableEnd is the error that ends a stream that must start a new
// copy (a retry) but is no longer replayable.
func (s *hedgedStream) unreplayableEnd(attempts int, last error) error {
	s.mu.Lock()
	unkept := s.unkept
	s.mu.Unlock()
	return &retry.Error{Attempts: attempts, Last: unreplayable(unkept, last), Reason: retry.ErrNotIdempotent}
}

// sendFailure returns the failure of a send that ended the copy whose
// context is ctx, nil if none did.
func sendFailure(ctx context.Context) error {
	var se *sendError
	if errors.As(context.Cause(ctx), &se) {
		return se.err
	}
	return nil
}
