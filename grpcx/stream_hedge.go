package grpcx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/retrykit/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
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
// another receives. sendMu orders the caller's sends with the replay a new
// copy receives; mu guards the fields below it. The driver never takes
// sendMu, so a send blocked by flow control never stalls it.
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

	events  chan copyEvent // each copy's first outcome, to the driver
	wake    chan struct{}  // (1) a send made the stream unreplayable
	ready   chan struct{}  // closed when a first copy is open, or the call ended
	decided chan struct{}  // closed when the stream committed, or ended

	sendMu sync.Mutex // held while sending to the copies, and during a replay

	mu       sync.Mutex
	live     []*hcopy        // open copies that receive the caller's messages
	sent     []proto.Message // copies of the messages sent, while replayable
	size     int             // their encoded size in bytes
	closed   bool            // CloseSend was called
	final    bool            // no new copy may start: unreplayable, committed or ended
	unkept   string          // why the stream is no longer replayable, if it is not
	target   *hcopy          // the copy the stream is bound to once unreplayable; nil if none
	won      *hcopy          // the copy the stream committed to
	last     *hcopy          // the copy whose failure ended the call without a commit
	end      error           // why the call ended without a commit
	open     bool            // a copy was open (registered)
	finished bool            // the caller received the winner's end
	recvEnd  error           // what RecvMsg returned then, returned again
}

// hedgedStream starts a hedged stream and returns it once its first copy
// is open, or the error that ended it before that.
func (in *interceptor) hedgedStream(ctx context.Context, pol *calls, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string,
	streamer grpc.Streamer, callOpts []grpc.CallOption) (grpc.ClientStream, error) {
	s := &hedgedStream{
		ctx: ctx, set: &in.set, pol: pol, desc: desc, cc: cc, method: method, streamer: streamer,
		events: make(chan copyEvent), wake: make(chan struct{}, 1),
		ready: make(chan struct{}), decided: make(chan struct{}),
	}
	s.callOpts, s.outs = splitOuts(callOpts)
	go s.drive()
	<-s.ready
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.open && s.end != nil {
		return nil, s.end // no copy was ever open: the stream could not be created
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
	w, _ := s.winner()
	if w == nil {
		return nil, nil
	}
	return w.cs.Header()
}

// Trailer implements [grpc.ClientStream]: the winner's trailer; nil
// before the stream commits, or if it never did.
func (s *hedgedStream) Trailer() metadata.MD {
	if w, _ := s.winner(); w != nil {
		return w.cs.Trailer()
	}
	return nil
}

// Context implements [grpc.ClientStream]: the winner's stream context
// once the stream committed; until then, the caller's.
func (s *hedgedStream) Context() context.Context {
	if w, _ := s.winner(); w != nil {
		return w.cs.Context()
	}
	return s.ctx
}

// RecvMsg implements [grpc.ClientStream]: it waits until the stream
// commits, then receives from the winner. A stream that ended without a
// commit returns the error that ended it.
func (s *hedgedStream) RecvMsg(m any) error {
	<-s.decided
	s.mu.Lock()
	w, end, finished, recvEnd := s.won, s.end, s.finished, s.recvEnd
	s.mu.Unlock()
	switch {
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
		s.finish(w, err)
	case !s.desc.ServerStreams:
		s.finish(w, io.EOF) // the single response: the stream is over
	}
	return err
}

// finish records the end the caller received, gives the caller's output
// options the winner's, and releases the winner.
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
		s.outs.fill(w)
	}
}

// finishFailed gives the caller's output options, once, those of the copy
// whose failure ended the stream without a commit.
func (s *hedgedStream) finishFailed() {
	s.mu.Lock()
	first, last := !s.finished, s.last
	s.finished = true
	s.mu.Unlock()
	if first {
		s.outs.fill(last)
	}
}

