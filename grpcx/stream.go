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

// errExpired is the failure of an attempt that the attempt timeout ended
// although a response (or the stream's end) reached it at the same time:
// the timeout came first, so the response is dropped. It has the status a
// unary attempt ended by its timeout gets.
var errExpired = status.Error(codes.DeadlineExceeded, errAttemptTimeout.Error())

// errReplaced is the cause with which an attempt's context is cancelled
// when a new attempt replaces it.
var errReplaced = errors.New("grpcx: stream attempt replaced by a retry")

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
	s := &retryingStream{
		ctx: ctx, set: &in.set, pol: pol, desc: desc, cc: cc, method: method, streamer: streamer, callOpts: callOpts,
		idempotent: in.set.isIdempotent(method),
	}
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
type retryingStream struct {
	ctx         context.Context // the caller's
	set         *settings
	pol         *calls
	desc        *grpc.StreamDesc
	cc          *grpc.ClientConn
	method      string
	streamer    grpc.Streamer
	callOpts    []grpc.CallOption
	idempotent  bool
	stopAbandon func() bool

	sendMu sync.Mutex // held while sending on the current attempt, and during a replay

	mu        sync.Mutex // guards the fields below, and attempt.live
	cur       *attempt
	pr        retry.Progress  // the engine's progress of the stream
	held      bool            // pr holds the admission of the latest attempt, not yet reported
	final     bool            // committed, or no longer replayable: no more retries
	committed bool            // a response arrived: the attempt was reported a success
	sent      []proto.Message // copies of the messages sent, for a replay, while not final
	size      int             // their encoded size in bytes
	closed    bool            // CloseSend was called
	broken    bool            // a send failed on cur: later sends are only kept, for the retry
	finished  bool            // the stream ended and its attempt was released
	end       error           // what RecvMsg returned when the stream ended, returned again
}

// attempt is one try of the stream.
type attempt struct {
	cs     grpc.ClientStream
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer // the attempt timeout, until the first response; nil if none

	// Under retryingStream.mu: which of the attempt timeout and the first
	// response came first. At most one is ever set.
	live    bool // a response arrived first, or the stream became final: the timeout no longer applies
	expired bool // the timeout fired first: the attempt is cancelled and nothing it receives counts
}

// release ends the attempt's timer and its context.
func (a *attempt) release(cause error) {
	if a == nil {
		return
	}
	if a.timer != nil {
		a.timer.Stop()
	}
	a.cancel(cause)
}

// reopen begins a new attempt, replacing the current one (if any), and
// replays on it what was sent on the stream so far. last is the previous
// attempt's failure, nil for the first. It returns the attempt; or, when
// the stream could not be created, the failure as grpc-go returned it
// (raw) and as the policy must judge it; or the error that ends the
// stream, without asking for an attempt, when it became final in the
// meantime (its sender outgrew the replay limit or sent what cannot be
// kept: a new attempt would replay nothing of it) or when the policy
// refuses an attempt.
func (s *retryingStream) reopen(last error) (a *attempt, raw, judged, stop error) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	pr, final := s.pr, s.final
	s.mu.Unlock()
	if final {
		return nil, nil, nil, &retry.Error{Attempts: pr.Attempts, Last: last, Reason: retry.ErrPermanent}
	}
	_, pr, err := s.pol.policy.Begin(s.ctx, pr, time.Now())
	if err != nil {
		var e *retry.Error
		if errors.As(err, &e) && e.Last == nil {
			e.Last = last // the engine keeps no errors
		}
		return nil, nil, nil, err
	}
	s.mu.Lock()
	s.pr, s.held = pr, true
	s.mu.Unlock()
	a, raw, judged = s.open(pr.Attempts)
	if a == nil {
		return nil, raw, judged, nil
	}
	s.mu.Lock()
	old := s.cur
	s.cur, s.broken = a, false
	sent, closed := s.sent, s.closed
	s.mu.Unlock()
	old.release(errReplaced)
	s.watch(a)
	for _, msg := range sent {
		s.rearm(a)
		if err := a.cs.SendMsg(msg); err != nil {
			if err == io.EOF { // the attempt ended: RecvMsg has its status
				s.mu.Lock()
				s.broken = true
				s.mu.Unlock()
			}
			break // any other failure also ends the attempt: RecvMsg reports it
		}
	}
	if closed {
		_ = a.cs.CloseSend() // its failure shows in RecvMsg
	}
	return a, nil, nil, nil
}

