package grpcx

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// errAttemptTimeout is the cause with which a stream attempt's context is
// cancelled when the policy's attempt timeout fires before the stream's
// first response.
var errAttemptTimeout = fmt.Errorf("grpcx: the attempt timeout fired before the stream's first response: %w", context.DeadlineExceeded)

// errExpired is the failure of an attempt that the attempt timeout ended:
// the DEADLINE_EXCEEDED status a unary attempt ended by its timeout gets.
// It replaces the CANCELLED grpc-go reports, and a response (or the
// stream's end) that reached the attempt when the timeout had come first
// and was dropped.
var errExpired = status.Error(codes.DeadlineExceeded, errAttemptTimeout.Error())

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

// timeoutStatus tells whether the attempt with context ctx was ended by
// the policy's attempt timeout. grpc-go reports that as CANCELLED (the
// attempt's context is cancelled, it has no deadline of its own), so err
// becomes the DEADLINE_EXCEEDED status a unary attempt would have got.
func timeoutStatus(ctx context.Context, err error) (bool, error) {
	if !errors.Is(context.Cause(ctx), errAttemptTimeout) {
		return false, err
	}
	if status.Code(err) == codes.Canceled {
		err = errExpired
	}
	return true, err
}
