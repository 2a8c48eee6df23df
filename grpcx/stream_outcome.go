package grpcx

import (
	"context"
	"time"

	"github.com/retrykit/retry"
)

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
	v := s.pol.lone.Failed(s.ctx, pr, judged, time.Now())
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
		_ = s.pol.lone.Failed(s.ctx, pr, context.Cause(s.ctx), time.Now())
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
		_ = s.pol.lone.Succeeded(s.ctx, pr, time.Now())
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
		s.cur.live = !s.cur.expired // an expired attempt stays so: nothing it receives counts
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
	s.makeFinal()
	if !s.finished {
		s.finished, s.end = true, end
		s.cur.release(nil)
	}
	s.mu.Unlock()
	s.finishCallbacks(end)
}
