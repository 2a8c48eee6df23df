package grpcx

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/retrykit/retry"
	"google.golang.org/grpc"
)

// errReplaced is the cause with which an attempt's context is cancelled
// when a new attempt replaces it.
var errReplaced = errors.New("grpcx: stream attempt replaced by a retry")

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
	pr, final, unkept := s.pr, s.final, s.unkept
	s.mu.Unlock()
	if final {
		return nil, nil, nil, &retry.Error{Attempts: pr.Attempts, Last: unreplayable(unkept, last), Reason: retry.ErrNotIdempotent}
	}
	_, pr, err := s.pol.lone.Begin(s.ctx, pr, time.Now())
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
	cs, err := s.streamer(attemptContext(ctx, n), s.desc, s.cc, s.method, s.attemptOpts(a)...)
	if err != nil {
		own, err := timeoutStatus(ctx, err)
		a.release(nil)
		return nil, err, s.set.judge(s.ctx, failure{err: err, unsent: true, ownTimeout: own}, s.pol.judge)
	}
	a.cs = cs
	return a, nil, nil
}