// SendMsg implements [grpc.ClientStream]. Before the commit, m goes to
// every open copy, and a copy of it is kept for the copies started later.
// A message that would take the copies kept beyond [Config].ReplayLimit,
// or that is not a protobuf message, binds the stream to the open copy to
// which the most messages were sent (A6): the others are cancelled and no
// further copy starts. A send that fails on a copy returns nil: the copy
// has ended, and the driver learns why. After the commit, m goes to the
// winner only.
func (s *hedgedStream) SendMsg(m any) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	if one, ok := s.bound(); ok {
		s.mu.Unlock()
		if one == nil {
			return io.EOF // the stream ended: RecvMsg has why
		}
		one.rearm(s)
		return one.cs.SendMsg(m)
	}
	if !s.keep(m) {
		one := s.bind()
		s.mu.Unlock()
		s.wakeDriver()
		if one == nil {
			return io.EOF
		}
		one.rearm(s)
		return one.cs.SendMsg(m)
	}
	live := append([]*hcopy(nil), s.live...)
	s.mu.Unlock()
	for _, c := range live {
		c.rearm(s)
		if err := c.cs.SendMsg(m); err != nil && err != io.EOF {
			s.unkeepLast()
			return err // a message grpc-go cannot send (its encoding failed): on no copy
		}
		c.sent++
	}
	return nil
}

// bound returns the one copy sends go to once the stream is final (the
// winner, or the copy it is bound to; nil when it ended) and true; false
// while sends go to every open copy. s.mu is held.
func (s *hedgedStream) bound() (*hcopy, bool) {
	switch {
	case s.won != nil:
		return s.won, true
	case s.end != nil:
		return nil, true
	case s.final:
		return s.target, true
	}
	return nil, false
}

// CloseSend implements [grpc.ClientStream]: it closes the sending side of
// every open copy (or of the winner), and of any copy started later.
func (s *hedgedStream) CloseSend() error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	s.closed = true
	if one, ok := s.bound(); ok {
		s.mu.Unlock()
		if one == nil {
			return nil
		}
		return one.cs.CloseSend()
	}
	live := append([]*hcopy(nil), s.live...)
	s.mu.Unlock()
	for _, c := range live {
		c.rearm(s)
		_ = c.cs.CloseSend() // a copy that failed shows it to the driver
	}
	return nil
}

// keep records a copy of m for the copies started later and reports
// whether it could; when it could not, the stream is no longer
// replayable (unkept says why). s.mu is held.
func (s *hedgedStream) keep(m any) bool {
	pm, ok := m.(proto.Message)
	if !ok {
		s.unkept = fmt.Sprintf("it sent a %T, which is not a protobuf message and cannot be kept", m)
		return false
	}
	n := proto.Size(pm)
	if s.size+n > s.set.replayLimit {
		s.unkept = fmt.Sprintf("its sent messages outgrew the replay limit (Config.ReplayLimit, %d bytes)", s.set.replayLimit)
		return false
	}
	s.sent = append(s.sent, proto.Clone(pm))
	s.size += n
	return true
}

// unkeepLast forgets the message kept last, which could not be sent.
func (s *hedgedStream) unkeepLast() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := len(s.sent); k > 0 && !s.final {
		s.size -= proto.Size(s.sent[k-1])
		s.sent = s.sent[:k-1]
	}
}

// bind makes the stream final because it is no longer replayable, and
// binds it to the open copy to which the most messages were sent (the
// oldest of those), cancelling the others; it returns that copy, nil if
// none is open. s.mu and s.sendMu are held (sent counts are stable).
func (s *hedgedStream) bind() *hcopy {
	s.final = true
	s.sent, s.size = nil, 0
	var best *hcopy
	for _, c := range s.live {
		if best == nil || c.sent > best.sent {
			best = c
		}
	}
	for _, c := range s.live {
		if c != best {
			c.cancel(errHedgeLost)
		}
	}
	s.target = best
	if best != nil {
		s.live = []*hcopy{best}
		best.live = !best.expired // the attempt timeout no longer applies
		best.stopTimer()
	} else {
		s.live = nil
	}
	return best
}

// wakeDriver tells the driver the stream became final.
func (s *hedgedStream) wakeDriver() {
	select {
	case s.wake <- struct{}{}:
	default:
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