// open starts attempt n. Its context is a child of the caller's; the
// policy's attempt timeout, if any and earlier than the caller's
// deadline, is a timer that the first response stops. When the stream
// cannot be created, open returns its failure, raw and judged.
func (s *retryingStream) open(n int) (a *attempt, raw, judged error) {
	ctx, cancel := context.WithCancelCause(s.ctx)
	a = &attempt{ctx: ctx, cancel: cancel}
	if t := s.pol.timeout; t > 0 {
		if cd, ok := s.ctx.Deadline(); !ok || time.Until(cd) > t {
			a.timer = time.AfterFunc(t, func() { s.expire(a) })
		}
	}
	cs, err := s.streamer(attemptContext(ctx, n), s.desc, s.cc, s.method, s.callOpts...)
	if err != nil {
		own, err := timeoutStatus(ctx, err)
		a.release(nil)
		return nil, err, s.set.judge(s.ctx, failure{err: err, unsent: true, ownTimeout: own}, s.pol.judge)
	}
	a.cs = cs
	return a, nil, nil
}

// watch commits the stream when a's headers arrive, even if the caller
// does not ask for them, so that they end the attempt timeout. It runs
// only for an attempt with a timeout, once a is current; its goroutine
// ends with the attempt (Header returns when the headers arrive or when
// the attempt ends).
func (s *retryingStream) watch(a *attempt) {
	if a.timer == nil {
		return
	}
	go func() {
		if md, _ := a.cs.Header(); md != nil {
			_ = s.commit(a) // refused if the timeout came first: RecvMsg retries
		}
	}()
}

// expire is the attempt timeout of a: it cancels the attempt unless a
// response arrived or the stream can no longer be retried. It and commit
// decide, under s.mu, which came first: once expire has marked a expired,
// commit refuses every response of a, and once commit has marked a live,
// expire does nothing.
func (s *retryingStream) expire(a *attempt) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.final && !a.live && !a.expired {
		a.expired = true
		a.cancel(errAttemptTimeout)
	}
}

// rearm starts a's attempt timeout again: the caller is sending on it, so
// the server has had no time yet to answer what it sent.
func (s *retryingStream) rearm(a *attempt) {
	if a.timer == nil {
		return
	}
	s.mu.Lock()
	if !a.live && !a.expired && !s.final {
		a.timer.Reset(s.pol.timeout)
	}
	s.mu.Unlock()
}

// advance reports that the latest attempt failed (raw as grpc-go returned
// it, judged as the policy must see it) and, when the policy retries it,
// waits and opens the next attempt, replaying what was sent; failures to
// create the stream are retried in the same way. It returns the new
// attempt, or the error that ends the stream.
func (s *retryingStream) advance(raw, judged error) (*attempt, error) {
	for {
		if err := s.failed(raw, judged); err != nil {
			return nil, err
		}
		a, craw, cjudged, err := s.reopen(raw)
		switch {
		case err != nil:
			return nil, err
		case a != nil:
			return a, nil
		}
		raw, judged = craw, cjudged
	}
}

// failed reports the failure of the latest attempt to the policy and, when
// it says to retry, waits as it says, or until the caller's context ends.
func (s *retryingStream) failed(raw, judged error) error {
	s.mu.Lock()
	pr, held := s.pr, s.held
	s.held = false
	s.mu.Unlock()
	if !held { // abandon reported it: the caller's context ended
		if s.ctx.Err() == nil {
			return raw
		}
		return &retry.Error{Attempts: pr.Attempts, Last: raw, Reason: context.Cause(s.ctx)}
	}
	v := s.pol.policy.Failed(s.ctx, pr, judged, time.Now())
	s.mu.Lock()
	s.pr = v.Next
	s.mu.Unlock()
	if v.Err != nil {
		return v.Err
	}
	if v.Wait <= 0 {
		return nil
	}
	t := time.NewTimer(v.Wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-s.ctx.Done():
		return &retry.Error{Attempts: pr.Attempts, Last: raw, Reason: context.Cause(s.ctx)}
	}
}

// abandon reports, once the caller's context has ended, an attempt that
// is still held as one that counts as nothing.
func (s *retryingStream) abandon() {
	s.mu.Lock()
	pr, held := s.pr, s.held
	s.held = false
	s.mu.Unlock()
	if held {
		_ = s.pol.policy.Failed(s.ctx, pr, context.Cause(s.ctx), time.Now())
	}
}

// commit makes the stream final because a response (headers, a message
// or its end) arrived on attempt a, and reports the attempt a success. It
// reports whether the stream is committed to a: false when the attempt
// timeout ended a before the response was taken (see expire), or a retry
// replaced a; the response must then be dropped, unseen by the caller.
func (s *retryingStream) commit(a *attempt) bool {
	s.mu.Lock()
	if s.cur != a || a.expired {
		s.mu.Unlock()
		return false
	}
	if s.committed {
		s.mu.Unlock()
		return true
	}
	s.committed = true
	s.makeFinal()
	pr, held := s.pr, s.held
	s.held = false
	s.mu.Unlock()
	if held {
		_ = s.pol.policy.Succeeded(s.ctx, pr, time.Now())
	}
	return true
}

