package grpcx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/retrykit/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// errAttemptTimeout is the cause with which a stream attempt's context is
// cancelled when the policy's attempt timeout fires before the stream's
// first response.
var errAttemptTimeout = fmt.Errorf("grpcx: the attempt timeout fired before the stream's first response: %w", context.DeadlineExceeded)

// errReplaced is the cause with which an attempt's context is cancelled
// when a new attempt replaces it.
var errReplaced = errors.New("grpcx: stream attempt replaced by a retry")

// stream is the stream interceptor. It creates the stream, retrying
// creation failures (nothing reached the server), and returns a
// retryingStream that retries the first response.
func (in *interceptor) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string,
	streamer grpc.Streamer, callOpts ...grpc.CallOption) (grpc.ClientStream, error) {
	if in.err != nil {
		return nil, in.invalid()
	}
	s := &retryingStream{
		ctx: ctx, set: &in.set, desc: desc, cc: cc, method: method, streamer: streamer, callOpts: callOpts,
		opts: in.options(ctx, callOpts), idempotent: in.set.isIdempotent(method),
	}
	if err := retry.Run(ctx, s.create, s.opts...); err != nil {
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
type retryingStream struct {
	ctx        context.Context // the caller's
	set        *settings
	desc       *grpc.StreamDesc
	cc         *grpc.ClientConn
	method     string
	streamer   grpc.Streamer
	callOpts   []grpc.CallOption
	opts       []retry.Option
	idempotent bool

	sendMu sync.Mutex // held while sending on the current attempt, and during a replay

	mu       sync.Mutex // guards the fields below
	cur      attempt
	n        int             // attempts so far
	final    bool            // committed, or no longer replayable: no more retries
	sent     []proto.Message // copies of the messages sent, for a replay, while not final
	size     int             // their encoded size in bytes
	closed   bool            // CloseSend was called
	broken   bool            // a send failed on cur: later sends are only kept, for the retry
	finished bool            // the stream ended and its attempt was released
}

// attempt is one try of the stream.
type attempt struct {
	cs     grpc.ClientStream
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer // the attempt timeout, until the first response; nil if none
}

// release ends the attempt's establishment timer and its context.
func (a *attempt) release(cause error) {
	if a.timer != nil {
		a.timer.Stop()
	}
	if a.cancel != nil {
		a.cancel(cause)
	}
}

// create is the operation of the loop that creates the stream.
func (s *retryingStream) create(actx context.Context) error {
	a, err := s.open(actx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.cur = a
	s.mu.Unlock()
	return nil
}

// open starts a new attempt. Its context is a child of the caller's, not
// of actx, so that the stream outlives the loop's attempt; actx's deadline
// (the policy's attempt timeout) is carried over by a timer that the first
// response stops.
func (s *retryingStream) open(actx context.Context) (attempt, error) {
	s.mu.Lock()
	s.n++
	n := s.n
	s.mu.Unlock()
	ctx, cancel := context.WithCancelCause(s.ctx)
	a := attempt{ctx: ctx, cancel: cancel}
	if ad, ok := actx.Deadline(); ok {
		if cd, ok := s.ctx.Deadline(); !ok || ad.Before(cd) {
			a.timer = time.AfterFunc(time.Until(ad), func() { cancel(errAttemptTimeout) })
		}
	}
	cs, err := s.streamer(attemptContext(ctx, n), s.desc, s.cc, s.method, s.callOpts...)
	if err != nil {
		own, err := timeoutStatus(ctx, err)
		a.release(nil)
		return a, s.set.judge(s.ctx, failure{err: err, unsent: true, ownTimeout: own}, s.opts)
	}
	a.cs = cs
	return a, nil
}

// current returns the attempt in use.
func (s *retryingStream) current() attempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// commit makes the stream final: its first response arrived.
func (s *retryingStream) commit() {
	s.mu.Lock()
	s.makeFinal()
	s.mu.Unlock()
}

// makeFinal ends retries: the copies kept for a replay are dropped and the
// attempt timeout no longer applies. s.mu is held.
func (s *retryingStream) makeFinal() {
	if s.final {
		return
	}
	s.final = true
	s.sent, s.size = nil, 0
	if s.cur.timer != nil {
		s.cur.timer.Stop()
	}
}

// finish releases the attempt once the stream has ended (RecvMsg returned
// an error, or the single response of a non-server-streaming call).
func (s *retryingStream) finish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.makeFinal()
	if !s.finished {
		s.finished = true
		s.cur.release(nil)
	}
}

// Header implements [grpc.ClientStream]. Headers that arrive commit the
// stream. A stream that ended without headers returns nil, nil as grpc-go
// does; RecvMsg then reports (and, when it may, retries) its failure, and
// Header called after that retry returns the new attempt's headers.
func (s *retryingStream) Header() (metadata.MD, error) {
	md, err := s.current().cs.Header()
	if md != nil {
		s.commit()
	}
	return md, err
}

// Trailer implements [grpc.ClientStream]: the current attempt's trailer.
func (s *retryingStream) Trailer() metadata.MD { return s.current().cs.Trailer() }

// Context implements [grpc.ClientStream]: the current attempt's context.
func (s *retryingStream) Context() context.Context { return s.current().cs.Context() }

// CloseSend implements [grpc.ClientStream].
func (s *retryingStream) CloseSend() error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	s.closed = true
	cs, skip := s.cur.cs, s.broken && !s.final
	s.mu.Unlock()
	if skip {
		return nil // the retry that RecvMsg makes closes the new attempt
	}
	return cs.CloseSend()
}

// SendMsg implements [grpc.ClientStream]. Until the stream is final, a
// copy of m is kept for a replay; a message that is not a protobuf
// message, or one that would take the copies beyond the replay limit,
// makes the stream final instead. When a send fails on an attempt that
// may still be retried, SendMsg keeps the message and returns nil: the
// receiving side finds the failure and retries the stream with every
// message sent so far.
func (s *retryingStream) SendMsg(m any) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	kept := s.keep(m)
	cs, broken := s.cur.cs, s.broken && !s.final
	s.mu.Unlock()
	if broken {
		if kept {
			return nil
		}
		return io.EOF // as grpc-go says of a stream that ended: RecvMsg has its status
	}
	err := cs.SendMsg(m)
	if err != io.EOF {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.final || s.cur.cs != cs {
		return err
	}
	s.broken = true
	return nil
}

// keep records a copy of m for a replay, unless the stream is final, and
// reports whether a replay will include m. s.mu is held.
func (s *retryingStream) keep(m any) bool {
	if s.final {
		return false
	}
	pm, ok := m.(proto.Message)
	if !ok {
		s.makeFinal()
		return false
	}
	n := proto.Size(pm)
	if s.size+n > s.set.replayLimit {
		s.makeFinal()
		return false
	}
	s.sent = append(s.sent, proto.Clone(pm))
	s.size += n
	return true
}

// RecvMsg implements [grpc.ClientStream]. A message (or the end of the
// stream) commits it. A failure before that is retried when the policy,
// the status and the method's idempotency allow: a new attempt is created,
// every message sent so far is sent again (and CloseSend, if it was
// called), and its first message is returned. The caller never sees a
// message twice.
func (s *retryingStream) RecvMsg(m any) error {
	s.mu.Lock()
	a, final := s.cur, s.final
	s.mu.Unlock()
	err := a.cs.RecvMsg(m)
	switch {
	case err == nil:
		s.commit()
		if !s.desc.ServerStreams {
			s.finish() // the single response: the stream is over
		}
		return nil
	case final || err == io.EOF || headersArrived(a):
		s.finish()
		return err
	}
	err = s.retry(m, a, err)
	if err != nil {
		s.finish()
	}
	return err
}

// retry runs the loop over new attempts after the current one, a, failed
// with err before its first response, and returns what RecvMsg returns.
func (s *retryingStream) retry(m any, a attempt, err error) error {
	first := true
	var result error // io.EOF when the retried stream ends at once, successfully
	op := func(actx context.Context) error {
		if first {
			// The failed attempt is the loop's first: judge it as such.
			first = false
			return s.judgeRecv(a, err)
		}
		a, err := s.reopen(actx)
		if err != nil {
			return err
		}
		switch err := a.cs.RecvMsg(m); {
		case err == nil:
			s.commit()
			return nil
		case err == io.EOF:
			result = io.EOF
			return nil
		case headersArrived(a):
			return retry.Permanent(err) // committed, though the caller has not seen them
		default:
			return s.judgeRecv(a, err)
		}
	}
	if rerr := retry.Run(s.ctx, op, s.opts...); rerr != nil {
		return rerr
	}
	if result == nil && !s.desc.ServerStreams {
		s.finish()
	}
	return result
}

// headersArrived reports whether response headers arrived on attempt a,
// which has ended: A6 commits a stream to the attempt that received them,
// whether or not the caller asked for them. grpc-go returns nil headers
// for a trailers-only response, the form of a failure before any response.
func headersArrived(a attempt) bool {
	md, _ := a.cs.Header()
	return md != nil
}

// judgeRecv judges a receive failure of attempt a.
func (s *retryingStream) judgeRecv(a attempt, err error) error {
	own, err := timeoutStatus(a.ctx, err)
	return s.set.judge(s.ctx, failure{
		err:        err,
		trailer:    a.cs.Trailer(),
		idempotent: s.idempotent,
		ownTimeout: own,
	}, s.opts)
}

// timeoutStatus tells whether the attempt with context ctx was ended by
// the policy's attempt timeout. grpc-go reports that as CANCELLED (the
// attempt's context is cancelled, it has no deadline of its own), so err
// becomes the DEADLINE_EXCEEDED status a unary attempt would have got.
func timeoutStatus(ctx context.Context, err error) (bool, error) {
	if !errors.Is(context.Cause(ctx), errAttemptTimeout) {
		return false, err
	}
	if status.Code(err) == codes.Canceled {
		err = status.Error(codes.DeadlineExceeded, errAttemptTimeout.Error())
	}
	return true, err
}

// reopen replaces the current attempt with a new one and replays on it
// what was sent on the stream so far.
func (s *retryingStream) reopen(actx context.Context) (attempt, error) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	a, err := s.open(actx)
	s.mu.Lock()
	old := s.cur
	if err == nil {
		s.cur = a
		s.broken = false
	}
	sent, closed := s.sent, s.closed
	s.mu.Unlock()
	old.release(errReplaced)
	if err != nil {
		return a, err
	}
	for _, msg := range sent {
		if err := a.cs.SendMsg(msg); err != nil {
			if err != io.EOF {
				return a, retry.Permanent(err)
			}
			// The attempt ended: RecvMsg has its status.
			s.mu.Lock()
			s.broken = true
			s.mu.Unlock()
			return a, nil
		}
	}
	if closed {
		_ = a.cs.CloseSend() // its failure shows in RecvMsg
	}
	return a, nil
}
