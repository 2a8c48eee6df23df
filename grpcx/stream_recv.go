package grpcx

import (
	"io"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
)

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
		dropped := false // a response the attempt timeout came before: the stream has not ended
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
			err, dropped = errExpired, true
		}
		s.mu.Lock()
		committed, unkept := s.committed, s.unkept
		s.mu.Unlock()
		// A6: the headers committed it, whether or not the caller asked for
		// them; unless the attempt timeout had ended the attempt first.
		if (committed || headersArrived(a)) && s.commit(a) {
			s.finish(err)
			return err
		}
		a, err = s.advance(s.judgeRecv(a, err, unkept, dropped))
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
// judge it. unkept says why the stream can no longer be sent again, ""
// if it can. dropped says the failure is a response the attempt timeout
// came before: the attempt's stream has not ended, so its trailer cannot
// be read (grpc-go writes it as the stream ends), and it is no server's
// word on the attempt anyway.
func (s *retryingStream) judgeRecv(a *attempt, err error, unkept string, dropped bool) (raw, judged error) {
	own, err := timeoutStatus(a.ctx, err)
	var trailer metadata.MD
	if !dropped {
		trailer = a.cs.Trailer()
	}
	return err, s.set.judge(s.ctx, failure{
		err:        err,
		trailer:    trailer,
		method:     s.method,
		idempotent: s.idempotent,
		ownTimeout: own,
		noReplay:   unkept,
	}, s.pol.judge)
}
