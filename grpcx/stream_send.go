package grpcx

import (
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"
)

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
		s.unkept = fmt.Sprintf("it sent a %T, which is not a protobuf message and cannot be kept", m)
		s.makeFinal()
		return false
	}
	n := proto.Size(pm)
	if s.size+n > s.set.replayLimit {
		s.unkept = fmt.Sprintf("its sent messages outgrew the replay limit (Config.ReplayLimit, %d bytes)", s.set.replayLimit)
		s.makeFinal()
		return false
	}
	s.sent = append(s.sent, proto.Clone(pm))
	s.size += n
	return true
}