// makeFinal ends retries: the copies kept for a replay are dropped and the
// attempt timeout no longer applies. s.mu is held.
func (s *retryingStream) makeFinal() {
	if s.final {
		return
	}
	s.final = true
	s.sent, s.size = nil, 0
	if s.cur != nil {
		s.cur.live = true
		if s.cur.timer != nil {
			s.cur.timer.Stop()
		}
	}
}

// finish releases the attempt once the stream has ended (RecvMsg returned
// an error, or the single response of a non-server-streaming call, after
// which the stream's end is io.EOF). Later calls of RecvMsg return end.
func (s *retryingStream) finish(end error) {
	s.stopAbandon()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.makeFinal()
	if !s.finished {
		s.finished, s.end = true, end
		s.cur.release(nil)
	}
}

// current returns the attempt in use.
func (s *retryingStream) current() *attempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// Header implements [grpc.ClientStream]: it waits for the current
// attempt's headers, and headers that arrive commit the stream. When the
// current attempt ended without headers (it failed before its first
// response, or ended with a trailers-only response, or its attempt
// timeout fired before its headers were taken), Header returns nil, nil
// and does not retry: RecvMsg reports the failure or retries it, and
// Header called after that retry returns the new attempt's headers.
// grpc-go's own stream also returns nil, nil for a stream that ended
// without headers, but with grpc-go's retries on, its Header retries
// first; this one leaves every retry to RecvMsg, so that retries happen on
// one goroutine only.
func (s *retryingStream) Header() (metadata.MD, error) {
	a := s.current()
	md, err := a.cs.Header()
	if md != nil && !s.commit(a) {
		return nil, nil // headers of an attempt that will be retried: never shown
	}
	return md, err
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

// CloseSend implements [grpc.ClientStream].
func (s *retryingStream) CloseSend() error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	s.closed = true
	a, skip := s.cur, s.broken && !s.final
	s.mu.Unlock()
	if skip {
		return nil // the retry that RecvMsg makes closes the new attempt
	}
	s.rearm(a)
	return a.cs.CloseSend()
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
	a, broken := s.cur, s.broken && !s.final
	s.mu.Unlock()
	if broken {
		if kept {
			return nil
		}
		return io.EOF // as grpc-go says of a stream that ended: RecvMsg has its status
	}
	s.rearm(a)
	err := a.cs.SendMsg(m)
	if err != io.EOF {
		return err
	}
	// a is still the current attempt: a retry replaces it only while
	// holding sendMu, which this send holds.
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.final {
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
	a, finished, end := s.cur, s.finished, s.end
	s.mu.Unlock()
	if finished {
		return end
	}
	for {
		err := a.cs.RecvMsg(m)
		switch {
		case err == nil && s.commit(a):
			if !s.desc.ServerStreams {
				s.finish(io.EOF) // the single response: the stream is over
			}
			return nil
		case err == io.EOF && s.commit(a): // the stream ended well
			s.finish(err)
			return err
		case err == nil || err == io.EOF:
			// The attempt timeout came first: the response is dropped.
			if pm, ok := m.(proto.Message); ok {
				proto.Reset(pm)
			}
			err = errExpired
		}
		s.mu.Lock()
		committed, final := s.committed, s.final
		s.mu.Unlock()
		// A6: the headers committed it, whether or not the caller asked for
		// them; unless the attempt timeout had ended the attempt first.
		if (committed || headersArrived(a)) && s.commit(a) {
			s.finish(err)
			return err
		}
		a, err = s.advance(s.judgeRecv(a, err, final))
		if err != nil {
			s.finish(err)
			return err
		}
	}
}

// headersArrived reports whether response headers arrived on attempt a,
// which has ended: A6 commits a stream to the attempt that received them,
// whether or not the caller asked for them. grpc-go returns nil headers
// for a trailers-only response, the form of a failure before any response.
func headersArrived(a *attempt) bool {
	md, _ := a.cs.Header()
	return md != nil
}

// judgeRecv judges a receive failure of attempt a, before any response,
// and returns it as the caller may see it (raw) and as the policy must
// judge it. final says that the stream can no longer be sent again.
func (s *retryingStream) judgeRecv(a *attempt, err error, final bool) (raw, judged error) {
	own, err := timeoutStatus(a.ctx, err)
	return err, s.set.judge(s.ctx, failure{
		err:        err,
		trailer:    a.cs.Trailer(),
		idempotent: s.idempotent,
		ownTimeout: own,
		noReplay:   final,
	}, s.pol.judge)
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
